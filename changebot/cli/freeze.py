"""``changebot freeze``: the freeze calendar as people read it, as JSON, or as an ICS feed to subscribe to."""

from __future__ import annotations

import argparse
from datetime import timedelta

from changebot.cli.common import add_format, add_now, add_repo, env, parse_now, target_branch, write_output
from changebot.core.freeze.gate import freeze_gate, read_calendar
from changebot.core.freeze.windows import SUPPORTED_YEARS
from changebot.errors import UsageError
from changebot.model import PullRequest, Status
from changebot.render.freeze import render_freeze_json, render_freeze_text, render_ics
from changebot.usecases import plan as planning

HELP = "show the freeze calendar: frozen now?, until when, the next windows (text, JSON or ICS)"
DESCRIPTION = """\
Read every freeze calendar of the repository (pipeline.yaml freeze_windows and
the files they name, .maestro/freeze_windows.json, release-policy.yml freeze,
release plans' freeze.code_freeze, and freeze.calendars in
.maestro/changebot.yaml) and show whether the branch is frozen at --now, by
which windows, when it opens, and every window in the next --days days. Window
ends are exclusive.

exit status: 0 open (or only warnings), 1 frozen now or the calendar has
errors, 2 could not run

examples:
  changebot freeze
  changebot freeze --now 2025-12-20T09:00:00-07:00 --days 30
  changebot freeze --format ics -o freeze.ics
  changebot freeze --base origin/main
"""

MAX_DAYS = 3660


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``freeze`` subcommand."""
    parser = sub.add_parser(
        "freeze", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_repo(parser)
    parser.add_argument(
        "--base",
        default=env("--base"),
        metavar="REF",
        help="read the calendars at this git ref, as the freeze gate reads them for a PR that targets it "
        "(default: the working tree; env CHANGEBOT_BASE)",
    )
    add_now(parser)
    add_format(parser, ("text", "json", "ics"))
    parser.add_argument(
        "--days",
        default=env("--days", "14"),
        metavar="N",
        help="list windows starting in the next N days (default: 14; env CHANGEBOT_DAYS)",
    )
    parser.add_argument(
        "--branch",
        default=env("--branch"),
        metavar="NAME",
        help="branch to judge (default: the --base ref's name, else the default branch; env CHANGEBOT_BRANCH)",
    )
    parser.set_defaults(run=run)


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = -1
    if not 0 < days <= MAX_DAYS:
        raise UsageError(f"--days {value!r} must be a whole number from 1 to {MAX_DAYS}")
    return days


def run(args: argparse.Namespace) -> int:
    """Evaluate the calendar and print it."""
    days = _days(str(args.days))
    now = parse_now(args.now)
    if not (SUPPORTED_YEARS.start + 1 <= now.year < SUPPORTED_YEARS.stop - 10):
        raise UsageError(f"--now {args.now!r} is out of range: use a year from 1901 to 8989")
    co = planning.checkout(args.repo, args.base, args.base)
    ctx = planning.context(co, PullRequest(base_branch=target_branch(args)), now)
    read = read_calendar(ctx)
    gate = freeze_gate(ctx, (), read)
    calendar = read[0]
    windows = calendar.windows(now, now + timedelta(days=days))
    if args.format == "ics":
        text = render_ics(windows, now)
    elif args.format == "json":
        text = render_freeze_json(gate, windows, now, days)
    else:
        text = render_freeze_text(gate, windows, now, days)
    write_output(text, args.output)
    return 1 if gate.status is Status.FAIL else 0
