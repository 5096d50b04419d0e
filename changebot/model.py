"""Plain data shared by every layer: what a pull request is, what was found, what was decided.

Everything here is a frozen dataclass or an enum and does no I/O. The core builds these values, the
renderers turn them into text, and the adapters fill the inputs (``RepoFiles``, ``PullRequest``) from git or
GitHub. Gate-specific models (freeze windows, pipeline steps, patches, ...) live beside the core module
that computes them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Severity(enum.StrEnum):
    """How much a finding matters. ``error`` fails its gate, ``warning`` warns, ``notice`` informs."""

    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


class Status(enum.StrEnum):
    """The outcome of one gate. ``skipped`` means not evaluated and is never read as a pass."""

    PASS = "pass"  # noqa: S105 - a gate status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


class GateId(enum.StrEnum):
    """The gates of the plan, in the order they are reported."""

    SCHEMA = "schema"
    RULES = "rules"
    POLICY = "policy"
    FREEZE = "freeze"
    BUDGET = "budget"
    SEQUENCE = "sequence"


class GateMode(enum.StrEnum):
    """How much a gate's answer counts (``.maestro/changebot.yaml``: ``mode``, ``gates: {<id>: {mode}}``).

    ``enforce`` (the default) lets a failure fail the verdict; ``advisory`` shows the gate's findings but turns
    its failure into a warning of the verdict (the check concludes ``neutral``); ``off`` does not evaluate it.
    """

    ENFORCE = "enforce"
    ADVISORY = "advisory"
    OFF = "off"


@dataclass(frozen=True, order=True)
class Finding:
    """One thing changebot has to say about one place in the repository.

    ``path`` is repository-relative (POSIX separators); ``line`` and ``column`` are 1-based and ``None`` when
    the finding is about the file as a whole (or about no file). ``code`` is a stable, kebab-case identifier
    that tests and users can match on; ``message`` is for people.
    """

    path: str | None
    line: int | None
    column: int | None
    severity: Severity
    code: str
    message: str

    def where(self) -> str:
        """``file:line:column`` as far as known, for terminals and logs."""
        if self.path is None:
            return "(repository)"
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


def error(
    code: str, message: str, path: str | None = None, line: int | None = None, column: int | None = None
) -> Finding:
    """Shorthand for an ``error`` finding."""
    return Finding(path, line, column, Severity.ERROR, code, message)


def warning(
    code: str, message: str, path: str | None = None, line: int | None = None, column: int | None = None
) -> Finding:
    """Shorthand for a ``warning`` finding."""
    return Finding(path, line, column, Severity.WARNING, code, message)


def notice(
    code: str, message: str, path: str | None = None, line: int | None = None, column: int | None = None
) -> Finding:
    """Shorthand for a ``notice`` finding."""
    return Finding(path, line, column, Severity.NOTICE, code, message)


@dataclass(frozen=True)
class GateDetail:
    """What a gate adds to its result, typed; the base class is the empty detail.

    Each gate subclasses it beside its code and keeps typed values (datetimes, enums, frozen dataclasses).
    ``to_json`` is the detail's part of the JSON contract (``schemas/plan.schema.json``): the keys that
    ``changebot.render.json`` places beside ``findings`` in the gate object, and that the Rego policy input
    (``changebot.core.policy.input``) copies. It must not use ``id``, ``status``, ``summary`` or ``findings``.
    """

    def to_json(self) -> dict[str, Any]:
        """The detail's keys in the plan's JSON, in order; none for the empty detail."""
        return {}


@dataclass(frozen=True)
class GateResult:
    """What one gate decided, why, and the evidence.

    ``detail`` holds gate-specific data (an estimate, a window list, an apply order) as a frozen dataclass
    defined with its gate (``BudgetDetail`` in ``changebot.core.budget.gate``, ...); a gate with nothing to add,
    and every ``skipped`` gate, carries the empty ``GateDetail``. ``mode`` is how the verdict counts it
    (``GateMode``): ``status`` stays what the gate found, so an advisory gate can say ``fail``.
    """

    id: GateId
    status: Status
    summary: str
    findings: tuple[Finding, ...] = ()
    detail: GateDetail = field(default_factory=GateDetail)
    mode: GateMode = GateMode.ENFORCE

    @property
    def would_fail(self) -> bool:
        """True for an advisory gate whose failure the verdict did not count."""
        return self.mode is GateMode.ADVISORY and self.status is Status.FAIL


def status_from_findings(findings: tuple[Finding, ...] | list[Finding]) -> Status:
    """``fail`` if any error, ``warn`` if any warning, otherwise ``pass``."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return Status.FAIL
    if Severity.WARNING in severities:
        return Status.WARN
    return Status.PASS


def skipped(gate: GateId, reason: str) -> GateResult:
    """A gate that was not evaluated, with the reason shown to the user."""
    return GateResult(gate, Status.SKIPPED, reason)


class Verdict(enum.StrEnum):
    """The single answer for the pull request."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class ChangedFile:
    """One file changed between the merge base and the head. ``status`` is git's letter (A, M, D, R, C, T)."""

    status: str
    path: str
    old_path: str | None = None


@dataclass(frozen=True)
class RepoFiles:
    """The files changebot reads from one side of a pull request.

    ``ref`` is the ref or commit as given (``None`` for a working tree), ``commit`` the resolved SHA when
    there is one. ``files`` maps repository-relative paths to their raw bytes, for the governance and
    proposal files only (see ``changebot.core.documents.layout``); ``paths`` is every path in the tree, so that a
    reference to any file can be checked without reading it. ``findings`` are problems met while reading
    (a file over the size cap, an unreadable blob).
    """

    ref: str | None
    commit: str | None
    files: Mapping[str, bytes]
    paths: frozenset[str]
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class PullRequest:
    """The facts about the change being judged, from GitHub or from CLI flags.

    ``event`` is the GitHub event that triggers the run (``pull_request`` unless told otherwise);
    ``base_branch`` is the branch the PR targets (used by the freeze gate); ``files`` are the changed files;
    ``approvals`` the logins that approved it (the governance policy checks them against the owners).
    """

    event: str = "pull_request"
    number: int | None = None
    base_branch: str | None = None
    head_branch: str | None = None
    base_sha: str | None = None
    head_sha: str | None = None
    author: str | None = None
    title: str = ""
    labels: tuple[str, ...] = ()
    draft: bool = False
    files: tuple[ChangedFile, ...] = ()
    approvals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    """A planned side effect from a rule (``label``, ``comment``, ``request_review``, ``warn``, ``fail``).

    The core only plans actions; the GitHub layer carries them out and the CLI prints them.
    """

    rule: str
    do: str
    with_: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Override:
    """A break-glass exception to one gate, granted by a person with permission, for one head commit.

    The freeze gate (and any other gate that can be overridden) takes the list of overrides in force; where
    they come from (a slash command, stored in the sticky comment) is the GitHub layer's business.
    ``expires_at`` ``None`` means it lasts as long as the head SHA does. ``comment_id`` is the comment whose
    command granted it: each comment grants at most once.
    """

    gate: GateId
    actor: str
    reason: str
    granted_at: datetime
    expires_at: datetime | None = None
    head_sha: str | None = None
    comment_id: int | None = None

    def in_force(self, now: datetime, head_sha: str | None) -> bool:
        """True when not expired at ``now`` and granted for this head (or for any head)."""
        if self.expires_at is not None and now >= self.expires_at:
            return False
        return self.head_sha is None or head_sha is None or self.head_sha == head_sha


@dataclass(frozen=True)
class Plan:
    """Everything changebot concluded about one pull request at one instant."""

    verdict: Verdict
    gates: tuple[GateResult, ...]
    now: datetime
    pr: PullRequest
    repo: str
    base: str | None
    head: str | None
    actions: tuple[Action, ...] = ()
    #: The what-if of a pull request that changes governance (``changebot.core.whatif.result.WhatIf``), or
    #: ``None``. Informative only: it never changes the verdict.
    whatif: object | None = None
