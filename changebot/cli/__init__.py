"""The ``changebot`` command line. Each subcommand lives in its own module and registers itself here.

Only the module of the subcommand being run is imported (``changebot plan`` never imports the Action's or the
App's modules); ``--help`` and an unknown command import them all.

Results go to stdout, logs to stderr (``-v`` for more). Exit status: 0 pass or warn, 1 a gate failed,
2 changebot could not evaluate (bad flags, a missing repository or ref).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from changebot.cli.common import env
from changebot.cli.version import VersionAction
from changebot.errors import ChangebotError, UsageError

#: Subcommands (each the name of its module in ``changebot.cli``), in the order ``--help`` lists them.
COMMANDS = (
    "init",
    "validate",
    "plan",
    "whatif",
    "freeze",
    "budget",
    "sequence",
    "audit",
    "evidence",
    "action",
    "serve",
    "worker",
    "queue",
)

log = logging.getLogger("changebot")


def _verbosity_from_env() -> int:
    """``CHANGEBOT_VERBOSE``: a count like ``-v`` (1) or ``-vv`` (2); unset is 0."""
    value = env("--verbose", "0") or "0"
    if not value.strip().isdigit():
        raise UsageError(f"CHANGEBOT_VERBOSE={value!r} is not a number", "set it to 1 (like -v) or 2 (like -vv)")
    return int(value)


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` runs, when it names a known one before any other word.

    Top-level flags (``-v``, ``--verbose``) take no value, so the first word not starting with ``-`` is the
    subcommand; ``-h``/``--help``/``--version`` before it mean the full parser is needed.
    """
    for word in argv:
        if word in ("-h", "--help", "--version"):
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every subcommand, or ``only`` that one (which then is the only module imported)."""
    parser = argparse.ArgumentParser(
        prog="changebot",
        description="GitOps change governance for release processes kept as data (.maestro/, .orchestrator/): "
        "validate the files, plan a pull request's gates, and run as a GitHub Action or App.",
        epilog="Every flag can also be set in the environment as CHANGEBOT_<FLAG> (e.g. CHANGEBOT_REPO). "
        "Run 'changebot COMMAND --help' for a command's flags and examples.",
    )
    parser.add_argument(
        "--version", action=VersionAction, help="show changebot's version and its engines' versions, and exit"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=_verbosity_from_env(),
        help="log more to stderr (-vv for debug; env CHANGEBOT_VERBOSE)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in (only,) if only else COMMANDS:
        importlib.import_module(f"changebot.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser(chosen_command(words))
    except ChangebotError as exc:
        print(f"changebot: error: {exc.diagnostics()}", file=sys.stderr)
        return 2
    args = parser.parse_args(words)
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
