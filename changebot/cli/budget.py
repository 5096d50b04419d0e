"""``changebot budget``: the price list of the CI run a pull request triggers, step by step."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from changebot.cli.common import (
    add_event_and_branch,
    add_format,
    add_now,
    add_refs,
    add_repo,
    emit,
    env,
    parse_now,
    target_branch,
)
from changebot.core.budget.gate import budget_gate
from changebot.model import PullRequest, Status
from changebot.usecases import plan as planning

if TYPE_CHECKING:
    from changebot.adapters.ledger import FileLedger

HELP = "price the CI run a pull request triggers, step by step, against the per-run cap and the month"
DESCRIPTION = """\
Decide which pipeline steps (.maestro/pipeline.yaml, read from --base) run for
--event: yes, no, or maybe (a `when:` that names something unknown until the
run, like canary_slo_passed). Price each: its cost_usd, else minutes x
budget.usd_per_minute (default 0.008), else its recorded cost in the ledger,
else the default budget.default_step_minutes (10). Compare the low (will run)
and high (+ may run) totals with pipeline.budgets.hard_cap_usd and, with
--ledger, the lane's month in .maestro/ci_budget.json.

--ledger FILE is JSON (a list of {date, lane, usd, step?}) or CSV with a header
row date,lane,usd[,step]; date is ISO 8601 with an offset or YYYY-MM-DD (UTC);
usd is a non-negative number.

exit status: 0 pass or warn, 1 over a hard limit (or bad budget data), 2 could
not run (bad flag or ledger)

examples:
  changebot budget
  changebot budget --base main --head feature --ledger spend.csv \\
      --format markdown
  changebot budget --event push --branch main
"""


def add_ledger(parser: argparse.ArgumentParser) -> None:
    """``--ledger FILE`` (also used by ``plan``)."""
    parser.add_argument(
        "--ledger",
        type=Path,
        default=Path(value) if (value := env("--ledger")) else None,
        metavar="FILE",
        help="month-to-date CI spend, JSON or CSV (columns date, lane, usd, step); env CHANGEBOT_LEDGER",
    )


def ledger(args: argparse.Namespace) -> FileLedger | None:
    """The ledger named by ``--ledger``, or ``None``."""
    if args.ledger is None:
        return None
    from changebot.adapters.ledger import read_ledger  # noqa: PLC0415 - lazy: plan reads a ledger only with --ledger

    return read_ledger(args.ledger)


def head_branch(head: str | None) -> str | None:
    """The PR's source branch from ``--head`` (``None`` for a commit SHA or no ref)."""
    if head is None or re.fullmatch(r"[0-9a-fA-F]{7,40}", head) or head == "HEAD":
        return None
    return head.removeprefix("origin/")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``budget`` subcommand."""
    parser = sub.add_parser(
        "budget", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_repo(parser)
    add_refs(parser)
    add_now(parser)
    add_format(parser)
    add_ledger(parser)
    add_event_and_branch(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Price the run and print the list."""
    now = parse_now(args.now)
    spend = ledger(args)
    co = planning.checkout(args.repo, args.base, args.head)
    pr = PullRequest(event=args.event, base_branch=target_branch(args), head_branch=head_branch(args.head))
    gate = budget_gate(planning.context(co, pr, now), spend)
    from changebot.render.budget import (  # noqa: PLC0415 - lazy: plan imports this module, not its renderers
        render_budget_json,
        render_budget_markdown,
        render_budget_text,
    )

    emit(args, {"json": render_budget_json, "markdown": render_budget_markdown, "text": render_budget_text}, gate)
    return 1 if gate.status is Status.FAIL else 0
