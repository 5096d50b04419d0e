"""The freeze-window audit: what merged during a freeze, who allowed it, and what is about to freeze.

Pure: the GitHub layer lists pull requests and reads the overrides stored in their sticky comments; the freeze
layer expands calendars into windows (``core.freeze.Window``); this module only compares instants. Every
comparison is between aware datetimes (never ISO strings), and window ends are exclusive, as everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from changebot.core.freeze.windows import Window
from changebot.model import GateId, Override


@dataclass(frozen=True)
class PullSummary:
    """What the audit needs to know about one pull request."""

    number: int
    title: str
    url: str
    base_branch: str
    author: str | None = None
    merged_at: datetime | None = None
    merged_by: str | None = None
    head_sha: str | None = None
    merge_commit: str | None = None


@dataclass(frozen=True)
class FrozenMerge:
    """A pull request merged into a governed branch in the period, with the enforced windows in force at the
    merge (none for a merge outside every freeze) and the freeze override that allowed it, if any."""

    pr: PullSummary
    windows: tuple[Window, ...]
    override: Override | None

    @property
    def authorised(self) -> bool:
        """True when an override for the freeze gate was in force at the moment of the merge."""
        return self.override is not None

    @property
    def frozen(self) -> bool:
        """True when an enforced window covered the moment of the merge."""
        return bool(self.windows)


@dataclass(frozen=True)
class Upcoming:
    """An open pull request whose target branch enters a freeze soon."""

    pr: PullSummary
    window: Window


@dataclass(frozen=True)
class UnusedOverride:
    """An override that expired without its pull request being merged while it was in force."""

    pr: PullSummary
    override: Override


@dataclass(frozen=True)
class AuditReport:
    """The audit of one period ``[since, until)`` plus a look ``days`` ahead of ``now``."""

    since: datetime
    until: datetime
    now: datetime
    days: int
    branches: tuple[str, ...]
    merged_in_freeze: tuple[FrozenMerge, ...]
    upcoming: tuple[Upcoming, ...]
    expired_unused: tuple[UnusedOverride, ...]
    spans: tuple[Window, ...]
    merged_checked: int
    merges: tuple[FrozenMerge, ...] = ()

    @property
    def unauthorised(self) -> tuple[FrozenMerge, ...]:
        """Merges during a freeze with no override in force."""
        return tuple(m for m in self.merged_in_freeze if not m.authorised)


def _covering_override(overrides: Sequence[Override], moment: datetime, head_sha: str | None) -> Override | None:
    """The freeze override in force at ``moment`` for ``head_sha`` (granted before the moment), if any."""
    for override in overrides:
        if override.gate is GateId.FREEZE and override.granted_at <= moment and override.in_force(moment, head_sha):
            return override
    return None


def audit(
    merged: Iterable[PullSummary],
    open_prs: Iterable[PullSummary],
    spans: Iterable[Window],
    overrides: Mapping[int, Sequence[Override]],
    branches: Iterable[str],
    since: datetime,
    until: datetime,
    now: datetime,
    days: int,
) -> AuditReport:
    """Compare merges and open pull requests with the freeze spans.

    ``merges`` of the report lists every merge judged (in the period, into a governed branch), in a freeze or
    not, in merge order: the population an auditor samples.

    ``merged`` are pull requests merged at any time (only those merged inside ``[since, until)`` into one of
    ``branches`` are judged); ``overrides`` maps a PR number to the overrides recorded on it. Inactive
    (``enforced=False``) spans never make a merge a violation.
    """
    merged, open_prs = list(merged), list(open_prs)
    governed = tuple(sorted(set(branches)))
    all_spans = tuple(sorted(spans, key=lambda s: (s.start, s.end, s.name)))
    enforced = [s for s in all_spans if s.enforced]
    judged: list[FrozenMerge] = []
    frozen: list[FrozenMerge] = []
    used: set[tuple[int, datetime]] = set()
    for pr in sorted(merged, key=lambda p: (p.merged_at or since, p.number)):
        if pr.merged_at is None or pr.base_branch not in governed or not since <= pr.merged_at < until:
            continue
        hits = tuple(s for s in enforced if s.covers(pr.merged_at))
        if not hits:
            judged.append(FrozenMerge(pr, (), None))
            continue
        override = _covering_override(overrides.get(pr.number, ()), pr.merged_at, pr.head_sha)
        if override is not None:
            used.add((pr.number, override.granted_at))
        frozen.append(FrozenMerge(pr, hits, override))
        judged.append(frozen[-1])
    horizon = now + timedelta(days=days)
    upcoming: list[Upcoming] = []
    for pr in sorted(open_prs, key=lambda p: p.number):
        if pr.base_branch not in governed:
            continue
        coming = next((s for s in enforced if s.end > now and s.start < horizon), None)
        if coming is not None:  # the first freeze it meets (or is already in); enforced is sorted by start
            upcoming.append(Upcoming(pr, coming))
    unused: list[UnusedOverride] = []
    by_number = {pr.number: pr for pr in (*merged, *open_prs)}
    for number, recorded in sorted(overrides.items()):
        owner = by_number.get(number)
        if owner is None:
            continue
        for override in recorded:
            expiry = override.expires_at
            if expiry is None or expiry > now or (number, override.granted_at) in used:
                continue
            if since <= expiry < until:
                unused.append(UnusedOverride(owner, override))
    return AuditReport(
        since,
        until,
        now,
        days,
        governed,
        tuple(frozen),
        tuple(upcoming),
        tuple(unused),
        all_spans,
        len(judged),
        tuple(judged),
    )
