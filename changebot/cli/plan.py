"""``changebot plan``: every gate for one pull request, and the verdict."""

from __future__ import annotations

import argparse
import logging

from changebot.cli.budget import add_ledger, head_branch, ledger
from changebot.cli.common import (
    add_event_and_branch,
    add_format,
    add_now,
    add_refs,
    add_repo,
    emit,
    env,
    env_list,
    parse_now,
    target_branch,
    wants_colour,
)
from changebot.core.policy.gate import ENGINES
from changebot.model import Plan, PullRequest, Verdict
from changebot.render.json import render_json
from changebot.render.text import render_text
from changebot.usecases import plan as planning

log = logging.getLogger("changebot.plan")

HELP = "evaluate every gate for a pull request and print the plan"
DESCRIPTION = """\
Evaluate the schema, rules, policy, freeze, budget and sequence gates for a
pull request and print one verdict. Governance config (rules, policies,
calendars, budget, pipeline, settings) is read from --base; what the PR
proposes (bundles, plans, patch series) from --head. Without refs the working
tree is both.

exit status: 0 pass or warn, 1 a gate failed, 2 could not evaluate (bad flag,
missing repository or ref)

examples:
  changebot plan --repo examples/payments
  changebot plan --base origin/main --head HEAD --format markdown -o comment.md
  changebot plan --base main --head feature --now 2025-12-20T09:00:00-07:00 \\
      --format json
  changebot plan --base origin/main --head HEAD --format sarif -o cb.sarif
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``plan`` subcommand."""
    parser = sub.add_parser(
        "plan", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_repo(parser)
    add_refs(parser)
    add_now(parser)
    add_format(parser, ("text", "markdown", "json", "sarif"))
    add_event_and_branch(parser)
    parser.add_argument(
        "--label",
        action="append",
        default=None,
        metavar="LABEL",
        help="a label on the PR; repeat for more (env CHANGEBOT_LABEL, comma-separated)",
    )
    parser.add_argument("--author", default=env("--author"), help="PR author login (env CHANGEBOT_AUTHOR)")
    parser.add_argument("--title", default=env("--title", ""), help="PR title (env CHANGEBOT_TITLE)")
    parser.add_argument(
        "--draft",
        action="store_true",
        default=(env("--draft", "") or "").lower() in ("1", "true", "yes"),
        help="the PR is a draft (env CHANGEBOT_DRAFT=true)",
    )
    parser.add_argument(
        "--approved-by",
        action="append",
        default=None,
        metavar="LOGIN",
        help="a reviewer who approved the PR; repeat for more (env CHANGEBOT_APPROVED_BY, comma-separated)",
    )
    parser.add_argument(
        "--opa-url",
        default=env("--opa-url"),
        metavar="URL",
        help="evaluate policies on the OPA server at URL (POST /v1/data/...) instead of the embedded engine "
        "(default: settings policy.opa_url; env CHANGEBOT_OPA_URL)",
    )
    parser.add_argument(
        "--policy-engine",
        default=env("--policy-engine"),
        choices=ENGINES,
        help="the Rego engine: embedded (regorus), opa (the opa binary: CHANGEBOT_OPA_PATH or PATH), auto (opa "
        "when found, else embedded), opa-server (the server at --opa-url) (default: settings policy.engine; env "
        "CHANGEBOT_POLICY_ENGINE)",
    )
    add_ledger(parser)
    parser.set_defaults(run=run)


def pull_request(args: argparse.Namespace) -> PullRequest:
    """The PR facts given on the command line."""
    labels = tuple(args.label if args.label is not None else env_list("--label"))
    branch = target_branch(args)
    approvals = tuple(args.approved_by if args.approved_by is not None else env_list("--approved-by"))
    return PullRequest(
        event=args.event,
        base_branch=branch,
        head_branch=head_branch(args.head),
        author=args.author,
        title=args.title,
        labels=labels,
        draft=args.draft,
        approvals=approvals,
    )


def _markdown(result: Plan) -> str:
    from changebot.render.markdown import render_markdown  # noqa: PLC0415 - lazy: only for --format markdown

    return render_markdown(result)


def _sarif(result: Plan) -> str:
    from changebot.render.sarif import render_sarif  # noqa: PLC0415 - lazy: only for --format sarif

    return render_sarif(result)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print; the exit status follows the verdict."""
    now = parse_now(args.now)
    spend = ledger(args)
    co = planning.checkout(args.repo, args.base, args.head)
    log.info(
        "read %d governed file(s) from %s and %d from %s; %d file(s) changed",
        len(co.base.files),
        args.base or "the working tree",
        len(co.head.files),
        args.head or "the working tree",
        len(co.changed),
    )
    ctx = planning.context(co, pull_request(args), now)
    result = planning.plan(ctx, args.base, args.head, opa_url=args.opa_url, spend=spend, engine_name=args.policy_engine)
    if args.base is not None:
        from changebot.usecases.whatif import attach  # noqa: PLC0415 - lazy: only when refs are given

        result = attach(result, ctx, args.base)
    log.info("verdict %s", result.verdict)
    colour = wants_colour(args.output)
    emit(
        args,
        {
            "json": render_json,
            "markdown": _markdown,
            "sarif": _sarif,
            "text": lambda p: render_text(p, colour=colour),
        },
        result,
    )
    return 1 if result.verdict is Verdict.FAIL else 0
