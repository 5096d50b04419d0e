"""Pieces every subcommand shares: environment defaults, common flags, output, time parsing.

Every flag can also be set as ``CHANGEBOT_<NAME>`` (``--repo`` -> ``CHANGEBOT_REPO``, ``--base`` ->
``CHANGEBOT_BASE``); a flag on the command line wins over the environment. Repeatable flags take a
comma-separated list from the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from changebot.errors import UsageError

ENV_PREFIX = "CHANGEBOT_"

T = TypeVar("T")


def env_name(flag: str) -> str:
    """``--opa-url`` -> ``CHANGEBOT_OPA_URL``."""
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


def env(flag: str, default: str | None = None) -> str | None:
    """The environment's value for ``flag``, or ``default``."""
    value = os.environ.get(env_name(flag))
    return value if value not in (None, "") else default


def env_list(flag: str) -> list[str]:
    """A repeatable flag's environment value, split on commas."""
    value = env(flag)
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def add_repo(parser: argparse.ArgumentParser) -> None:
    """``--repo PATH``."""
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path(env("--repo", ".") or "."),
        metavar="PATH",
        help="repository (or plain directory) to read (default: current directory; env CHANGEBOT_REPO)",
    )


def add_refs(parser: argparse.ArgumentParser) -> None:
    """``--base REF --head REF``."""
    parser.add_argument(
        "--base",
        default=env("--base"),
        metavar="REF",
        help="ref the PR targets; governance config is read from here (env CHANGEBOT_BASE)",
    )
    parser.add_argument(
        "--head",
        default=env("--head"),
        metavar="REF",
        help="ref the PR proposes; bundles, plans and patches are read from here "
        "(env CHANGEBOT_HEAD). Without --base/--head the working tree is both",
    )


def add_now(parser: argparse.ArgumentParser) -> None:
    """``--now ISO8601``."""
    parser.add_argument(
        "--now",
        default=env("--now"),
        metavar="ISO8601",
        help="evaluate as of this instant, with an offset, e.g. 2025-12-20T09:00:00-07:00 "
        "(default: the current time; env CHANGEBOT_NOW)",
    )


def add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...] = ("text", "markdown", "json")) -> None:
    """``--format`` and ``-o``."""

    def checked(value: str) -> str:
        # argparse checks ``choices`` only for values typed on the command line, not for a default taken
        # from CHANGEBOT_FORMAT; a ``type`` runs on both.
        if value not in choices:
            raise argparse.ArgumentTypeError(
                f"invalid choice: {value!r} (choose from {', '.join(choices)}; from --format or CHANGEBOT_FORMAT)"
            )
        return value

    parser.add_argument(
        "--format",
        type=checked,
        choices=choices,
        default=env("--format", choices[0]),
        help=f"output format (default: {choices[0]}; env CHANGEBOT_FORMAT)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default=env("--output", "-"),
        metavar="FILE",
        help="write the result to FILE instead of stdout ('-' is stdout; env CHANGEBOT_OUTPUT)",
    )


def parse_now(value: str | None) -> datetime:
    """``--now`` as an aware datetime; the current time when not given."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(
            f"--now {value!r} is not an ISO 8601 date-time",
            "write it like 2025-12-20T09:00:00Z or 2025-12-20T09:00:00-07:00",
        ) from exc
    if parsed.tzinfo is None:
        raise UsageError(
            f"--now {value!r} has no UTC offset",
            "add 'Z' or an offset such as -07:00: changebot never guesses a time zone",
        )
    return parsed


def write_output(text: str, target: str) -> None:
    """Write ``text`` to stdout or to ``target`` atomically (a complete file or none at all)."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(target)
    if not path.parent.is_dir():
        raise UsageError(f"-o {target}: directory {path.parent} does not exist")
    if path.is_dir():
        raise UsageError(f"-o {target}: is a directory", "name a file to write, e.g. -o plan.md")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(
            f"-o {target}: cannot write in {path.parent} ({exc.strerror})", "choose a directory you can write to"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"-o {target}: cannot write the file ({exc.strerror})") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def emit(args: argparse.Namespace, renderers: Mapping[str, Callable[[T], str]], result: T) -> None:
    """Render ``result`` with the renderer for ``--format`` (``text`` for any format not listed) and write it
    to ``-o``."""
    write_output(renderers.get(args.format, renderers["text"])(result), args.output)


def wants_colour(target: str) -> bool:
    """Colour when writing to a terminal, unless ``NO_COLOR`` is set (https://no-color.org)."""
    return target == "-" and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def add_event_and_branch(parser: argparse.ArgumentParser) -> None:
    """``--event`` and ``--branch``: what triggers the run, and the branch the PR targets."""
    parser.add_argument(
        "--event",
        default=env("--event", "pull_request"),
        help="GitHub event that triggers the run (default: pull_request; env CHANGEBOT_EVENT)",
    )
    parser.add_argument(
        "--branch",
        default=env("--branch"),
        metavar="NAME",
        help="branch the PR targets, for the freeze gate and budget lanes (default: the branch --base names; "
        "env CHANGEBOT_BRANCH)",
    )


def target_branch(args: argparse.Namespace) -> str | None:
    """``--branch``, else the branch the ``--base`` ref names (``refs/heads/main``, ``upstream/main`` -> ``main``);
    ``None`` without ``--base`` (the working tree: the default branch). A ``--base`` that names no branch (a SHA,
    a tag) is a usage error: a branch changebot cannot name is never judged as an unfrozen one."""
    if args.branch:
        return str(args.branch)
    if not args.base:
        return None
    from changebot.adapters.git import reader  # noqa: PLC0415 - lazy: only with --base

    branch = reader.branch_of(reader.open_repo(args.repo), args.base)
    if branch is None:
        raise UsageError(
            f"--base {args.base!r} is not a branch, so changebot cannot tell which branch the pull request targets",
            "pass --branch NAME (env CHANGEBOT_BRANCH), the branch the pull request targets: the freeze gate and "
            "the budget lanes judge that branch",
        )
    return branch
