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

Recurring sources produce local start times over a range (``changebot.core.freeze.recurrence`` expands rrules and
cron expressions only over the query range). One query expands at most ``MAX_WINDOWS_PER_QUERY`` recurring
windows, all sources together, in order of start: past that the rest of the range is one ``capped`` window
(fail closed), so forty dense rules cost what one does. Pure: no I/O, no clock.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

#: Years ``now`` may fall in: calendars are expanded up to ``DEFAULT_HORIZON`` either side of it.
SUPPORTED_YEARS = range(1900, 9000)
#: Most recurring windows one query expands, all sources together (one source alone stops there too).
MAX_WINDOWS_PER_QUERY = 100_000
MAX_OCCURRENCES = MAX_WINDOWS_PER_QUERY
#: The name of the window that stands for the rest of a range past ``MAX_WINDOWS_PER_QUERY`` (kind ``capped``).
CAPPED_NAME = f"more than {MAX_WINDOWS_PER_QUERY:,} recurring windows in one query: the rest counts as frozen"
#: How far ahead ``open_at`` looks before saying "not within the horizon" (None).
DEFAULT_HORIZON = timedelta(days=400)


_NAIVE_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=65536)
def _plain_offset(zone: ZoneInfo, day: date) -> timedelta | None:
    """The UTC offset of ``zone`` on local ``day`` when it is the same all day (no DST change), else ``None``."""
    first = datetime.combine(day, time())
    last = datetime.combine(day, time(23, 59, 59))
    offsets = {zone.utcoffset(first), zone.utcoffset(first.replace(fold=1)), zone.utcoffset(last)}
    offsets.add(zone.utcoffset(last.replace(fold=1)))
    if len(offsets) != 1:
        return None
    return offsets.pop()


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time in ``zone`` -> the UTC instant (gap and fold rules in the module docs)."""
    plain = _plain_offset(zone, local.date())
    if plain is not None:  # the common case: no transition that day
        return _UTC_EPOCH + (local - _NAIVE_EPOCH - plain)
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


class Window(NamedTuple):
    """One freeze window: ``[start, end)`` in UTC, where it came from, and whether it is enforced.

    Immutable like the frozen dataclasses elsewhere, but a ``NamedTuple``: a year of a large calendar builds
    hundreds of thousands of these, and a tuple is several times cheaper to create.
    """

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


#: Sort order of windows: by start (the sort is stable, so equal starts keep the calendar's order).
window_key = attrgetter("start")


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
        convert = _Converter(tz)
        length, name, source, line, enforced, zone, kind = (
            self.length, self.name, self.source, self.line, self.enforced, self.zone, self.kind
        )  # fmt: skip
        count = 0
        for local in self.starts(lo, hi):
            count += 1  # noqa: SIM113 - the loop returns early, enumerate would not read better
            first = convert.instant(local)
            if count > MAX_OCCURRENCES:  # fail closed: the rest of the range is frozen
                yield Window(first, max(end, first + length), name, source, line, enforced, zone, kind)
                return
            last = convert.instant(local + length)
            if last > start and first < end and last > first:
                yield Window(first, last, name, source, line, enforced, zone, kind)


class _Converter:
    """``to_instant`` for many local times in one zone, in a hot loop.

    Remembers the current run of days with one fixed UTC offset (between two DST changes), so most
    conversions are two comparisons and two additions; days with a change go through ``to_instant``.
    """

    def __init__(self, zone: ZoneInfo | None) -> None:
        self.zone = zone
        self.lo = self.hi = _NAIVE_EPOCH
        self.base = _NAIVE_EPOCH

    def instant(self, local: datetime) -> datetime:
        if self.zone is None:
            return _UTC_EPOCH + (local - _NAIVE_EPOCH)
        if self.lo <= local < self.hi:
            return _UTC_EPOCH + (local - self.base)
        for lo, hi, offset in _plain_runs(self.zone, local.year):
            if lo <= local < hi:
                self.lo, self.hi, self.base = lo, hi, _NAIVE_EPOCH + offset
                return _UTC_EPOCH + (local - self.base)
        return to_instant(local, self.zone)


@lru_cache(maxsize=1024)
def _plain_runs(zone: ZoneInfo, year: int) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """Runs of whole local days in ``year`` with one unchanging UTC offset: ``(first midnight, end, offset)``."""
    runs: list[tuple[datetime, datetime, timedelta]] = []
    day = date(year, 1, 1)
    one = timedelta(days=1)
    while day.year == year:
        offset = _plain_offset(zone, day)
        if offset is not None:
            midnight = datetime.combine(day, time())
            if runs and runs[-1][1] == midnight and runs[-1][2] == offset:
                runs[-1] = (runs[-1][0], midnight + one, offset)
            else:
                runs.append((midnight, midnight + one, offset))
        day += one
    return tuple(runs)


def _minus(instant: datetime, delta: timedelta) -> datetime:
    """``instant - delta``, or the earliest datetime when that is before year 1."""
    try:
        return instant - delta
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def _naive(instant: datetime, tz: ZoneInfo | None) -> datetime:
    return instant.astimezone(tz or UTC).replace(tzinfo=None)


def _bounded(merged: Iterator[Window], end: datetime) -> Iterator[Window]:
    """The first ``MAX_WINDOWS_PER_QUERY`` windows of ``merged`` (in order of start), then one enforced
    ``capped`` window from the next start to ``end``: every window before it is complete, the rest is frozen."""
    for count, window in enumerate(merged):
        if count >= MAX_WINDOWS_PER_QUERY:
            yield Window(
                window.start, max(end, window.end), CAPPED_NAME, "freeze calendar", None, True, "UTC", "capped"
            )
            return
        yield window


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
        ordered = tuple(sorted(fixed, key=attrgetter("start", "end", "name")))
        longest = max((w.end - w.start for w in ordered), default=timedelta(0))
        return Calendar(ordered, tuple(recurring), tuple(w.start for w in ordered), longest)

    def __bool__(self) -> bool:
        return bool(self.fixed or self.recurring)

    def windows(self, start: datetime, end: datetime) -> list[Window]:
        """Every window overlapping ``[start, end)``, sorted by start."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        lo = bisect.bisect_left(self._starts, _minus(start, self._longest))
        hi = bisect.bisect_left(self._starts, end)
        found = [w for w in self.fixed[lo:hi] if w.end > start]
        found.extend(_bounded(heapq.merge(*(s.windows(start, end) for s in self.recurring), key=window_key), end))
        found.sort(key=window_key)
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
        longest = timedelta(0)
        merged: list[tuple[datetime, datetime]] = []
        last_start = last_end = None
        for window in windows:
            w_start, w_end = window.start, window.end
            if w_end - w_start > longest:  # noqa: PLR1730 - a comparison is cheaper than max() in this hot loop
                longest = w_end - w_start
            if not window.enforced:
                continue
            if last_end is not None and w_start <= last_end:
                if w_end > last_end:  # noqa: PLR1730 - see above
                    last_end = w_end
            else:
                if last_end is not None and last_start is not None:
                    merged.append((last_start, last_end))
                last_start, last_end = w_start, w_end
        if last_end is not None and last_start is not None:
            merged.append((last_start, last_end))
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
        lo = bisect.bisect_left(self._starts, _minus(instant, self._longest))
        hi = bisect.bisect_right(self._starts, instant)
        return [w for w in self.windows[lo:hi] if w.end > instant]

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


def next_windows(
    calendar: Calendar, instant: datetime, count: int, horizon: timedelta = DEFAULT_HORIZON
) -> list[Window]:
    """The first ``count`` windows that start after ``instant`` (within ``horizon``), in order of start."""
    instant = instant.astimezone(UTC)
    span = timedelta(days=7)
    while True:
        span = min(span, horizon)
        found = [w for w in calendar.windows(instant, instant + span) if w.start > instant]
        if len(found) >= count or span >= horizon:
            return found[:count]
        span *= 4
