"""Freeze calendars as instants: windows, recurring sources, and the queries people ask of them.

Every window is a half-open interval ``[start, end)`` of **UTC instants**: the end is exclusive, and comparisons
are between instants, never between ISO strings or wall-clock times (Python compares two datetimes that share
a ``tzinfo`` by wall clock, ignoring the offset, so nothing here compares local datetimes). Each window keeps
its zone for display.

Recurring windows are defined in local time and keep their wall-clock times across DST changes: a window
from 22:00 to 06:00 in Europe/Berlin is 22:00-06:00 on the night the clocks change, however long that night
is. Durations (``duration: PT8H``, cron durations, weekly spans) are added to the local wall-clock start.
Local times that do not exist or happen twice get one defined answer (``to_instant``):

* a **nonexistent** time (in the gap when clocks spring forward, e.g. 02:30 on 2025-03-09 in America/Denver)
  is the instant of the jump: the first instant at which the local clock reads that time or later (03:00 MDT);
* an **ambiguous** time (clocks fall back, e.g. 01:30 on 2025-11-02 in America/Denver) is its first
  occurrence (01:30 MDT, the earlier instant).

Recurrence is expanded only over the query range (``rrule`` start dates are moved forward by whole periods,
croniter starts at the range), so a year's query costs a year of occurrences, not the rule's whole history.
Expansion of one source stops after ``MAX_OCCURRENCES`` in one query; the rest of the range then counts as
frozen (fail closed). Pure: no I/O, no clock.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

#: Most occurrences one recurring source yields in one query.
MAX_OCCURRENCES = 200_000
#: How far ahead ``open_at`` looks before saying "not within the horizon" (None).
DEFAULT_HORIZON = timedelta(days=400)
#: The DTSTART of a rule that has none: a Monday at local midnight (only the phase of INTERVAL>1 rules and the
#: weekday/day-of-month of rules without BYDAY/BYMONTHDAY depend on it).
RRULE_ANCHOR = datetime(2000, 1, 3)


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time in ``zone`` -> the UTC instant (gap and fold rules in the module docs)."""
    early = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if early == late:
        return early
    if early.astimezone(zone).replace(tzinfo=None) == local:  # exists twice: the first occurrence
        return min(early, late)
    base = min(early, late)  # nonexistent: the instant of the jump, found to the second
    low, high = 0, int(abs(early - late).total_seconds())
    while low < high:
        mid = (low + high) // 2
        if (base + timedelta(seconds=mid)).astimezone(zone).replace(tzinfo=None) >= local:
            high = mid
        else:
            low = mid + 1
    return base + timedelta(seconds=low)


def iso(instant: datetime, zone: str) -> str:
    """An instant as ISO 8601 with the offset it has in ``zone``."""
    return instant.astimezone(ZoneInfo(zone) if zone != "UTC" else UTC).isoformat()


@dataclass(frozen=True, order=True)
class Window:
    """One freeze window: ``[start, end)`` in UTC, where it came from, and whether it is enforced."""

    start: datetime
    end: datetime
    name: str
    source: str
    line: int | None = None
    enforced: bool = True
    zone: str = "UTC"
    kind: str = "absolute"

    def covers(self, instant: datetime) -> bool:
        """True when ``start <= instant < end`` (the end is exclusive)."""
        return self.start <= instant < self.end

    def to_json(self) -> dict[str, Any]:
        """The window as the freeze gate's detail writes it."""
        return {
            "name": self.name,
            "source": self.source,
            "line": self.line,
            "start": iso(self.start, self.zone),
            "end": iso(self.end, self.zone),
            "enforced": self.enforced,
            "zone": self.zone,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Recurring:
    """A recurring window: local start times from ``starts`` (a function of a naive local range), each lasting
    ``length`` of wall-clock time in ``zone``."""

    name: str
    source: str
    line: int | None
    zone: str
    length: timedelta
    starts: Callable[[datetime, datetime], Iterator[datetime]] = field(compare=False)
    enforced: bool = True
    kind: str = "rrule"

    def windows(self, start: datetime, end: datetime) -> Iterator[Window]:
        """Occurrences that overlap ``[start, end)`` (UTC instants)."""
        tz = ZoneInfo(self.zone) if self.zone != "UTC" else None
        margin = timedelta(days=2)  # a local range safely wider than the instant range, whatever the offset
        lo = _naive(start, tz) - self.length - margin
        hi = _naive(end, tz) + margin
        for count, local in enumerate(self.starts(lo, hi), start=1):
            first = to_instant(local, tz) if tz else local.replace(tzinfo=UTC)
            last_local = local + self.length
            if count > MAX_OCCURRENCES:  # fail closed: the rest of the range is frozen
                yield Window(first, max(end, first + self.length), self.name, self.source, self.line,
                             self.enforced, self.zone, self.kind)  # fmt: skip
                return
            last = to_instant(last_local, tz) if tz else last_local.replace(tzinfo=UTC)
            if last > start and first < end and last > first:
                yield Window(first, last, self.name, self.source, self.line, self.enforced, self.zone, self.kind)


def _naive(instant: datetime, tz: ZoneInfo | None) -> datetime:
    return instant.astimezone(tz or UTC).replace(tzinfo=None)


def rrule_starts(rule: Any) -> Callable[[datetime, datetime], Iterator[datetime]]:
    """Local start times of a dateutil ``rrule`` (naive, local), bounded to the asked range."""

    def starts(lo: datetime, hi: datetime) -> Iterator[datetime]:
        bounded = _advance(rule, lo)
        for occurrence in bounded.xafter(lo, inc=True):
            if occurrence > hi:
                return
            yield occurrence

    return starts


def _advance(rule: Any, lo: datetime) -> Any:
    """The same rule with DTSTART moved forward by whole periods to just before ``lo`` (not with COUNT)."""
    from dateutil.relativedelta import relativedelta  # noqa: PLC0415 - lazy: keeps start-up fast
    from dateutil.rrule import DAILY, HOURLY, MINUTELY, MONTHLY, SECONDLY, WEEKLY, YEARLY  # noqa: PLC0415

    dtstart: datetime = rule._dtstart
    if rule._count is not None or dtstart >= lo:
        return rule
    interval: int = rule._interval
    freq: int = rule._freq
    gap = lo - dtstart
    fixed = {
        WEEKLY: timedelta(weeks=interval),
        DAILY: timedelta(days=interval),
        HOURLY: timedelta(hours=interval),
        MINUTELY: timedelta(minutes=interval),
        SECONDLY: timedelta(seconds=interval),
    }
    if freq in fixed:
        period = fixed[freq]
        steps = gap // period - 1
        if steps <= 0:
            return rule
        return rule.replace(dtstart=dtstart + steps * period)
    if dtstart.day > 28:  # moving by months would clamp the day of month and change the rule
        return rule
    months = (lo.year - dtstart.year) * 12 + lo.month - dtstart.month - 1
    if freq not in (MONTHLY, YEARLY):  # pragma: no cover - dateutil has no other frequencies
        return rule
    unit = 12 * interval if freq == YEARLY else interval
    steps = months // unit - 1
    if steps <= 0:
        return rule
    return rule.replace(dtstart=dtstart + relativedelta(months=steps * unit))


def cron_starts(expression: str) -> Callable[[datetime, datetime], Iterator[datetime]]:
    """Local start times of a cron expression (croniter over naive local time), bounded to the asked range."""

    def starts(lo: datetime, hi: datetime) -> Iterator[datetime]:
        from croniter import croniter  # noqa: PLC0415 - lazy: keeps start-up fast

        it = croniter(expression, lo - timedelta(seconds=1))
        while True:
            occurrence: datetime = it.get_next(datetime)
            if occurrence > hi:
                return
            yield occurrence

    return starts


@dataclass(frozen=True)
class Calendar:
    """Every window source of a repository: fixed windows (kept sorted) and recurring ones."""

    fixed: tuple[Window, ...] = ()
    recurring: tuple[Recurring, ...] = ()
    _starts: tuple[datetime, ...] = field(default=(), compare=False, repr=False)
    _longest: timedelta = field(default=timedelta(0), compare=False, repr=False)

    @staticmethod
    def of(fixed: Iterable[Window], recurring: Iterable[Recurring] = ()) -> Calendar:
        """A calendar with its fixed windows sorted for range queries."""
        ordered = tuple(sorted(fixed))
        longest = max((w.end - w.start for w in ordered), default=timedelta(0))
        return Calendar(ordered, tuple(recurring), tuple(w.start for w in ordered), longest)

    def __bool__(self) -> bool:
        return bool(self.fixed or self.recurring)

    def windows(self, start: datetime, end: datetime) -> list[Window]:
        """Every window overlapping ``[start, end)``, sorted by start."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        lo = bisect.bisect_left(self._starts, start - self._longest)
        hi = bisect.bisect_left(self._starts, end)
        found = [w for w in self.fixed[lo:hi] if w.end > start]
        for source in self.recurring:
            found.extend(source.windows(start, end))
        found.sort()
        return found


@dataclass(frozen=True)
class Timeline:
    """Windows over a range, indexed for instant queries: which windows cover ``t``, when it is open again."""

    start: datetime
    end: datetime
    windows: tuple[Window, ...]
    _starts: tuple[datetime, ...] = field(compare=False, repr=False)
    _longest: timedelta = field(compare=False, repr=False)
    _merged: tuple[tuple[datetime, datetime], ...] = field(compare=False, repr=False)

    @staticmethod
    def build(calendar: Calendar, start: datetime, end: datetime) -> Timeline:
        """Expand ``calendar`` over ``[start, end)``."""
        windows = tuple(calendar.windows(start, end))
        longest = max((w.end - w.start for w in windows), default=timedelta(0))
        merged: list[tuple[datetime, datetime]] = []
        for w in windows:
            if not w.enforced:
                continue
            if merged and w.start <= merged[-1][1]:
                if w.end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], w.end)
            else:
                merged.append((w.start, w.end))
        return Timeline(
            start.astimezone(UTC),
            end.astimezone(UTC),
            windows,
            tuple(w.start for w in windows),
            longest,
            tuple(merged),
        )

    def active(self, instant: datetime) -> list[Window]:
        """Windows (enforced or not) that cover ``instant``."""
        lo = bisect.bisect_left(self._starts, instant - self._longest)
        hi = bisect.bisect_right(self._starts, instant)
        return [w for w in self.windows[lo:hi] if w.covers(instant)]

    def frozen(self, instant: datetime) -> bool:
        """True when an enforced window covers ``instant``."""
        index = bisect.bisect_right(self._merged, (instant, datetime.max.replace(tzinfo=UTC))) - 1
        return index >= 0 and self._merged[index][0] <= instant < self._merged[index][1]

    def open_at(self, instant: datetime) -> datetime | None:
        """The first instant at or after ``instant`` that no enforced window covers (``None`` past the range)."""
        index = bisect.bisect_right(self._merged, (instant, datetime.max.replace(tzinfo=UTC))) - 1
        if index >= 0 and self._merged[index][0] <= instant < self._merged[index][1]:
            opens = self._merged[index][1]
            return opens if opens < self.end else None
        return instant

    def starting(self, after: datetime, until: datetime) -> list[Window]:
        """Windows that start in ``(after, until]``."""
        lo = bisect.bisect_right(self._starts, after)
        hi = bisect.bisect_right(self._starts, until)
        return list(self.windows[lo:hi])


def open_at(calendar: Calendar, instant: datetime, horizon: timedelta = DEFAULT_HORIZON) -> datetime | None:
    """The next time nothing enforced covers ``instant`` or later; ``None`` if frozen past ``horizon``.

    Looks a week ahead first and widens the range only while the branch stays frozen.
    """
    instant = instant.astimezone(UTC)
    span = timedelta(days=7)
    while True:
        span = min(span, horizon)
        found = Timeline.build(calendar, instant, instant + span).open_at(instant)
        if found is not None or span >= horizon:
            return found
        span *= 4


def enforced_only(windows: Sequence[Window]) -> list[Window]:
    """The enforced windows of a list."""
    return [w for w in windows if w.enforced]
