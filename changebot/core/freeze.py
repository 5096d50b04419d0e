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
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice, takewhile
from operator import attrgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

#: Years ``now`` may fall in: calendars are expanded up to ``DEFAULT_HORIZON`` either side of it.
SUPPORTED_YEARS = range(1900, 9000)
#: Most occurrences one recurring source yields in one query.
MAX_OCCURRENCES = 200_000
#: Most occurrences kept as one period's pattern of a periodic rule.
MAX_PATTERN = 10_000
#: Most occurrences a recurring window may have in one week (one every 5 minutes); denser ones are refused.
MAX_PER_WEEK = 2016
#: How far ahead ``open_at`` looks before saying "not within the horizon" (None).
DEFAULT_HORIZON = timedelta(days=400)
#: The DTSTART of a rule that has none: a Monday at local midnight (only the phase of INTERVAL>1 rules and the
#: weekday/day-of-month of rules without BYDAY/BYMONTHDAY depend on it).
RRULE_ANCHOR = datetime(2000, 1, 3)


_NAIVE_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_of(naive_utc: datetime) -> datetime:
    """A naive datetime that holds UTC wall time -> the aware instant (faster than ``replace``)."""
    return _UTC_EPOCH + (naive_utc - _NAIVE_EPOCH)


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


def rrule_starts(rule: Any) -> Callable[[datetime, datetime], Iterator[datetime]]:
    """Local start times of a dateutil ``rrule`` (naive, local), bounded to the asked range.

    Rules that repeat exactly in wall-clock time (``_period``) are expanded by dateutil over one period and the
    pattern is repeated by adding whole periods; every other rule is iterated by dateutil from a DTSTART moved
    up to the range. Both give dateutil's occurrences (a test compares them).
    """
    period = _period(rule)

    def starts(lo: datetime, hi: datetime) -> Iterator[datetime]:
        if period is None:
            yield from _walk(rule, lo, hi)
            return
        first: datetime = rule._dtstart
        steps = max(0, (lo - first) // period)
        block = first + steps * period
        shifted = rule.replace(dtstart=block)
        within = takewhile(lambda o: o < block + period, shifted.xafter(block, inc=True))
        pattern = [o - block for o in islice(within, MAX_PATTERN + 1)]
        if len(pattern) > MAX_PATTERN:  # too dense to keep in memory: let dateutil walk it (still capped)
            yield from _walk(rule, lo, hi)
            return
        if not pattern:
            return
        while block <= hi:
            for offset in pattern:
                occurrence = block + offset
                if occurrence > hi:
                    return
                if occurrence >= lo:
                    yield occurrence
            block += period

    return starts


def _walk(rule: Any, lo: datetime, hi: datetime) -> Iterator[datetime]:
    for occurrence in _advance(rule, lo).xafter(lo, inc=True):
        if occurrence > hi:
            return
        yield occurrence


def _period(rule: Any) -> timedelta | None:
    """The wall-clock period after which ``rule`` repeats exactly, when there is one.

    DAILY/WEEKLY and finer rules with no COUNT, UNTIL or calendar-based filters (BYMONTH, BYMONTHDAY,
    BYYEARDAY, BYWEEKNO, BYSETPOS, BYEASTER) repeat every lcm(interval x unit, one week): their only filters
    are the weekday and the time of day.
    """
    from dateutil.rrule import DAILY, HOURLY, MINUTELY, SECONDLY, WEEKLY  # noqa: PLC0415 - lazy: fast start-up

    units = {WEEKLY: 604_800, DAILY: 86_400, HOURLY: 3_600, MINUTELY: 60, SECONDLY: 1}
    if rule._freq not in units or rule._count is not None or rule._until is not None:
        return None
    calendar_filters = (rule._bymonth, rule._bymonthday, rule._bynmonthday, rule._byyearday, rule._byweekno)
    if any(calendar_filters) or rule._bysetpos or getattr(rule, "_byeaster", None) or rule._bynweekday:
        return None
    seconds = units[rule._freq] * rule._interval
    return timedelta(seconds=math.lcm(seconds, 604_800))


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


def rrule_problem(rule: Any) -> str | None:
    """Why dateutil could not expand ``rule`` in bounded time, or ``None`` when it can.

    dateutil walks period by period until it finds an occurrence, up to year 9999: a rule that never matches
    (``BYMONTH=2;BYMONTHDAY=30``) would walk ~8,000 years on every query. Rules that are not periodic in
    wall-clock time are therefore probed once, over one 400-year Gregorian cycle (weekdays and leap years
    repeat every 146,097 days) placed near year 9999, keeping the rule's INTERVAL phase. Sub-daily rules with
    calendar filters cannot be probed cheaply and are refused; so is a COUNT above ``MAX_PATTERN``.
    """
    from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY  # noqa: PLC0415 - lazy: keeps start-up fast

    if rule._count is not None and rule._count > MAX_PATTERN:
        return f"COUNT above {MAX_PATTERN:,} is not supported"
    filters = (rule._bymonth, rule._bymonthday, rule._bynmonthday, rule._byyearday, rule._byweekno)
    filtered = any(filters) or bool(rule._bysetpos) or bool(getattr(rule, "_byeaster", None))
    if rule._count is None and rule._until is None and _period(rule) is not None:
        return None
    freq, interval = rule._freq, rule._interval
    if freq in (MONTHLY, YEARLY):
        unit, cycle = (12 * interval if freq == YEARLY else interval), 4800  # months
    elif freq in (DAILY, WEEKLY):
        unit, cycle = (7 * interval if freq == WEEKLY else interval), 146_097  # days
    elif filtered:
        return "HOURLY, MINUTELY and SECONDLY rules cannot use BYMONTH, BYMONTHDAY, BYYEARDAY, BYWEEKNO or BYSETPOS"
    else:
        return None
    step_years = 400 * (unit // math.gcd(unit, cycle))
    start: datetime = rule._dtstart
    cycles = max(0, (9999 - 401 - start.year) // step_years)
    probe_start = start.replace(year=start.year + cycles * step_years)
    probe = rule.replace(dtstart=probe_start, count=None, until=None)
    if probe.after(probe_start, inc=True) is None:
        return "it has no occurrence at all"
    return None


def too_frequent(starts: Callable[[datetime, datetime], Iterator[datetime]], anchor: datetime) -> bool:
    """True when ``starts`` yields more than ``MAX_PER_WEEK`` occurrences in the week from ``anchor``."""
    return sum(1 for _ in islice(starts(anchor, anchor + timedelta(weeks=1)), MAX_PER_WEEK + 1)) > MAX_PER_WEEK


def cron_starts(expression: str) -> Callable[[datetime, datetime], Iterator[datetime]]:
    """Local start times of a cron expression (croniter over naive local time), bounded to the asked range."""

    def starts(lo: datetime, hi: datetime) -> Iterator[datetime]:
        from croniter import croniter  # noqa: PLC0415 - lazy: keeps start-up fast

        it = croniter(expression, lo - timedelta(seconds=1))
        while True:
            try:
                occurrence: datetime = it.get_next(datetime)
            except ValueError:  # croniter's "no next date within its search limit": nothing more to yield
                return
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
        for source in self.recurring:
            found.extend(source.windows(start, end))
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


def enforced_only(windows: Sequence[Window]) -> list[Window]:
    """The enforced windows of a list."""
    return [w for w in windows if w.enforced]


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
