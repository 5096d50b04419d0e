"""The freeze gate: fail, warn, pass and skipped, overrides, branches, and a finding for every bad calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from changebot.core.freeze_gate import freeze_gate
from changebot.model import GateId, Override, Status
from tests.conftest import CORPUS
from tests.freezekit import context

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
    assert gate.detail["frozen"] is True
    assert gate.detail["branch"] == "main"
    assert gate.detail["open_at"] == "2025-12-22T09:00:00+00:00"
    assert gate.detail["windows"] == [
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
    assert gate.detail["overrides"] == []


def test_upcoming_window_warns_within_lookahead() -> None:
    gate = freeze_gate(context(FILES, "2025-12-19T08:30:00Z"), ())
    assert gate.status is Status.WARN
    (finding,) = gate.findings
    assert finding.code == "freeze-upcoming"
    assert finding.message.startswith("branch 'main' freezes in 8h 30m: 'weekends' from 2025-12-19T17:00:00+00:00")
    assert [w["name"] for w in gate.detail["upcoming"]] == ["weekends"]
    assert gate.detail["open_at"] == "2025-12-19T08:30:00+00:00"


def test_lookahead_comes_from_settings() -> None:
    files = {**FILES, ".maestro/changebot.yaml": "freeze: {lookahead_hours: 4}\n"}
    gate = freeze_gate(context(files, "2025-12-19T08:30:00Z"), ())
    assert gate.status is Status.PASS
    assert gate.summary == "open; no freeze starts within 4h"


def test_other_branches_are_not_frozen_and_settings_choose_branches() -> None:
    gate = freeze_gate(context(FILES, "2025-12-20T12:00:00Z", base_branch="develop"), ())
    assert gate.status is Status.PASS
    assert gate.summary == "branch 'develop' is not a frozen branch (frozen: main)"
    assert gate.detail["frozen"] is False
    files = {**FILES, ".maestro/changebot.yaml": "freeze: {branches: [main, 'release/*']}\n"}
    gate = freeze_gate(context(files, "2025-12-20T12:00:00Z", base_branch="release/1.2"), ())
    assert gate.status is Status.FAIL


def test_default_branch_comes_from_release_policy() -> None:
    files = {**FILES, "release-policy.yml": "default_branch: trunk\n"}
    assert freeze_gate(context(files, "2025-12-20T12:00:00Z"), ()).detail["branch"] == "trunk"
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
    assert gate.detail["overrides"] == [
        {
            "gate": "freeze",
            "actor": "alice",
            "reason": "hotfix for INC-42 payment outage",
            "expires_at": "2025-12-21T00:00:00+00:00",
        }
    ]


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
    assert gate.detail["frozen"] is False
    (window,) = gate.detail["windows"]
    assert (window["enforced"], window["start"], window["end"]) == (
        False,
        "2025-12-20T00:00:00-07:00",
        "2025-12-21T00:00:00-07:00",
    )


def test_disabled_policy_lists_windows_without_enforcing() -> None:
    files = {"release-policy.yml": 'freeze:\n  enabled: false\n  windows:\n    - {name: w, rrule: "FREQ=DAILY"}\n'}
    gate = freeze_gate(context(files, "2025-12-20T19:00:00Z"), ())
    assert gate.status is Status.PASS
    assert gate.detail["windows"][0]["enforced"] is False


def test_corpus_calendar_on_a_december_saturday() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus {CORPUS} is not present")
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
    assert gate.detail["open_at"] == "2026-01-05T09:00:00+00:00"
    # the plan's code freeze (2025-09-27 17:00 -06:00 to the end of 2025-09-29 in Denver) fails a PR then
    gate = freeze_gate(context(files, "2025-09-29T23:00:00-06:00", base_branch="main"), ())
    assert [f.path for f in gate.findings] == [".maestro/plan-20250915-rc1.yaml"]
    assert gate.detail["open_at"] == "2025-09-30T06:00:00+00:00"


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
