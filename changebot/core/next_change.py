"""When a pull request's verdict can next change from time alone. Pure: ``now`` is a parameter.

A verdict depends on the clock through four things, and only these (``TimeState``):

* whether an enforced freeze window covers ``now`` on a frozen branch (the freeze gate fails);
* whether an enforced window starts within the look-ahead, ``(now, now + lookahead]``, while none covers
  ``now`` (the freeze gate warns);
* which stored overrides are in force (each lapses at its ``expires_at``);
* the UTC month, when the budget gate reads month-to-date spend (it starts again at 00:00 UTC on the 1st).

``next_change`` returns the earliest instant in ``(now, now + horizon]`` at which that state differs from the
state at ``now``, with what changes there (``Change``), or ``None`` when nothing changes within the horizon.
Every edge is an instant of one of these kinds: a window's start or end, a start minus the look-ahead, an
override's expiry, the first of a month. The state is constant between two consecutive candidates, so the
first candidate whose state differs is the exact answer: never late (no edge is missed) and never early (a
refresh there always has something to flip). ``Clockwork.of`` gathers the inputs from a ``Context``; the App
schedules a refresh at ``Change.at`` and the renderers say it in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fnmatch import fnmatchcase

from changebot.core.context import Context
from changebot.core.freeze.gate import DEFAULT_LOOKAHEAD_HOURS, freeze_settings, read_calendar
from changebot.core.freeze.windows import Calendar, Timeline, Window
from changebot.model import Override

#: How far ahead ``next_change`` looks by default: a refresh is due at least this often anyway.
DEFAULT_HORIZON = timedelta(days=31)


class ChangeKind(StrEnum):
    """What happens at the next change."""

    FREEZE_STARTS = "freeze-starts"
    FREEZE_ENDS = "freeze-ends"
    FREEZE_UPCOMING = "freeze-upcoming"
    UPCOMING_ENDS = "upcoming-ends"
    OVERRIDE_EXPIRES = "override-expires"
    MONTH_ROLLS_OVER = "month-rolls-over"


@dataclass(frozen=True)
class Clockwork:
    """The time-dependent inputs of one evaluation: the base branch's calendar, whether the PR's target branch
    is frozen by it, the look-ahead of the upcoming-freeze warning, the stored overrides (for ``head_sha``) and
    whether the budget gate reads the month's spend."""

    calendar: Calendar
    governed: bool = True
    lookahead: timedelta = timedelta(hours=DEFAULT_LOOKAHEAD_HOURS)
    overrides: tuple[Override, ...] = ()
    head_sha: str | None = None
    monthly: bool = False

    @staticmethod
    def of(ctx: Context, overrides: Sequence[Override] = (), monthly: bool = False) -> Clockwork:
        """The clockwork of ``ctx``: its calendar and freeze settings from the base branch."""
        calendar, _, _ = read_calendar(ctx)
        settings = freeze_settings(ctx)
        branch = ctx.pr.base_branch or settings.default_branch
        governed = any(fnmatchcase(branch, pattern) for pattern in settings.branches)
        return Clockwork(calendar, governed, settings.lookahead, tuple(overrides), ctx.pr.head_sha, monthly)


@dataclass(frozen=True)
class TimeState:
    """Everything in a verdict that depends on the clock, at one instant."""

    frozen: bool
    upcoming: bool
    overrides: frozenset[Override]
    month: tuple[int, int] | None


@dataclass(frozen=True)
class Change:
    """The next instant the verdict can change, and why: the window that starts or ends (or whose warning
    starts), the override that expires, or the month that begins."""

    at: datetime
    kind: ChangeKind
    window: Window | None = None
    override: Override | None = None


class _Clock:
    """``TimeState`` at any instant of ``[start, end)``, from one expansion of the calendar."""

    def __init__(self, work: Clockwork, start: datetime, end: datetime) -> None:
        self.work = work
        self.timeline = Timeline.build(work.calendar, start, end)
        self.enforced = tuple(w for w in self.timeline.windows if w.enforced)

    def state(self, at: datetime) -> TimeState:
        work = self.work
        frozen = work.governed and self.timeline.frozen(at)
        upcoming = (
            work.governed and not frozen and any(w.enforced for w in self.timeline.starting(at, at + work.lookahead))
        )
        overrides = frozenset(o for o in work.overrides if o.in_force(at, work.head_sha))
        month = (at.year, at.month) if work.monthly else None
        return TimeState(frozen, upcoming, overrides, month)


def _month_after(instant: datetime) -> datetime:
    year, month = (instant.year + 1, 1) if instant.month == 12 else (instant.year, instant.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def _candidates(clock: _Clock, now: datetime, until: datetime) -> Iterable[Change]:
    work = clock.work
    for window in clock.enforced:
        yield Change(window.start, ChangeKind.FREEZE_STARTS, window)
        yield Change(window.end, ChangeKind.FREEZE_ENDS, window)
        yield Change(window.start - work.lookahead, ChangeKind.FREEZE_UPCOMING, window)
    for override in work.overrides:
        if override.expires_at is not None:
            yield Change(override.expires_at.astimezone(UTC), ChangeKind.OVERRIDE_EXPIRES, override=override)
    if work.monthly:
        yield Change(_month_after(now), ChangeKind.MONTH_ROLLS_OVER)


def _explain(change: Change, before: TimeState, after: TimeState) -> Change:
    """Name what actually changes at ``change.at`` (several candidates may share the instant)."""
    if before.frozen != after.frozen:
        kind = ChangeKind.FREEZE_STARTS if after.frozen else ChangeKind.FREEZE_ENDS
    elif before.upcoming != after.upcoming:
        kind = ChangeKind.FREEZE_UPCOMING if after.upcoming else ChangeKind.UPCOMING_ENDS
    elif before.overrides != after.overrides:
        kind = ChangeKind.OVERRIDE_EXPIRES
    else:
        kind = ChangeKind.MONTH_ROLLS_OVER
    return Change(change.at, kind, change.window if kind is change.kind else None, change.override)


def next_change(work: Clockwork, now: datetime, horizon: timedelta = DEFAULT_HORIZON) -> Change | None:
    """The first instant in ``(now, now + horizon]`` at which ``work``'s ``TimeState`` differs from ``now``'s."""
    now = now.astimezone(UTC)
    until = now + horizon
    clock = _Clock(work, now, until + work.lookahead + timedelta(seconds=1))
    before = clock.state(now)
    candidates = sorted(
        (c for c in _candidates(clock, now, until) if now < c.at <= until),
        key=lambda c: (c.at, list(ChangeKind).index(c.kind)),
    )
    seen: datetime | None = None
    for candidate in candidates:
        if candidate.at == seen:
            continue
        seen = candidate.at
        after = clock.state(candidate.at)
        if after != before:
            same = [c for c in candidates if c.at == candidate.at]
            best = next((c for c in same if _explain(c, before, after).kind is c.kind), candidate)
            return _explain(best, before, after)
    return None


def state_at(work: Clockwork, at: datetime) -> TimeState:
    """The ``TimeState`` of ``work`` at ``at`` (for callers and tests that compare two instants)."""
    at = at.astimezone(UTC)
    return _Clock(work, at, at + work.lookahead + timedelta(seconds=1)).state(at)
