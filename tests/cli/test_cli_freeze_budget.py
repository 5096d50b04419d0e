"""``changebot freeze`` and ``changebot budget`` (and ``plan --ledger``) on real git repositories."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from changebot.cli import main
from tests.support.repos import GitRepo

PIPELINE = """\
pipeline:
  name: demo
  budgets: {hard_cap_usd: 1.00}
  steps:
    - {id: build, run: b, minutes: 12}
    - {id: test, run: t, cost_usd: 0.25}
    - {id: deploy, run: d, when: 'branch == "main"', minutes: 30}
freeze_windows:
  - name: weekends
    start: "FRI 17:00 UTC"
    end: "MON 09:00 UTC"
"""
CI_BUDGET = '{"monthlyUsd": 1000, "softPct": 0.8, "hardPct": 1.0, "prio": {"pull_request": 0.5, "main": 1.0}}'
FILES = {".maestro/pipeline.yaml": PIPELINE, ".maestro/ci_budget.json": CI_BUDGET, "src/app.py": "x = 1\n"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_freeze_text_when_frozen(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(FILES)
    code, out, _ = run(["freeze", "--repo", str(repo.path), "--now", "2025-12-20T12:00:00Z", "--days", "8"], capsys)
    assert code == 1
    assert out.splitlines()[:3] == [
        "branch main at 2025-12-20T12:00:00+00:00: FROZEN",
        "  frozen by 'weekends'; the branch opens at 2025-12-22T09:00:00+00:00",
        "  opens at: 2025-12-22T09:00:00+00:00",
    ]
    assert "  2025-12-26T17:00:00+00:00 -> 2025-12-29T09:00:00+00:00  weekends  (.maestro/pipeline.yaml:9)" in out


def test_freeze_json_when_open(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(FILES)
    code, out, _ = run(
        ["freeze", "--repo", str(repo.path), "--now", "2025-12-17T12:00:00Z", "--days", "3", "--format", "json"],
        capsys,
    )
    assert code == 0
    doc = json.loads(out)
    assert (doc["status"], doc["frozen"], doc["open_at"]) == ("pass", False, "2025-12-17T12:00:00+00:00")
    assert [(w["name"], w["start"]) for w in doc["calendar"]] == [("weekends", "2025-12-19T17:00:00+00:00")]


def test_freeze_ics_export(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from icalendar import Calendar  # noqa: PLC0415 - only this test reads ICS

    repo = make_repo(FILES)
    target = tmp_path / "freeze.ics"
    argv = ["freeze", "--repo", str(repo.path), "--now", "2025-12-17T12:00:00Z", "--days", "14", "--format", "ics"]
    code, out, _ = run([*argv, "-o", str(target)], capsys)
    assert (code, out) == (0, "")
    calendar = Calendar.from_ical(target.read_bytes())
    events = list(calendar.walk("VEVENT"))
    assert [(str(e["summary"]), e.decoded("dtstart").isoformat()) for e in events] == [
        ("Freeze: weekends", "2025-12-19T17:00:00+00:00"),
        ("Freeze: weekends", "2025-12-26T17:00:00+00:00"),
    ]
    assert events[0].decoded("dtend").isoformat() == "2025-12-22T09:00:00+00:00"
    assert len({str(e["uid"]) for e in events}) == 2


@pytest.mark.parametrize("days", ["0", "x", "99999"])
def test_freeze_bad_days_exit_2(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], days: str
) -> None:
    repo = make_repo(FILES)
    code, out, err = run(["freeze", "--repo", str(repo.path), "--days", days], capsys)
    assert (code, out) == (2, "")
    assert f"--days {days!r} must be a whole number from 1 to 3660" in err


def test_freeze_without_calendar_says_skipped(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({"README.md": "hi\n"})
    code, out, _ = run(["freeze", "--repo", str(repo.path)], capsys)
    assert code == 0
    assert out.startswith("freeze: skipped: no freeze calendar in this repository")


def test_budget_price_list_for_a_branch_pr(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(FILES)
    repo.branch("feature")
    repo.commit({"src/app.py": "x = 2\n"})
    ledger = tmp_path / "spend.csv"
    ledger.write_text("date,lane,usd\n2025-12-01,pull_request,399.80\n", encoding="utf-8")
    argv = ["budget", "--repo", str(repo.path), "--base", "main", "--head", "feature"]
    code, out, _ = run([*argv, "--now", "2025-12-15T12:00:00Z", "--ledger", str(ledger)], capsys)
    # build 12 x 0.008 = 0.096 + test 0.25 = $0.346; deploy does not run on the PR (branch 'feature')
    # month: 399.80 + 0.346 = 400.146 > soft 1000 x 0.5 x 0.8 = $400 -> warn, exit 0
    assert code == 0
    assert out.splitlines()[:6] == [
        "budget (pull_request run, lane pull_request): warn",
        "",
        "  step    runs        cost  basis",
        "  build   yes        $0.10  12 min x $0.008/min",
        "  test    yes        $0.25  cost_usd",
        "  deploy  no         $0.24  30 min x $0.008/min",
    ]
    assert "  low (will run):             $0.35" in out
    assert "month 2025-12, lane pull_request: spent $399.80; soft limit $400.00, hard limit $500.00" in out
    code, out, _ = run([*argv, "--now", "2025-12-15T12:00:00Z", "--format", "markdown"], capsys)
    assert "| `deploy` | no | $0.24 | 30 min x $0.008/min |" in out


def test_budget_push_over_hard_month_fails_in_json(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(FILES)
    ledger = tmp_path / "spend.json"
    ledger.write_text('[{"date": "2025-12-02T00:00:00Z", "lane": "main", "usd": 999.5}]', encoding="utf-8")
    argv = ["budget", "--repo", str(repo.path), "--event", "push", "--branch", "main", "--format", "json"]
    code, out, _ = run([*argv, "--now", "2025-12-15T12:00:00Z", "--ledger", str(ledger)], capsys)
    # push to main: 0.096 + 0.25 + deploy 30 x 0.008 = 0.24 -> $0.586; 999.50 + 0.586 = 1000.086 > hard $1,000
    assert code == 1
    doc = json.loads(out)
    assert doc["status"] == "fail"
    assert doc["low_usd"] == pytest.approx(0.586)
    assert [f["code"] for f in doc["findings"]] == ["budget-month-hard"]


def test_bad_ledger_exits_2_and_writes_nothing(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(FILES)
    ledger = tmp_path / "spend.csv"
    ledger.write_text("date,lane,usd\n2025-12-01,main,-1\n", encoding="utf-8")
    target = tmp_path / "out.json"
    for command in ("budget", "plan"):
        argv = [command, "--repo", str(repo.path), "--ledger", str(ledger), "-o", str(target)]
        code, out, err = run(argv, capsys)
        assert (code, out) == (2, "")
        assert f"--ledger {ledger}:2: usd '-1' is not a non-negative number" in err
        assert not target.exists()
    code, _, err = run(["budget", "--repo", str(repo.path), "--ledger", str(tmp_path / "nope.csv")], capsys)
    assert code == 2
    assert "cannot read the file" in err


def test_plan_carries_freeze_and_budget(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(FILES)
    ledger = tmp_path / "spend.csv"
    ledger.write_text("date,lane,usd\n2025-12-01,pull_request,10\n", encoding="utf-8")
    argv = ["plan", "--repo", str(repo.path), "--now", "2025-12-20T12:00:00Z", "--format", "json"]
    code, out, _ = run([*argv, "--ledger", str(ledger)], capsys)
    assert code == 1  # Saturday: frozen
    gates = {g["id"]: g for g in json.loads(out)["gates"]}
    assert gates["freeze"]["status"] == "fail"
    assert gates["freeze"]["open_at"] == "2025-12-22T09:00:00+00:00"
    assert gates["budget"]["status"] == "pass"
    assert gates["budget"]["month"]["spent_usd"] == 10.0


def test_freeze_calendar_errors_exit_1_with_file_and_line(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({"release-policy.yml": "freeze:\n  timezone: America/Denvr\n  windows: []\n"})
    code, out, _ = run(["freeze", "--repo", str(repo.path), "--now", "2025-12-17T12:00:00Z"], capsys)
    assert code == 1
    assert (
        "  release-policy.yml:2: error[freeze-unknown-zone] unknown time zone 'America/Denvr': expected an IANA "
        "zone name such as America/Denver or UTC"
    ) in out.splitlines()


def test_calendar_and_pipeline_come_from_the_base_branch(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(FILES)
    repo.branch("feature")
    # the PR deletes the weekend freeze and makes every step free: neither counts while it is a proposal
    relaxed = PIPELINE.replace("minutes: 12", "cost_usd: 0").split("freeze_windows:")[0]
    repo.commit({".maestro/pipeline.yaml": relaxed})
    argv = ["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json"]
    code, out, _ = run([*argv, "--now", "2025-12-20T12:00:00Z"], capsys)
    gates = {g["id"]: g for g in json.loads(out)["gates"]}
    assert code == 1
    assert gates["freeze"]["status"] == "fail"
    assert gates["budget"]["steps"][0]["basis"] == "12 min x $0.008/min"


@pytest.mark.parametrize("now", ["9999-12-30T00:00:00Z", "0001-01-02T00:00:00Z"])
def test_instants_at_the_ends_of_time_are_refused_not_crashed(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], now: str
) -> None:
    repo = make_repo(FILES)
    code, out, err = run(["freeze", "--repo", str(repo.path), "--now", now], capsys)
    assert (code, out) == (2, "")
    assert "is out of range: use a year from 1901 to 8989" in err
    code, out, _ = run(["plan", "--repo", str(repo.path), "--now", now, "--format", "json"], capsys)
    assert code == 1
    (freeze,) = [g for g in json.loads(out)["gates"] if g["id"] == "freeze"]
    assert [f["code"] for f in freeze["findings"]] == ["freeze-now-out-of-range"]


def test_budget_without_pipeline_says_skipped(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({".maestro/ci_budget.json": CI_BUDGET})
    code, out, _ = run(["budget", "--repo", str(repo.path)], capsys)
    assert (code, out) == (
        0,
        "budget: skipped: no pipeline in this repository (.maestro/pipeline.yaml is absent on the base)\n",
    )
    code, out, _ = run(["budget", "--repo", str(repo.path), "--format", "json"], capsys)
    assert json.loads(out)["status"] == "skipped"


def test_freeze_base_reads_the_calendar_the_gate_reads_not_the_working_tree(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(FILES)  # main: frozen on weekends
    (repo.path / ".maestro" / "pipeline.yaml").write_text(PIPELINE.partition("freeze_windows:")[0], encoding="utf-8")
    saturday = ["--repo", str(repo.path), "--now", "2025-12-20T12:00:00Z", "--format", "json"]
    code, out, _ = run(["freeze", *saturday], capsys)
    assert (code, json.loads(out)["status"]) == (0, "skipped")  # the edited working tree has no calendar
    code, out, _ = run(["freeze", *saturday, "--base", "main"], capsys)
    assert (code, json.loads(out)["frozen"], json.loads(out)["branch"]) == (1, True, "main")
    code, out, _ = run(["plan", *saturday[:4], "--base", "main", "--head", "main"], capsys)
    assert code == 1 and "frozen by 'weekends'" in out
