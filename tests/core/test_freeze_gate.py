"""The freeze gate: fail, warn, pass and skipped, overrides, branches, and a finding for every bad calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from changebot.core.freeze.gate import FreezeDetail, freeze_gate
from changebot.model import GateId, Override, Status
from tests.support.freezekit import context
from tests.support.repos import CORPUS
from tests.support.required import require

WEEKLY = """\
pipeline: {name: p, steps: [{id: a, run: x}]}
freeze_windows:
  - name: weekends
    start: "FRI 17:00 UTC"
    end: "MON 09:00 UTC"
"""
FILES = {".maestro/pipeline.yaml": WEEKLY}


def test_no_calendar_is_skipped_not_passed() -> None:
    gate = freeze_gate(context({".maestro/pipeline.yaml": "pipeline: {steps: []}\n"}, "2025-12-20T12:00:00Z"), ())
    assert gate.status is Status.SKIPPED
    assert gate.summary.startswith("no freeze calendar in this repository")


def test_frozen_fails_naming_window_and_end() -> None:
    gate = freeze_gate(context(FILES, "2025-12-20T12:00:00Z", base_branch="main"), ())
    assert gate.status is Status.FAIL
    (finding,) = gate.findings
    assert (finding.code, finding.path, finding.line) == ("freeze-active", ".maestro/pipeline.yaml", 3)
    assert finding.message == (
        "branch 'main' is frozen by 'weekends' from 2025-12-19T17:00:00+00:00 until 2025-12-22T09:00:00+00:00 "
        "(end exclusive); the branch opens at 2025-12-22T09:00:00+00:00"
    )
    assert isinstance(gate.detail, FreezeDetail)
    assert (gate.detail.frozen, gate.detail.branch) == (True, "main")
    assert gate.detail.open_at == datetime(2025, 12, 22, 9, tzinfo=UTC)
    assert gate.detail.to_json()["open_at"] == "2025-12-22T09:00:00+00:00"
    assert gate.detail.to_json()["windows"] == [
        {
            "name": "weekends",
            "source": ".maestro/pipeline.yaml",
            "line": 3,
            "start": "2025-12-19T17:00:00+00:00",
            "end": "2025-12-22T09:00:00+00:00",
            "enforced": True,
            "zone": "UTC",
            "kind": "weekly",
        }
    ]
    assert gate.detail.overrides == ()


def test_upcoming_window_warns_within_lookahead() -> None:
    gate = freeze_gate(context(FILES, "2025-12-19T08:30:00Z"), ())
    assert gate.status is Status.WARN
    (finding,) = gate.findings
    assert finding.code == "freeze-upcoming"
    assert finding.message.startswith("branch 'main' freezes in 8h 30m: 'weekends' from 2025-12-19T17:00:00+00:00")
    assert isinstance(gate.detail, FreezeDetail)
    assert [w.name for w in gate.detail.upcoming] == ["weekends"]
    assert gate.detail.open_at == datetime(2025, 12, 19, 8, 30, tzinfo=UTC)


def test_lookahead_comes_from_settings() -> None:
    files = {**FILES, ".maestro/changebot.yaml": "freeze: {lookahead_hours: 4}\n"}
    gate = freeze_gate(context(files, "2025-12-19T08:30:00Z"), ())
    assert gate.status is Status.PASS
    assert gate.summary == "open; no freeze starts within 4h"


def test_other_branches_are_not_frozen_and_settings_choose_branches() -> None:
    gate = freeze_gate(context(FILES, "2025-12-20T12:00:00Z", base_branch="develop"), ())
    assert gate.status is Status.PASS
    assert gate.summary == "branch 'develop' is not a frozen branch (frozen: main)"
    assert isinstance(gate.detail, FreezeDetail)
    assert gate.detail.frozen is False
    assert gate.detail.open_at == datetime(2025, 12, 20, 12, tzinfo=UTC)
    assert [w.name for w in gate.detail.windows] == ["weekends"]
    files = {**FILES, ".maestro/changebot.yaml": "freeze: {branches: [main, 'release/*']}\n"}
    gate = freeze_gate(context(files, "2025-12-20T12:00:00Z", base_branch="release/1.2"), ())
    assert gate.status is Status.FAIL


def test_default_branch_comes_from_release_policy() -> None:
    files = {**FILES, "release-policy.yml": "default_branch: trunk\n"}
    assert freeze_gate(context(files, "2025-12-20T12:00:00Z"), ()).detail.to_json()["branch"] == "trunk"
    gate = freeze_gate(context(files, "2025-12-20T12:00:00Z", base_branch="main"), ())
    assert gate.status is Status.PASS


def test_override_in_force_warns_and_names_actor() -> None:
    now = datetime(2025, 12, 20, 12, tzinfo=UTC)
    overrides = [
        Override(GateId.FREEZE, "alice", "hotfix for INC-42 payment outage", now, datetime(2025, 12, 21, tzinfo=UTC)),
        Override(GateId.FREEZE, "bob", "expired already, must not count", now, datetime(2025, 12, 20, tzinfo=UTC)),
        Override(GateId.BUDGET, "carol", "another gate, must not count", now),
    ]
    gate = freeze_gate(context(FILES, "2025-12-20T12:00:00Z"), overrides)
    assert gate.status is Status.WARN
    (finding,) = gate.findings
    assert finding.code == "freeze-overridden"
    assert finding.message.endswith("overridden by alice: 'hotfix for INC-42 payment outage'")
    assert gate.summary == "frozen by 'weekends', overridden by alice"
    assert isinstance(gate.detail, FreezeDetail)
    assert gate.detail.overrides == (overrides[0],)
    assert gate.detail.to_json()["overrides"] == [
        {
            "gate": "freeze",
            "actor": "alice",
            "reason": "hotfix for INC-42 payment outage",
            "expires_at": "2025-12-21T00:00:00+00:00",
        }
    ]


def test_frozen_past_the_horizon_has_no_open_at() -> None:
    files = {
        ".maestro/freeze_windows.json": (
            '[{"name": "forever", "from": "2025-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}]'
        ),
        ".maestro/changebot.yaml": "freeze: {horizon_days: 30}\n",
    }
    gate = freeze_gate(context(files, "2025-12-20T12:00:00Z"), ())
    assert gate.detail.to_json()["open_at"] is None
    assert gate.summary == "frozen by 'forever'; it stays frozen past the horizon (freeze.horizon_days)"


def test_a_window_spanning_centuries_does_not_overflow() -> None:
    files = {
        ".maestro/freeze_windows.json": (
            '[{"name": "long", "from": "1900-01-01T00:00:00Z", "to": "8999-01-01T00:00:00Z"},'
            ' {"name": "short", "from": "1900-01-01T00:00:00Z", "to": "1900-01-02T00:00:00Z"}]'
        ),
    }
    gate = freeze_gate(context(files, "1901-01-01T00:00:00Z"), ())
    assert gate.status is Status.FAIL
    assert [w["name"] for w in gate.detail.to_json()["windows"]] == ["long"]
    assert gate.detail.to_json()["open_at"] is None


def test_inactive_window_is_listed_not_enforced() -> None:
    files = {
        "release-policy.yml": """\
freeze:
  timezone: America/Denver
  windows:
    - {name: "Weekend freeze", rrule: "FREQ=WEEKLY;BYDAY=SA,SU", active: false}
"""
    }
    gate = freeze_gate(context(files, "2025-12-20T19:00:00Z"), ())
    assert gate.status is Status.PASS
    assert [(f.code, f.line) for f in gate.findings] == [("freeze-window-inactive", 4)]
    assert gate.detail.to_json()["frozen"] is False
    (window,) = gate.detail.to_json()["windows"]
    assert (window["enforced"], window["start"], window["end"]) == (
        False,
        "2025-12-20T00:00:00-07:00",
        "2025-12-21T00:00:00-07:00",
    )


def test_disabled_policy_lists_windows_without_enforcing() -> None:
    files = {"release-policy.yml": 'freeze:\n  enabled: false\n  windows:\n    - {name: w, rrule: "FREQ=DAILY"}\n'}
    gate = freeze_gate(context(files, "2025-12-20T19:00:00Z"), ())
    assert gate.status is Status.PASS
    assert gate.detail.to_json()["windows"][0]["enforced"] is False


def test_corpus_calendar_on_a_december_saturday() -> None:
    require(CORPUS.is_dir(), f"the corpus is not at {CORPUS}")
    files = {
        path: (CORPUS / path).read_text(encoding="utf-8")
        for path in (
            ".maestro/pipeline.yaml",
            ".maestro/freeze_windows.json",
            "release-policy.yml",
            ".maestro/plan-20250915-rc1.yaml",
        )
    }
    gate = freeze_gate(context(files, "2025-12-20T09:00:00-07:00", base_branch="main"), ())
    assert gate.status is Status.FAIL
    assert [(f.path, f.line) for f in gate.findings] == [
        (".maestro/freeze_windows.json", 2),
        (".maestro/pipeline.yaml", 172),
        ("release-policy.yml", 7),
    ]
    # EOQ to Mon 2026-01-05 00:00Z, the UTC weekend from Fri 01-02 17:00Z to Mon 09:00Z: open at 09:00Z
    assert gate.detail.to_json()["open_at"] == "2026-01-05T09:00:00+00:00"
    # the plan's code freeze (2025-09-27 17:00 -06:00 to the end of 2025-09-29 in Denver) fails a PR then
    gate = freeze_gate(context(files, "2025-09-29T23:00:00-06:00", base_branch="main"), ())
    assert [f.path for f in gate.findings] == [".maestro/plan-20250915-rc1.yaml"]
    assert gate.detail.to_json()["open_at"] == "2025-09-30T06:00:00+00:00"


BAD = [
    (
        "release-policy.yml",
        "freeze:\n  timezone: Mars/Olympus_Mons\n  windows:\n    - {name: w, rrule: FREQ=DAILY}\n",
        "freeze-unknown-zone",
        2,
        "unknown time zone 'Mars/Olympus_Mons': expected an IANA zone name",
    ),
    (
        ".maestro/freeze_windows.json",
        '[\n {"name": "x",\n  "from": "2025-12-15T00:00:00Z",\n  "to": "2025-12-01T00:00:00Z"}\n]',
        "freeze-end-before-start",
        4,
        "window 'x': 'to' (2025-12-01T00:00:00Z) is not after 'from' (2025-12-15T00:00:00Z)",
    ),
    (
        ".maestro/freeze_windows.json",
        '[\n {"name": "x",\n  "from": "2025-12-15T00:00:00",\n  "to": "2025-12-16T00:00:00Z"}\n]',
        "freeze-naive-datetime",
        3,
        "'from' '2025-12-15T00:00:00' has no UTC offset and no timezone is given",
    ),
    (
        ".maestro/freeze_windows.json",
        '[{"name": "x", "from": "soon", "to": "2025-12-16T00:00:00Z"}]',
        "freeze-bad-datetime",
        1,
        "'from' 'soon' is not an ISO 8601 date-time",
    ),
    (
        "release-policy.yml",
        "freeze:\n  windows:\n    - name: w\n      rrule: FREQ=FORTNIGHTLY;BYDAY=XX\n",
        "freeze-bad-rrule",
        4,
        "window 'w': rrule 'FREQ=FORTNIGHTLY;BYDAY=XX' is not an RFC 5545 recurrence rule",
    ),
    (
        "release-policy.yml",
        "freeze:\n  windows:\n    - name: w\n      rrule: FREQ=DAILY;BYHOUR=17\n",
        "freeze-rrule-needs-duration",
        4,
        "has a time of day, so it needs a 'duration'",
    ),
    (
        ".maestro/changebot.yaml",
        "freeze:\n  calendars:\n    - name: c\n      cron: '61 25 * * *'\n      duration: PT1H\n",
        "freeze-bad-cron",
        4,
        "window 'c': cron '61 25 * * *' is not a valid cron expression",
    ),
    (
        ".maestro/changebot.yaml",
        "freeze:\n  calendars:\n    - name: c\n      cron: '0 1 * * *'\n      duration: forever\n",
        "freeze-bad-duration",
        5,
        "duration 'forever' is not a positive duration",
    ),
    (
        ".maestro/pipeline.yaml",
        "freeze_windows:\n  - name: w\n    start: FRIDAY-ish\n    end: MON 09:00 UTC\n",
        "freeze-bad-weekly",
        3,
        "'start' 'FRIDAY-ish' is not a weekly time",
    ),
    (
        ".maestro/pipeline.yaml",
        "freeze_windows:\n  - name: w\n    start: 'FRI 17:00:60 UTC'\n    end: MON 09:00 UTC\n",
        "freeze-bad-weekly",
        3,
        "'start' 'FRI 17:00:60 UTC' is not a weekly time",
    ),
    (
        ".maestro/pipeline.yaml",
        "freeze_windows:\n  - name: w\n    start: FRI 17:00 Europe/Atlantis\n    end: MON 09:00 UTC\n",
        "freeze-unknown-zone",
        3,
        "unknown time zone 'Europe/Atlantis'",
    ),
    (
        ".maestro/pipeline.yaml",
        "freeze_windows:\n  - {name: h, file: .maestro/holidays.json}\n",
        "freeze-file-missing",
        2,
        "calendar file '.maestro/holidays.json' is not in the base branch",
    ),
    (
        "release-policy.yml",
        "freeze:\n  windows:\n    - name: w\n      rrule: FREQ=SECONDLY\n      duration: PT1S\n",
        "freeze-too-frequent",
        4,
        "window 'w': rrule 'FREQ=SECONDLY' starts more than 2016 windows a week",
    ),
    (
        ".maestro/changebot.yaml",
        "freeze:\n  calendars:\n    - name: c\n      cron: '* * * * *'\n      duration: PT1M\n",
        "freeze-too-frequent",
        4,
        "window 'c': cron '* * * * *' starts more than 2016 windows a week",
    ),
    (
        ".maestro/plan-x.yaml",
        "plan: x\nwindow: {start: 2025-09-15, end: 2025-09-20, tz: America/Denver}\nfreeze:\n"
        "  code_freeze: 2025-09-27T17:00:00-06:00\n",
        "freeze-end-before-start",
        4,
        "freeze.code_freeze (2025-09-27T17:00:00-06:00) is after the plan window ends (2025-09-20 in America/Denver)",
    ),
]


@pytest.mark.parametrize(("path", "text", "code", "line", "message"), BAD, ids=[b[2] + ":" + b[0] for b in BAD])
def test_bad_calendar_entries_are_findings_and_fail_closed(
    path: str, text: str, code: str, line: int, message: str
) -> None:
    gate = freeze_gate(context({path: text}, "2025-12-20T12:00:00Z"), ())
    assert gate.status is Status.FAIL
    assert [(f.code, f.path, f.line) for f in gate.findings] == [(code, path, line)]
    assert message in gate.findings[0].message
    assert gate.summary == "the freeze calendar has errors; failing closed"


@pytest.mark.parametrize(
    ("path", "version"),
    [
        (".maestro/freeze_windows.json", ""),
        (".maestro/freeze_windows.json", "@925bea1d"),
        ("release-policy.yml", ""),
        ("release-policy.yml", "@1afa1e56"),
        (".maestro/pipeline.yaml", ""),
        (".maestro/pipeline.yaml", "@64e65415"),
        (".maestro/plan-20250915-rc1.yaml", ""),
        (".maestro/plan-20250915-rc1.yaml", "@925bea1d"),
    ],
)
def test_every_corpus_calendar_version_reads_cleanly(path: str, version: str) -> None:
    source = CORPUS / (path + version)
    require(source.is_file(), f"the corpus file {source} is not present")
    files = {path: source.read_text(encoding="utf-8")}
    if path.endswith("pipeline.yaml"):
        files[".maestro/freeze_windows.json"] = (CORPUS / ".maestro/freeze_windows.json").read_text(encoding="utf-8")
    gate = freeze_gate(context(files, "2025-12-17T12:00:00Z"), ())
    assert [f for f in gate.findings if f.severity == "error" and f.code != "freeze-active"] == []
    assert gate.status in (Status.PASS, Status.WARN, Status.FAIL)
    assert gate.detail.to_json()["sources"]


MORE_BAD = [
    (
        ".maestro/pipeline.yaml",
        "freeze_windows:\n  - name: w\n    start: FRI 17:00 UTC\n    end: MON 09:00 Europe/Berlin\n",
        "freeze-bad-weekly",
        4,
        "window 'w': start is in UTC but end is in Europe/Berlin; use one zone for both",
    ),
    (
        ".maestro/pipeline.yaml",
        "freeze_windows:\n  - name: w\n    start: FRI 17:00 UTC\n    end: FRI 17:00 UTC\n",
        "freeze-end-before-start",
        4,
        "window 'w': start and end are the same weekly time",
    ),
    (
        ".maestro/pipeline.yaml",
        "freeze_windows: weekends\n",
        "freeze-shape",
        1,
        "'freeze_windows' must be a list",
    ),
    (
        ".maestro/pipeline.yaml",
        "freeze_windows:\n  - {name: h, file: ../../etc/passwd}\n",
        "freeze-bad-file",
        2,
        "'file' '../../etc/passwd' must be a repository-relative path",
    ),
    (
        "release-policy.yml",
        "freeze:\n  windows:\n    - name: w\n      rrule: FREQ=DAILY\n      dtstart: 2025-01-06T17:00:00Z\n"
        "      duration: PT1H\n",
        "freeze-bad-datetime",
        5,
        "'dtstart' '2025-01-06T17:00:00Z' must be a local date-time without offset",
    ),
    ("release-policy.yml", "freeze:\n  enabled: maybe\n", "freeze-bad-active", 2, "'enabled' must be true or false"),
    ("release-policy.yml", "freeze: [1, 2]\n", "freeze-shape", 1, "'freeze' must be a mapping"),
    ("release-policy.yml", "freeze:\n  windows: none\n", "freeze-shape", 2, "'freeze.windows' must be a list"),
    ("release-policy.yml", "freeze:\n  windows:\n    - 5\n", "freeze-shape", 3, "a window must be a mapping"),
    (
        "release-policy.yml",
        "freeze:\n  windows:\n    - {name: w, rrule: 5}\n",
        "freeze-bad-rrule",
        3,
        "rrule 5 is not an RFC 5545 recurrence rule (not a string)",
    ),
    (
        "release-policy.yml",
        "freeze:\n  windows:\n    - name: w\n      rrule: FREQ=DAILY\n      timezone: Nowhere/City\n",
        "freeze-unknown-zone",
        5,
        "unknown time zone 'Nowhere/City'",
    ),
    (
        ".maestro/freeze_windows.json",
        '[{"name": "x", "from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z", "active": "no"}]',
        "freeze-bad-active",
        1,
        "'active' must be true or false, found 'no'",
    ),
    (".maestro/freeze_windows.json", '{"windows": "x"}', "freeze-shape", 1, "expected a list of {name, from, to}"),
    (".maestro/freeze_windows.json", "[1]", "freeze-shape", 1, "a window must be a mapping {name, from, to}"),
    (
        ".maestro/freeze_windows.json",
        '{"timezone": "Europe/Berlin", "windows": [{"name": "x", "from": "2025-12-20T12:00:00",'
        ' "to": "2025-12-20T10:00:00"}]}',
        "freeze-end-before-start",
        1,
        "window 'x': 'to' (2025-12-20T10:00:00) is not after 'from' (2025-12-20T12:00:00)",
    ),
    (
        ".maestro/plan-x.yaml",
        "plan: x\nfreeze:\n  code_freeze: 2025-09-27T17:00:00-06:00\n",
        "freeze-plan-no-end",
        3,
        "a plan with freeze.code_freeze needs window.end",
    ),
    (
        ".maestro/plan-x.yaml",
        "plan: x\nwindow: {end: soon}\nfreeze:\n  code_freeze: 2025-09-27T17:00:00-06:00\n",
        "freeze-bad-datetime",
        2,
        "window.end 'soon' is not a date from 1900 to 8999 (expected YYYY-MM-DD)",
    ),
    (
        ".maestro/plan-x.yaml",
        "plan: x\nwindow: {end: 2025-09-29, tz: Mountain}\nfreeze:\n  code_freeze: 2025-09-27T17:00:00\n",
        "freeze-unknown-zone",
        2,
        "unknown time zone 'Mountain'",
    ),
    (
        ".maestro/changebot.yaml",
        "freeze:\n  calendars:\n    - name: c\n      cron: '0 1 * * *'\n",
        "freeze-bad-duration",
        3,
        "window 'c': a cron window needs a 'duration' (e.g. PT64H)",
    ),
    (".maestro/changebot.yaml", "freeze:\n  calendars:\n    - 5\n", "freeze-shape", 3, "a calendar must be a mapping"),
    (
        "release-policy.yml",
        "freeze:\n  windows:\n    - name: w\n      rrule: FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30\n",
        "freeze-bad-rrule",
        4,
        "rrule 'FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30' cannot be used: it has no occurrence at all",
    ),
    (
        "release-policy.yml",
        "freeze:\n  windows:\n    - name: w\n      rrule: FREQ=HOURLY;BYMONTH=2\n      duration: PT1H\n",
        "freeze-bad-rrule",
        4,
        "HOURLY, MINUTELY and SECONDLY rules cannot use BYMONTH",
    ),
    (
        ".maestro/changebot.yaml",
        "freeze:\n  calendars:\n    - name: c\n      cron: '0 0 30 2 *'\n      duration: PT1H\n",
        "freeze-bad-cron",
        4,
        "window 'c': cron '0 0 30 2 *' never fires (no date matches it)",
    ),
    (
        "release-policy.yml",
        "freeze:\n  windows:\n    - name: w\n      rrule: FREQ=DAILY;COUNT=1000000\n",
        "freeze-bad-rrule",
        4,
        "COUNT above 10,000 is not supported",
    ),
    (
        ".maestro/changebot.yaml",
        "freeze:\n  calendars:\n    - name: c\n      cron: '0 1 * * *'\n      duration: P999999999D\n",
        "freeze-bad-duration",
        5,
        "is not a positive duration of at most 366 days",
    ),
    (
        ".maestro/freeze_windows.json",
        '[{"name": "x", "from": "0001-01-01T00:00:00+01:00", "to": "2025-01-02T00:00:00Z"}]',
        "freeze-bad-datetime",
        1,
        "'from' '0001-01-01T00:00:00+01:00' is out of range: use a year from 1900 to 8999",
    ),
    (
        ".maestro/plan-x.yaml",
        "plan: x\nwindow: {end: 9999-12-31}\nfreeze:\n  code_freeze: 2025-09-27T17:00:00Z\n",
        "freeze-bad-datetime",
        2,
        "window.end '9999-12-31' is not a date from 1900 to 8999",
    ),
]


@pytest.mark.parametrize(
    ("path", "text", "code", "line", "message"), MORE_BAD, ids=[f"{b[2]}:{b[0]}:{i}" for i, b in enumerate(MORE_BAD)]
)
def test_malformed_calendar_shapes(path: str, text: str, code: str, line: int, message: str) -> None:
    gate = freeze_gate(context({path: text}, "2025-12-20T12:00:00Z"), ())
    assert [(f.code, f.path, f.line) for f in gate.findings] == [(code, path, line)]
    assert message in gate.findings[0].message
    assert gate.status is Status.FAIL


def test_forty_back_to_back_ten_minute_rrules_are_a_bounded_fail_closed_answer() -> None:
    """Each source is under the per-week cap; together they would expand to 2.3 million windows over the
    horizon. The expansion stops at the per-query budget and the rest of the range counts as frozen."""
    from changebot.core.freeze.gate import read_calendar  # noqa: PLC0415
    from changebot.core.freeze.windows import MAX_WINDOWS_PER_QUERY, Calendar, open_at  # noqa: PLC0415

    windows = "".join(
        f"    - {{name: w{i}, rrule: 'FREQ=MINUTELY;INTERVAL=10;BYSECOND={i}', duration: PT10M}}\n" for i in range(40)
    )
    files = {"release-policy.yml": f"freeze:\n  timezone: America/Denver\n  windows:\n{windows}"}
    ctx = context(files, "2025-12-17T12:00:00Z", base_branch="main")
    calendar, _, _ = read_calendar(ctx)
    assert isinstance(calendar, Calendar)
    start = datetime(2025, 12, 17, 12, tzinfo=UTC)
    expanded = calendar.windows(start, start.replace(year=2027))
    assert len(expanded) == MAX_WINDOWS_PER_QUERY + 1
    last = expanded[-1]
    assert (last.kind, last.end, last.enforced) == ("capped", start.replace(year=2027), True)
    assert open_at(calendar, start) is None
    gate = freeze_gate(ctx, ())
    assert gate.status is Status.FAIL
    assert "freeze-too-dense" in [f.code for f in gate.findings]
    [dense] = [f for f in gate.findings if f.code == "freeze-too-dense"]
    assert dense.message.startswith(f"the freeze calendar has more than {MAX_WINDOWS_PER_QUERY:,} windows")


def test_a_window_starting_exactly_at_the_lookahead_warns() -> None:
    """``lookahead_hours: 24`` means starts within 24 h, that instant included (next_change schedules it)."""
    gate = freeze_gate(context(FILES, "2025-12-18T17:00:00Z", base_branch="main"), ())
    assert gate.status is Status.WARN
    assert [f.code for f in gate.findings] == ["freeze-upcoming"]
