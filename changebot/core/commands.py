"""The slash-command grammar for pull-request comments. Pure: text in, a value out.

Only a comment whose first non-blank line starts with the ``/changebot`` token is a command; anything after that
line is ignored (people add context below). The line is split with ``shlex`` (POSIX rules), so a reason is
quoted like in a shell. The grammar is strict::

    /changebot help | plan | gate | budget | freeze | sequence
    /changebot override <gate> --reason "<text>" [--expires <duration>] [--sha <commit>]

    <gate>      one of schema, rules, policy, freeze, budget, sequence (the grammar names every gate; which
                ones take overrides is ``core.overrides.rules.OVERRIDABLE``)
    <duration>  a positive number and a unit: 30m, 24h, 7d
    <commit>    the head commit the override is for: 7 to 40 hex digits

``parse`` returns ``None`` for a comment that is not addressed to changebot, a ``Command`` for a well-formed one,
and an ``Invalid`` (with what was wrong) for anything else that starts with ``/changebot``; the App answers an
``Invalid`` with ``help_text`` and the problem.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import timedelta

from changebot.model import GateId

PREFIX = "/changebot"
VERBS = ("help", "plan", "gate", "budget", "freeze", "sequence")
OVERRIDE = "override"
#: Longest command line read; longer lines are refused rather than tokenised.
MAX_LINE = 2000

_DURATION = re.compile(r"^([1-9][0-9]{0,4})([mhd])$")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Command:
    """A well-formed command. ``gate``/``reason``/``expires``/``sha`` are set for ``override`` only; ``sha`` (lower
    case) is the head commit the override is for, when the command names one."""

    verb: str
    gate: GateId | None = None
    reason: str | None = None
    expires: timedelta | None = None
    sha: str | None = None


@dataclass(frozen=True)
class Invalid:
    """A comment addressed to changebot that does not follow the grammar; ``problem`` says why."""

    problem: str


def parse_duration(text: str) -> timedelta | None:
    """``30m``, ``24h``, ``7d`` as a ``timedelta``; ``None`` when ``text`` is not such a duration."""
    match = _DURATION.match(text)
    if match is None:
        return None
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(value: timedelta) -> str:
    """The shortest exact ``Nd``/``Nh``/``Nm`` spelling of ``value`` (rounded down to minutes)."""
    minutes = int(value.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0 and minutes:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def first_line(body: str) -> str | None:
    """The first non-blank line of ``body``, stripped."""
    for line in body.splitlines():
        if line.strip():
            return line.strip()
    return None


def parse(body: str) -> Command | Invalid | None:
    """Read a comment body. ``None``: not for changebot; ``Invalid``: for changebot but malformed."""
    line = first_line(body)
    if line is None or not (line == PREFIX or line.startswith((PREFIX + " ", PREFIX + "\t"))):
        return None
    if len(line) > MAX_LINE:
        return Invalid(f"the command line is {len(line)} characters long; the limit is {MAX_LINE}")
    try:
        tokens = shlex.split(line, comments=False, posix=True)
    except ValueError as exc:
        return Invalid(f"the command could not be read ({exc}); quote the reason with matching quotes")
    args = tokens[1:]
    if not args:
        return Invalid("no command given after /changebot")
    verb, rest = args[0], args[1:]
    if verb in VERBS:
        if rest:
            return Invalid(f"'/changebot {verb}' takes no arguments (got {' '.join(rest)!r})")
        return Command(verb)
    if verb == OVERRIDE:
        return _override(rest)
    return Invalid(f"unknown command {verb!r}; expected one of {', '.join((*VERBS, OVERRIDE))}")


def _options(args: list[str]) -> dict[str, str] | Invalid:
    """``--name value`` and ``--name=value`` pairs of an override command."""
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        token = args[i]
        name, eq, inline = token.partition("=")
        if name not in ("--reason", "--expires", "--sha"):
            return Invalid(f"unexpected {token!r}; '/changebot override' takes --reason, --expires and --sha only")
        if name in options:
            return Invalid(f"{name} is given twice")
        if eq:
            options[name] = inline
            i += 1
        elif i + 1 < len(args):
            options[name] = args[i + 1]
            i += 2
        else:
            return Invalid(f"{name} needs a value")
    return options


def _override(args: list[str]) -> Command | Invalid:
    if not args or args[0].startswith("--"):
        return Invalid("'/changebot override' needs a gate first, e.g. /changebot override freeze --reason \"...\"")
    try:
        gate = GateId(args[0])
    except ValueError:
        return Invalid(f"unknown gate {args[0]!r}; expected one of {', '.join(g.value for g in GateId)}")
    options = _options(args[1:])
    if isinstance(options, Invalid):
        return options
    reason = " ".join(options.get("--reason", "").split())
    if not reason:
        return Invalid('an override needs --reason "why this change must go in now"')
    expires: timedelta | None = None
    if "--expires" in options:
        expires = parse_duration(options["--expires"])
        if expires is None:
            return Invalid(f"--expires {options['--expires']!r} is not a duration; write e.g. 30m, 24h or 7d")
    sha: str | None = None
    if "--sha" in options:
        sha = options["--sha"].lower()
        if not _SHA.match(sha):
            return Invalid(f"--sha {options['--sha']!r} is not a commit SHA; write 7 to 40 hex digits")
    return Command(OVERRIDE, gate=gate, reason=reason, expires=expires, sha=sha)


def help_text(problem: str | None = None) -> str:
    """The reply to ``/changebot help`` or to a malformed command (then ``problem`` comes first)."""
    lines = []
    if problem:
        lines += [f"**changebot could not read that command:** {problem}", ""]
    lines += [
        "**changebot commands** (write the command on the first line of a new comment):",
        "",
        "| command | what it does |",
        "|---|---|",
        "| `/changebot help` | this list |",
        "| `/changebot plan` | re-evaluate every gate and update the check run and the changebot comment |",
        "| `/changebot gate` | the verdict and each gate's status |",
        "| `/changebot budget` | the CI budget gate in detail |",
        "| `/changebot freeze` | the freeze gate in detail |",
        "| `/changebot sequence` | the patch-series gate in detail |",
        '| `/changebot override freeze --reason "..." [--expires 24h] [--sha <head>]` | '
        "a break-glass exception to the freeze gate for the head commit when the command was written (or the "
        "one `--sha` names), for people allowed to grant it |",
    ]
    return "\n".join(lines) + "\n"
