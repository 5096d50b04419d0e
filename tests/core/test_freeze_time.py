"""Freeze windows in time: DST in three zones, week wrap, overlaps, a leap day, edges to the second.

Every expected instant below was worked out by hand from the zone rules (comments give the arithmetic).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from changebot.core.freeze.gate import read_calendar
from changebot.core.freeze.windows import Timeline, open_at, to_instant
from tests.support.freezekit import context


def Z(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "local", "expected", "why"),
    [
        ("America/Denver", "2025-06-01T12:00", "2025-06-01T18:00Z", "MDT is UTC-6"),
        ("America/Denver", "2025-03-09T02:30", "2025-03-09T09:00Z", "gap 02:00 MST->03:00 MDT: the jump, 09:00Z"),
        ("America/Denver", "2025-11-02T01:30", "2025-11-02T07:30Z", "01:30 twice: first is MDT (-6)"),
        ("Europe/Berlin", "2025-03-30T02:00", "2025-03-30T01:00Z", "gap 02:00 CET->03:00 CEST at 01:00Z"),
        ("Europe/Berlin", "2025-10-26T02:30", "2025-10-26T00:30Z", "02:30 twice: first is CEST (+2)"),
        ("Australia/Lord_Howe", "2025-10-05T02:15", "2025-10-04T15:30Z", "gap 02:00->02:30 (+10:30->+11)"),
        ("Australia/Lord_Howe", "2025-04-06T01:45", "2025-04-05T14:45Z", "01:30-02:00 twice: first is +11"),
        ("Australia/Lord_Howe", "2025-04-06T02:00", "2025-04-05T15:30Z", "after the fold: +10:30"),
    ],
)
def test_local_times_to_instants(zone: str, local: str, expected: str, why: str) -> None:
    assert to_instant(datetime.fromisoformat(local), ZoneInfo(zone)) == Z(expected), why


RELEASE_POLICY = """\
default_branch: main
freeze:
  enabled: true
  timezone: {zone}
  windows:
    - name: w
      rrule: "{rule}"
{extra}"""


def _timeline(files: dict[str, str], now: str) -> Timeline:
    calendar, findings, _ = read_calendar(context(files, now))
    assert findings == []
    start = Z(now)
    return Timeline.build(calendar, start - timedelta(days=400), start + timedelta(days=400))


# (zone, rrule, duration, instant, frozen?, open_at or None when open)
CASES = [
    # Denver weekend as whole local days. DST starts Sun 2025-03-09: Sat 00:00 MST = 03-08T07:00Z; Sunday lasts
    # 23 h and ends Mon 00:00 MDT = 03-10T06:00Z.
    ("America/Denver", "FREQ=WEEKLY;BYDAY=SA,SU", None, "2025-03-08T06:59:59Z", False, None),
    ("America/Denver", "FREQ=WEEKLY;BYDAY=SA,SU", None, "2025-03-08T07:00:00Z", True, "2025-03-10T06:00:00Z"),
    ("America/Denver", "FREQ=WEEKLY;BYDAY=SA,SU", None, "2025-03-10T05:59:59Z", True, "2025-03-10T06:00:00Z"),
    ("America/Denver", "FREQ=WEEKLY;BYDAY=SA,SU", None, "2025-03-10T06:00:00Z", False, None),
    # DST ends Sun 2025-11-02: Sat 00:00 MDT = 11-01T06:00Z; Sunday lasts 25 h to Mon 00:00 MST = 11-03T07:00Z.
    ("America/Denver", "FREQ=WEEKLY;BYDAY=SA,SU", None, "2025-11-01T06:00:00Z", True, "2025-11-03T07:00:00Z"),
    ("America/Denver", "FREQ=WEEKLY;BYDAY=SA,SU", None, "2025-11-03T06:30:00Z", True, "2025-11-03T07:00:00Z"),
    ("America/Denver", "FREQ=WEEKLY;BYDAY=SA,SU", None, "2025-11-03T07:00:00Z", False, None),
    # Denver 02:30 for 1 h on the spring-forward day: 02:30 does not exist -> starts at the jump, 09:00Z; ends
    # 03:30 MDT = 09:30Z.
    ("America/Denver", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "PT1H", "2025-03-09T08:59:59Z", False, None),
    ("America/Denver", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "PT1H", "2025-03-09T09:00:00Z", True, "2025-03-09T09:30:00Z"),
    ("America/Denver", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "PT1H", "2025-03-09T09:30:00Z", False, None),
    # the day before: 02:30 MST = 09:30Z to 03:30 MST = 10:30Z
    ("America/Denver", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "PT1H", "2025-03-08T10:29:59Z", True, "2025-03-08T10:30:00Z"),
    # Denver 01:30 for 1 h on the fall-back day: 01:30 is ambiguous -> the first (MDT) = 07:30Z; ends 02:30 MST =
    # 09:30Z, so that night the window lasts 2 h of real time.
    ("America/Denver", "FREQ=DAILY;BYHOUR=1;BYMINUTE=30", "PT1H", "2025-11-02T07:29:59Z", False, None),
    ("America/Denver", "FREQ=DAILY;BYHOUR=1;BYMINUTE=30", "PT1H", "2025-11-02T07:30:00Z", True, "2025-11-02T09:30:00Z"),
    ("America/Denver", "FREQ=DAILY;BYHOUR=1;BYMINUTE=30", "PT1H", "2025-11-02T09:29:59Z", True, "2025-11-02T09:30:00Z"),
    # Berlin nightly 22:00-06:00. Spring forward 2025-03-30: 22:00 CET = 03-29T21:00Z to 06:00 CEST = 03-30T04:00Z.
    ("Europe/Berlin", "FREQ=DAILY;BYHOUR=22", "PT8H", "2025-03-29T20:59:59Z", False, None),
    ("Europe/Berlin", "FREQ=DAILY;BYHOUR=22", "PT8H", "2025-03-29T21:00:00Z", True, "2025-03-30T04:00:00Z"),
    ("Europe/Berlin", "FREQ=DAILY;BYHOUR=22", "PT8H", "2025-03-30T03:59:59Z", True, "2025-03-30T04:00:00Z"),
    ("Europe/Berlin", "FREQ=DAILY;BYHOUR=22", "PT8H", "2025-03-30T04:00:00Z", False, None),
    # Fall back 2025-10-26: 22:00 CEST = 10-25T20:00Z to 06:00 CET = 10-26T05:00Z (9 h).
    ("Europe/Berlin", "FREQ=DAILY;BYHOUR=22", "PT8H", "2025-10-25T20:00:00Z", True, "2025-10-26T05:00:00Z"),
    ("Europe/Berlin", "FREQ=DAILY;BYHOUR=22", "PT8H", "2025-10-26T04:59:59Z", True, "2025-10-26T05:00:00Z"),
    ("Europe/Berlin", "FREQ=DAILY;BYHOUR=22", "PT8H", "2025-10-26T05:00:00Z", False, None),
    # Lord Howe, whole Sundays. DST starts Sun 2025-10-05 (02:00 -> 02:30): 00:00 +10:30 = 10-04T13:30Z to Mon
    # 00:00 +11 = 10-05T13:00Z (23.5 h).
    ("Australia/Lord_Howe", "FREQ=WEEKLY;BYDAY=SU", None, "2025-10-04T13:29:59Z", False, None),
    ("Australia/Lord_Howe", "FREQ=WEEKLY;BYDAY=SU", None, "2025-10-04T13:30:00Z", True, "2025-10-05T13:00:00Z"),
    ("Australia/Lord_Howe", "FREQ=WEEKLY;BYDAY=SU", None, "2025-10-05T13:00:00Z", False, None),
    # DST ends Sun 2025-04-06 (02:00 -> 01:30): 00:00 +11 = 04-05T13:00Z to Mon 00:00 +10:30 = 04-06T13:30Z.
    ("Australia/Lord_Howe", "FREQ=WEEKLY;BYDAY=SU", None, "2025-04-06T13:29:59Z", True, "2025-04-06T13:30:00Z"),
    ("Australia/Lord_Howe", "FREQ=WEEKLY;BYDAY=SU", None, "2025-04-06T13:30:00Z", False, None),
    # Lord Howe 02:15 for 1 h on 2025-10-05 does not exist: starts at the jump (02:00 +10:30 = 10-04T15:30Z),
    # ends 03:15 +11 = 10-04T16:15Z.
    ("Australia/Lord_Howe", "FREQ=DAILY;BYHOUR=2;BYMINUTE=15", "PT1H", "2025-10-04T15:29:59Z", False, None),
    (
        "Australia/Lord_Howe",
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=15",
        "PT1H",
        "2025-10-04T15:30:00Z",
        True,
        "2025-10-04T16:15:00Z",
    ),
    # Leap day, whole UTC day, only in leap years: 2028-02-29T00:00Z to 2028-03-01T00:00Z.
    ("UTC", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", None, "2027-02-28T12:00:00Z", False, None),
    ("UTC", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", None, "2027-03-01T00:00:00Z", False, None),
    ("UTC", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", None, "2028-02-29T00:00:00Z", True, "2028-03-01T00:00:00Z"),
    ("UTC", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", None, "2028-02-29T23:59:59Z", True, "2028-03-01T00:00:00Z"),
    ("UTC", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", None, "2028-03-01T00:00:00Z", False, None),
]


@pytest.mark.parametrize(("zone", "rule", "length", "now", "frozen", "opens"), CASES)
def test_recurring_windows_keep_local_time(
    zone: str, rule: str, length: str | None, now: str, frozen: bool, opens: str | None
) -> None:
    extra = f"      duration: {length}\n" if length else ""
    timeline = _timeline({"release-policy.yml": RELEASE_POLICY.format(zone=zone, rule=rule, extra=extra)}, now)
    assert timeline.frozen(Z(now)) is frozen
    assert timeline.open_at(Z(now)) == (Z(opens) if opens else Z(now))


PIPELINE_WEEKLY = """\
pipeline: {name: p, steps: [{id: a, run: x}]}
freeze_windows:
  - name: weekends
    start: "FRI 17:00 UTC"
    end: "MON 09:00 UTC"
"""

# Weekly FRI 17:00 -> MON 09:00 UTC wraps the week (and, at 2027-12-31, the year).
WEEKLY = [
    ("2025-12-19T16:59:59Z", False, None),  # Friday, one second before
    ("2025-12-19T17:00:00Z", True, "2025-12-22T09:00:00Z"),
    ("2025-12-21T12:00:00Z", True, "2025-12-22T09:00:00Z"),  # Sunday
    ("2025-12-22T08:59:59Z", True, "2025-12-22T09:00:00Z"),
    ("2025-12-22T09:00:00Z", False, None),  # Monday 09:00: the end is exclusive
    ("2028-01-01T12:00:00Z", True, "2028-01-03T09:00:00Z"),  # Fri 2027-12-31 17:00 -> Mon 2028-01-03 09:00
]


@pytest.mark.parametrize(("now", "frozen", "opens"), WEEKLY)
def test_weekly_window_wraps_the_week(now: str, frozen: bool, opens: str | None) -> None:
    timeline = _timeline({".maestro/pipeline.yaml": PIPELINE_WEEKLY}, now)
    assert timeline.frozen(Z(now)) is frozen
    assert timeline.open_at(Z(now)) == (Z(opens) if opens else Z(now))


WEEKLY_DENVER = """\
pipeline: {name: p, steps: [{id: a, run: x}]}
freeze_windows:
  - {name: weekends, start: "FRI 17:00 America/Denver", end: "MON 09:00 America/Denver"}
"""


def test_weekly_local_window_keeps_wall_clock_across_dst() -> None:
    # Fri 2025-03-07 17:00 MST = 03-08T00:00Z; Mon 2025-03-10 09:00 MDT = 15:00Z (the weekend lost an hour).
    timeline = _timeline({".maestro/pipeline.yaml": WEEKLY_DENVER}, "2025-03-09T12:00:00Z")
    (window,) = timeline.active(Z("2025-03-09T12:00:00Z"))
    assert (window.start, window.end) == (Z("2025-03-08T00:00:00Z"), Z("2025-03-10T15:00:00Z"))
    assert window.to_json()["start"] == "2025-03-07T17:00:00-07:00"
    assert window.to_json()["end"] == "2025-03-10T09:00:00-06:00"


OVERLAP = {
    ".maestro/pipeline.yaml": PIPELINE_WEEKLY + "  - {name: holidays, file: .maestro/freeze_windows.json}\n",
    ".maestro/freeze_windows.json": """[
  {"name": "EOQ freeze", "from": "2025-12-15T00:00:00Z", "to": "2026-01-05T00:00:00Z"},
  {"name": "a", "from": "2026-02-02T10:00:00Z", "to": "2026-02-02T12:00:00Z"},
  {"name": "b", "from": "2026-02-02T11:00:00Z", "to": "2026-02-02T14:00:00Z"},
  {"name": "c", "from": "2026-02-02T14:00:00Z", "to": "2026-02-02T15:00:00Z"}
]""",
}


@pytest.mark.parametrize(
    ("now", "names", "opens"),
    [
        # EOQ ends Mon 2026-01-05 00:00Z but the weekend from Fri 01-02 17:00Z holds it until 09:00Z
        ("2025-12-20T16:00:00Z", ["EOQ freeze", "weekends"], "2026-01-05T09:00:00Z"),
        ("2026-01-05T00:00:00Z", ["weekends"], "2026-01-05T09:00:00Z"),
        # a [10,12) overlaps b [11,14), which touches c [14,15): open at 15:00
        ("2026-02-02T10:30:00Z", ["a"], "2026-02-02T15:00:00Z"),
        ("2026-02-02T11:30:00Z", ["a", "b"], "2026-02-02T15:00:00Z"),
        ("2026-02-02T14:00:00Z", ["c"], "2026-02-02T15:00:00Z"),
    ],
)
def test_overlapping_windows_open_after_the_last(now: str, names: list[str], opens: str) -> None:
    calendar, findings, _ = read_calendar(context(OVERLAP, now))
    assert findings == []
    timeline = Timeline.build(calendar, Z(now), Z(now) + timedelta(days=400))
    assert sorted(w.name for w in timeline.active(Z(now))) == names
    assert open_at(calendar, Z(now)) == Z(opens)


def test_mixed_offsets_compare_instants_not_strings() -> None:
    files = {
        ".maestro/freeze_windows.json": '[{"name": "x", "from": "2025-12-15T00:00:00+02:00", '
        '"to": "2025-12-15T01:00:00Z"}]'
    }
    calendar, _, _ = read_calendar(context(files, "2025-12-14T00:00:00Z"))
    timeline = Timeline.build(calendar, Z("2025-12-14T00:00:00Z"), Z("2025-12-16T00:00:00Z"))
    # 2025-12-14T23:00:00-01:00 is 2025-12-15T00:00Z, inside [12-14T22:00Z, 12-15T01:00Z); as strings it sorts
    # before "2025-12-15T00:00:00+02:00" and the old checker said "open".
    assert timeline.frozen(datetime.fromisoformat("2025-12-14T23:00:00-01:00"))
    # and the end is exclusive: the old checker's inclusive "<=" froze this instant too
    assert not timeline.frozen(Z("2025-12-15T01:00:00Z"))
    assert timeline.frozen(Z("2025-12-15T00:59:59Z"))


def test_local_start_end_and_code_freeze_instants() -> None:
    files = {
        "release-policy.yml": """\
freeze:
  timezone: America/Denver
  windows:
    - {name: "New Year freeze", start: "2025-12-31T00:00:00", end: "2026-01-02T23:59:59"}
""",
        ".maestro/plan-rc1.yaml": """\
plan: rc1
window: { start: 2025-09-15, end: 2025-09-29, tz: America/Denver }
freeze:
  code_freeze: 2025-09-27T17:00:00-06:00
""",
    }
    calendar, findings, _ = read_calendar(context(files, "2025-09-01T00:00:00Z"))
    assert findings == []
    windows = calendar.windows(Z("2025-01-01T00:00:00Z"), Z("2027-01-01T00:00:00Z"))
    got = [(w.name, w.start, w.end, w.source, w.line) for w in windows]
    assert got == [
        # code freeze 17:00-06:00 = 23:00Z; the window's end date 2025-09-29 is inclusive: until 09-30 00:00 MDT
        ("code freeze (rc1)", Z("2025-09-27T23:00:00Z"), Z("2025-09-30T06:00:00Z"), ".maestro/plan-rc1.yaml", 4),
        # local to Denver (MST, -7): 00:00 -> 07:00Z; 23:59:59 -> 06:59:59Z next day
        ("New Year freeze", Z("2025-12-31T07:00:00Z"), Z("2026-01-03T06:59:59Z"), "release-policy.yml", 4),
    ]


def test_cron_windows_from_settings() -> None:
    files = {
        ".maestro/changebot.yaml": """\
freeze:
  calendars:
    - {name: nightly, cron: "0 22 * * *", duration: PT8H, timezone: Europe/Berlin}
    - {name: listed, cron: "0 12 * * *", duration: 30m, active: false}
"""
    }
    calendar, findings, _ = read_calendar(context(files, "2025-10-25T00:00:00Z"))
    assert findings == []
    timeline = Timeline.build(calendar, Z("2025-10-25T00:00:00Z"), Z("2025-10-28T00:00:00Z"))
    # same arithmetic as the Berlin rrule: 22:00 CEST = 20:00Z to 06:00 CET = 05:00Z
    assert timeline.open_at(Z("2025-10-25T20:00:00Z")) == Z("2025-10-26T05:00:00Z")
    (listed,) = timeline.active(Z("2025-10-26T12:10:00Z"))
    assert (listed.name, listed.enforced, listed.end) == ("listed", False, Z("2025-10-26T12:30:00Z"))
    assert not timeline.frozen(Z("2025-10-26T12:10:00Z"))


def test_rrule_expansion_is_bounded_to_the_query() -> None:
    # a minutely rule 30 years after its anchor still answers at once (DTSTART moves forward by whole periods)
    files = {
        "release-policy.yml": RELEASE_POLICY.format(
            zone="UTC", rule="FREQ=MINUTELY;INTERVAL=7", extra="      duration: PT1M\n"
        )
    }
    calendar, _, _ = read_calendar(context(files, "2030-01-01T00:00:00Z"))
    windows = calendar.windows(Z("2030-01-01T00:00:00Z"), Z("2030-01-01T01:00:00Z"))
    # anchor 2000-01-03T00:00Z; 10,956 days = 15,776,640 minutes = 7 * 2,253,805 + 5, so occurrences fall 2
    # minutes after each multiple of 7 from midnight: 00:02, 00:09, ..., 00:58 -> 9 of them in the hour
    assert [w.start for w in windows[:2]] == [Z("2030-01-01T00:02:00Z"), Z("2030-01-01T00:09:00Z")]
    assert len(windows) == 9


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;BYDAY=SA,SU",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=17",
        "FREQ=DAILY;BYHOUR=22",
        "FREQ=DAILY;INTERVAL=3;BYDAY=MO,WE,FR;BYHOUR=9,17;BYMINUTE=30",
        "FREQ=HOURLY;INTERVAL=5;BYDAY=TU",
        "FREQ=MINUTELY;INTERVAL=7",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=WEEKLY;COUNT=5;BYDAY=MO",
        "FREQ=DAILY;UNTIL=20270110T000000",
    ],
)
def test_bounded_expansion_matches_dateutil(rule: str) -> None:
    from dateutil.rrule import rrulestr  # noqa: PLC0415 - the reference implementation

    from changebot.core.freeze.recurrence import RRULE_ANCHOR, rrule_starts  # noqa: PLC0415

    parsed = rrulestr(rule, dtstart=RRULE_ANCHOR)
    lo, hi = datetime(2026, 12, 29, 13, 0), datetime(2027, 1, 19, 8, 0)
    if "MINUTELY" in rule or "HOURLY" in rule:  # dateutil itself walks from 2000: keep the reference cheap
        lo, hi = datetime(2000, 2, 27, 13, 0), datetime(2000, 3, 2, 8, 0)
    expected = parsed.between(lo, hi, inc=True)
    assert list(rrule_starts(parsed)(lo, hi)) == expected


def test_next_windows_in_order() -> None:
    from changebot.core.freeze.windows import next_windows  # noqa: PLC0415

    calendar, _, _ = read_calendar(context(OVERLAP, "2026-01-01T00:00:00Z"))
    found = next_windows(calendar, Z("2026-01-01T00:00:00Z"), 4)
    # weekends start every Friday 17:00Z: 01-02, 01-09, 01-16, 01-23 (EOQ started before, so it is not "next")
    assert [(w.name, w.start) for w in found] == [
        ("weekends", Z("2026-01-02T17:00:00Z")),
        ("weekends", Z("2026-01-09T17:00:00Z")),
        ("weekends", Z("2026-01-16T17:00:00Z")),
        ("weekends", Z("2026-01-23T17:00:00Z")),
    ]
    assert next_windows(calendar, Z("2026-01-01T00:00:00Z"), 0) == []
