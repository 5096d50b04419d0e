"""The ``changebot`` command line. Each subcommand lives in its own module and registers itself here.

Results go to stdout, logs to stderr (``-v`` for more). Exit status: 0 pass or warn, 1 a gate failed,
2 changebot could not evaluate (bad flags, a missing repository or ref).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from changebot import __version__
from changebot.cli import action, audit, budget, freeze, plan, sequence, serve, validate
from changebot.cli.common import env
from changebot.errors import ChangebotError, UsageError

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = (validate, plan, freeze, budget, sequence, audit, action, serve)

log = logging.getLogger("changebot")


def _verbosity_from_env() -> int:
    """``CHANGEBOT_VERBOSE``: a count like ``-v`` (1) or ``-vv`` (2); unset is 0."""
    value = env("--verbose", "0") or "0"
    if not value.strip().isdigit():
        raise UsageError(f"CHANGEBOT_VERBOSE={value!r} is not a number", "set it to 1 (like -v) or 2 (like -vv)")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="changebot",
        description="GitOps change governance for release processes kept as data (.maestro/, .orchestrator/): "
        "validate the files, plan a pull request's gates, and run as a GitHub Action or App.",
        epilog="Every flag can also be set in the environment as CHANGEBOT_<FLAG> (e.g. CHANGEBOT_REPO). "
        "Run 'changebot COMMAND --help' for a command's flags and examples.",
    )
    parser.add_argument("--version", action="version", version=f"changebot {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=_verbosity_from_env(),
        help="log more to stderr (-vv for debug; env CHANGEBOT_VERBOSE)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    try:
        parser = build_parser()
    except ChangebotError as exc:
        print(f"changebot: error: {exc.diagnostics()}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="changebot: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        status: int = args.run(args)
    except ChangebotError as exc:
        print(f"changebot: error: {exc.diagnostics()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("changebot: interrupted", file=sys.stderr)
        return 130
    return status
