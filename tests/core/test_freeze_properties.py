"""Properties of freeze windows across DST: local wall-clock times become instants that never go backwards,
windows keep their local times, and every window's end is exclusive (open at ``end``, frozen just before)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from changebot.core.freeze.gate import read_calendar
from changebot.core.freeze.windows import Timeline, Window, to_instant
from tests.support.freezekit import context

ZONES = ["America/Denver", "Europe/Berlin", "Australia/Lord_Howe"]
#: Local days on which the clocks change (spring forward and fall back) in 2025 and 2026.
DST_DAYS = {
    "America/Denver": [date(2025, 3, 9), date(2025, 11, 2), date(2026, 3, 8), date(2026, 11, 1)],
    "Europe/Berlin": [date(2025, 3, 30), date(2025, 10, 26), date(2026, 3, 29), date(2026, 10, 25)],
    "Australia/Lord_Howe": [date(2025, 4, 6), date(2025, 10, 5), date(2026, 4, 5), date(2026, 10, 4)],
}
TICK = timedelta(microseconds=1)


@st.composite
def local_times(draw: st.DrawFn, zone: str) -> datetime:
    """A naive local time, mostly within a day of a DST change (at second resolution, gaps and folds included)."""
    day = draw(st.sampled_from(DST_DAYS[zone]) | st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)))
    seconds = draw(st.integers(min_value=-12 * 3600, max_value=36 * 3600))
    return datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)


@st.composite
def zone_and_two_local_times(draw: st.DrawFn) -> tuple[str, datetime, datetime]:
    zone = draw(st.sampled_from(ZONES))
    first = draw(local_times(zone))
    later = first + timedelta(seconds=draw(st.integers(min_value=0, max_value=4 * 3600)))
    return zone, first, later


@settings(max_examples=300, deadline=None)
@given(zone_and_two_local_times())
@example(("America/Denver", datetime(2025, 3, 9, 1, 59, 59), datetime(2025, 3, 9, 2, 30)))  # into the gap
@example(("America/Denver", datetime(2025, 11, 2, 1, 30), datetime(2025, 11, 2, 1, 59, 59)))  # inside the fold
@example(("Australia/Lord_Howe", datetime(2025, 4, 6, 1, 59, 59), datetime(2025, 4, 6, 2, 0)))  # out of the fold
@example(("Europe/Berlin", datetime(2025, 3, 30, 2, 59, 59), datetime(2025, 3, 30, 3, 0)))  # out of the gap
def test_later_local_times_are_never_earlier_instants(case: tuple[str, datetime, datetime]) -> None:
    zone, first, later = case
    tz = ZoneInfo(zone)
    a, b = to_instant(first, tz), to_instant(later, tz)
    assert a <= b
    # The instant reads the local time on the zone's clock, or (in a gap) the first time after it.
    assert a.astimezone(tz).replace(tzinfo=None) >= first
    assert (a - timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None) < first


@st.composite
def daily_windows(draw: st.DrawFn) -> tuple[str, datetime, int, int]:
    """A zone, an instant near a DST change, and a daily window at ``hour:minute`` lasting ``minutes``."""
    zone = draw(st.sampled_from(ZONES))
    around = draw(local_times(zone)).replace(tzinfo=UTC)
    start = draw(st.integers(min_value=0, max_value=24 * 60 - 1))
    minutes = draw(st.integers(min_value=1, max_value=22 * 60))  # shorter than the shortest day: no overlaps
    return zone, around, start, minutes


@settings(max_examples=60, deadline=None)
@given(daily_windows())
@example(("America/Denver", datetime(2025, 3, 9, 12, tzinfo=UTC), 2 * 60 + 30, 60))  # starts in the gap
@example(("America/Denver", datetime(2025, 11, 2, 12, tzinfo=UTC), 60 + 30, 60))  # starts in the fold
@example(("Europe/Berlin", datetime(2025, 3, 30, 12, tzinfo=UTC), 22 * 60, 8 * 60))
@example(("Australia/Lord_Howe", datetime(2025, 10, 5, 12, tzinfo=UTC), 2 * 60 + 15, 60))
def test_daily_windows_keep_local_time_and_end_exclusively(case: tuple[str, datetime, int, int]) -> None:
    zone, around, start, minutes = case
    policy = (
        f"freeze:\n  timezone: {zone}\n  windows:\n    - name: nightly\n"
        f'      rrule: "FREQ=DAILY;BYHOUR={start // 60};BYMINUTE={start % 60}"\n      duration: PT{minutes}M\n'
    )
    calendar, findings, _ = read_calendar(context({"release-policy.yml": policy}, around.isoformat()))
    assert findings == []
    timeline = Timeline.build(calendar, around - timedelta(days=3), around + timedelta(days=3))
    windows: list[Window] = [w for w in timeline.windows if w.start >= timeline.start and w.end < timeline.end]
    assert len(windows) >= 4
    tz = ZoneInfo(zone)
    for before, after in pairwise(windows):
        assert before.end < after.start  # in order, and never touching: each night's window is its own
    for window in windows:
        local = window.start.astimezone(tz).replace(tzinfo=None)
        day = local.date() if local.time() >= _clock(start) else local.date() - timedelta(days=1)
        wall = datetime(day.year, day.month, day.day) + timedelta(minutes=start)
        assert window.start == to_instant(wall, tz)
        assert window.end == to_instant(wall + timedelta(minutes=minutes), tz)
        assert timeline.frozen(window.start) and timeline.active(window.start) == [window]
        assert timeline.frozen(window.end - TICK) and timeline.active(window.end - TICK) == [window]
        assert not timeline.frozen(window.end) and timeline.active(window.end) == []
        assert not timeline.frozen(window.start - TICK)
        assert timeline.open_at(window.start) == window.end
        assert not window.covers(window.end) and window.covers(window.end - TICK)


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)
