"""``changebot whatif``: a governance change judged by what it would have done to past merges."""

from __future__ import annotations

import argparse
import json
import re
from datetime import timedelta

from changebot.cli.common import add_format, add_now, add_repo, emit, env, parse_now
from changebot.core.whatif.result import WhatIf
from changebot.errors import UsageError
from changebot.render.whatif import render_whatif_markdown, render_whatif_text

HELP = "replay past merges under the head's governance and show what would decide otherwise"
DESCRIPTION = """\
Compare the governance of --base and --head (calendars, rules, policies,
pipeline, budget, settings): what changed in meaning, which merges into the
base branch over --since would have been blocked, warned or labelled
differently, and the freeze calendar before and after. Merges are the
first-parent merge commits of --base, each judged at its commit time with its
own changed files, bundles and patches. It never changes a verdict.

exit status: 0 done (whatever it found), 2 could not evaluate

examples:
  changebot whatif --base main --head governance-edit
  changebot whatif --base origin/main --head HEAD --since 30d --format markdown
"""

_SINCE = re.compile(r"^(\d{1,5})([dhw])$")


def parse_since(value: str) -> timedelta:
    """``90d``, ``12w`` or ``48h``."""
    found = _SINCE.match(value.strip())
    if found is None:
        raise UsageError(f"--since {value!r} is not a period", "write a number and d, w or h, e.g. 90d")
    number, unit = int(found.group(1)), found.group(2)
    return {"d": timedelta(days=number), "w": timedelta(weeks=number), "h": timedelta(hours=number)}[unit]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``whatif`` subcommand."""
    parser = sub.add_parser(
        "whatif", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_repo(parser)
    parser.add_argument(
        "--base", required=env("--base") is None, default=env("--base"), help="the base ref (env CHANGEBOT_BASE)"
    )
    parser.add_argument(
        "--head", required=env("--head") is None, default=env("--head"), help="the head ref (env CHANGEBOT_HEAD)"
    )
    parser.add_argument(
        "--since", default=env("--since", "90d"), help="how far back to replay merges: 90d, 12w, 48h (default 90d)"
    )
    parser.add_argument(
        "--branch", default=env("--branch"), help="the branch the merges went into (default: the --base name)"
    )
    add_now(parser)
    add_format(parser)
    parser.set_defaults(run=run)


def _json(result: WhatIf) -> str:
    return json.dumps(result.to_json(), indent=2) + "\n"


def run(args: argparse.Namespace) -> int:
    """Replay and print."""
    from changebot.usecases.whatif import whatif  # noqa: PLC0415 - lazy: the engines load only when run

    since = parse_since(args.since)
    result = whatif(args.repo, args.base, args.head, parse_now(args.now), since, args.branch)
    emit(args, {"text": render_whatif_text, "markdown": render_whatif_markdown, "json": _json}, result)
    return 0
