"""``changebot sequence``: check and trial-apply the patch series a pull request proposes."""

from __future__ import annotations

import argparse
from pathlib import Path

from changebot.cli.common import add_format, add_refs, add_repo, emit, env, parse_now
from changebot.errors import UsageError
from changebot.model import PullRequest, Status
from changebot.usecases import plan as planning

HELP = "check and trial-apply .orchestrator/patches series (order, dependencies, conflicts)"
DESCRIPTION = """\
Parse every git format-patch series under .orchestrator/patches/<pr>/ (from
--head), check it (numbering, [PATCH n/m], duplicates, reverts, unsafe paths,
sizes) and trial-apply it in order against --base in a temporary index: never a
checkout, and nothing in the repository is written. Without --base/--head the
working tree's series are applied against HEAD. --series DIR checks one
directory of patches on disk instead (e.g. the output of git format-patch -o
DIR), applied against --base (or HEAD).

exit status: 0 every series applies (warnings allowed) or there is nothing to
sequence, 1 a patch fails or a check finds an error, 2 could not evaluate (bad
flag, missing repository or ref)

examples:
  changebot sequence
  changebot sequence --base origin/main --head HEAD --format markdown \\
      -o sequence.md
  changebot sequence --series ./outgoing --format json
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sequence`` subcommand."""
    parser = sub.add_parser(
        "sequence", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_repo(parser)
    add_refs(parser)
    parser.add_argument(
        "--series",
        type=Path,
        default=Path(value) if (value := env("--series")) else None,
        metavar="DIR",
        help="check this one directory of NNNN-*.patch files (env CHANGEBOT_SERIES)",
    )
    add_format(parser)
    parser.set_defaults(run=run)


def _series_dir(args: argparse.Namespace) -> Path | None:
    """``--series DIR`` as given (relative to the current directory) or, failing that, relative to --repo."""
    if args.series is None:
        return None
    candidate: Path = args.series if args.series.is_absolute() or args.series.exists() else args.repo / args.series
    if not candidate.is_dir():
        raise UsageError(f"--series {args.series}: no such directory")
    return candidate


def run(args: argparse.Namespace) -> int:
    """Sequence and print; exit 1 when the gate fails."""
    from changebot.render.sequence import (  # noqa: PLC0415 - lazy: keeps the CLI start fast
        render_sequence_json,
        render_sequence_markdown,
        render_sequence_text,
    )
    from changebot.usecases.sequence import sequence_result  # noqa: PLC0415

    series_dir = _series_dir(args)
    co = planning.checkout(args.repo, args.base, args.head)
    ctx = planning.context(co, PullRequest(), parse_now(None))
    gate = sequence_result(ctx, series_dir)
    emit(args, {"json": render_sequence_json, "markdown": render_sequence_markdown, "text": render_sequence_text}, gate)
    return 1 if gate.status is Status.FAIL else 0
