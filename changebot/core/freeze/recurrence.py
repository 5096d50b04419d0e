"""Recurrence rules and cron expressions -> local start times, expanded only over the asked range.

dateutil defines what an RFC 5545 rule means and croniter what a cron expression means; this module only
bounds the work:

* rules that repeat exactly in wall-clock time (DAILY/WEEKLY and finer with no COUNT, UNTIL or calendar
  filters) are expanded by dateutil over one period and the pattern is repeated by adding whole periods;
* other rules start from a DTSTART moved forward by whole periods to just before the range (not with COUNT);
* ``rrule_problem`` refuses rules dateutil could not expand in bounded time (never matching, COUNT too large,
  sub-daily rules with calendar filters), and ``too_frequent`` sources that start more than ``MAX_PER_WEEK``
  windows a week.

Start times are naive and local: ``changebot.core.freeze.windows`` turns them into instants. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import islice, takewhile
from typing import Any

#: Most occurrences kept as one period's pattern of a periodic rule.
MAX_PATTERN = 10_000
#: Most occurrences a recurring window may have in one week (one every 5 minutes); denser ones are refused.
MAX_PER_WEEK = 2016
#: The DTSTART of a rule that has none: a Monday at local midnight (only the phase of INTERVAL>1 rules and the
#: weekday/day-of-month of rules without BYDAY/BYMONTHDAY depend on it).
RRULE_ANCHOR = datetime(2000, 1, 3)


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
    calendar filters cannot be probed cheaply and are refused; so is a COUNT above ``MAX_PATTERN``. A rule that
    never fires (``COUNT=0``, an UNTIL before its start) is refused too: the README makes such rules errors.
    """
    from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY  # noqa: PLC0415 - lazy: keeps start-up fast

    if rule._count is not None and rule._count > MAX_PATTERN:
        return f"COUNT above {MAX_PATTERN:,} is not supported"
    if rule._count is not None and rule._count < 1:
        return f"COUNT={rule._count} means it never fires"
    until, first = rule._until, rule._dtstart
    if until is not None and (until.tzinfo is None) == (first.tzinfo is None) and until < first:
        return f"its UNTIL ({until.isoformat()}) is before its start ({first.isoformat()}): it never fires"
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
