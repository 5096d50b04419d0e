"""The budget gate: step prices, low/high totals, the per-run cap and the month. Figures worked out by hand."""

from __future__ import annotations

import pytest

from changebot.adapters.ledger import FileLedger, parse_ledger
from changebot.core.budget.gate import budget_gate
from changebot.model import ChangedFile, Status
from tests.support.freezekit import context

PIPELINE = """\
pipeline:
  name: demo
  budgets: {hard_cap_usd: 1.00}
  steps:
    - {id: build, run: b, minutes: 12}
    - {id: test, run: t, cost_usd: 0.25}
    - {id: lint, run: l}
    - {id: migrate, run: m, when: 'files_changed("migrations/**")', cost_usd: 0.5}
    - {id: deploy, run: d, when: 'branch == "main"', minutes: 30}
    - {id: canary, run: c, when: 'step_succeeded("deploy") && canary_slo_passed', cost_usd: 2.0}
"""
CI_BUDGET = """{
  "monthlyUsd": 1000,
  "softPct": 0.8,
  "hardPct": 1.0,
  "prio": {"pull_request": 0.5, "main": 1.0}
}"""
FILES = {".maestro/pipeline.yaml": PIPELINE, ".maestro/ci_budget.json": CI_BUDGET}
NOW = "2025-12-15T12:00:00Z"


def ledger(*rows: str) -> FileLedger:
    return parse_ledger("spend.csv", ("date,lane,usd,step\n" + "\n".join(rows) + "\n").encode())


def test_no_pipeline_is_skipped() -> None:
    gate = budget_gate(context({".maestro/ci_budget.json": CI_BUDGET}, NOW), None)
    assert gate.status is Status.SKIPPED
    assert gate.summary == "no pipeline in this repository (.maestro/pipeline.yaml is absent on the base)"


def test_pull_request_price_list() -> None:
    gate = budget_gate(context(FILES, NOW, head_branch="feature"), None)
    # build 12 min x $0.008 = $0.096; test $0.25; lint default 10 min x $0.008 = $0.08
    # low = 0.096 + 0.25 + 0.08 = $0.426; nothing may run, so high = low
    assert gate.detail.to_json()["low_usd"] == pytest.approx(0.426)
    assert gate.detail.to_json()["high_usd"] == pytest.approx(0.426)
    assert gate.detail.to_json()["hard_cap_usd"] == 1.0
    assert gate.detail.to_json()["lane"] == "pull_request"
    assert [(s["id"], s["runs"], s["cost_usd"], s["basis"]) for s in gate.detail.to_json()["steps"]] == [
        ("build", "yes", 0.096, "12 min x $0.008/min"),
        ("test", "yes", 0.25, "cost_usd"),
        ("lint", "yes", 0.08, "default 10 min x $0.008/min"),
        ("migrate", "no", 0.5, "cost_usd"),
        ("deploy", "no", 0.24, "30 min x $0.008/min"),
        ("canary", "no", 2.0, "cost_usd"),
    ]
    # no ledger: the month's limits are shown (soft 1000 x 0.5 x 0.8 = $400, hard 1000 x 0.5 x 1.0 = $500)
    assert gate.status is Status.PASS
    assert [f.code for f in gate.findings] == ["budget-month-unknown"]
    assert gate.detail.to_json()["month"]["soft_usd"] == 400.0
    assert gate.detail.to_json()["month"]["hard_usd"] == 500.0
    assert gate.detail.to_json()["month"]["spent_usd"] is None
    assert gate.summary == "pull_request run: $0.43 (3 step(s) will run, 0 may run); per-run cap $1.00"


def test_changed_migrations_add_their_step() -> None:
    files = (ChangedFile("A", "migrations/0001.sql"),)
    gate = budget_gate(context(FILES, NOW, head_branch="feature", files=files), None)
    # 0.426 + migrate 0.5 = $0.926
    assert gate.detail.to_json()["low_usd"] == pytest.approx(0.926)


def test_push_to_main_may_exceed_the_run_cap() -> None:
    gate = budget_gate(context(FILES, NOW, event="push", base_branch="main"), None)
    # low = 0.426 + deploy 30 x 0.008 = 0.24 -> $0.666; canary may run (+$2.00) -> high $2.666 > cap $1.00
    assert gate.detail.to_json()["low_usd"] == pytest.approx(0.666)
    assert gate.detail.to_json()["high_usd"] == pytest.approx(2.666)
    assert gate.detail.to_json()["lane"] == "main"
    assert gate.status is Status.WARN
    finding = next(f for f in gate.findings if f.code == "budget-run-cap-risk")
    assert finding.message == "this run may cost up to $2.67, over the per-run cap hard_cap_usd $1.00 (at least $0.67)"
    assert (finding.path, finding.line) == (".maestro/pipeline.yaml", 3)


def test_low_estimate_over_the_cap_fails() -> None:
    files = {**FILES, ".maestro/pipeline.yaml": PIPELINE.replace("hard_cap_usd: 1.00", "hard_cap_usd: 0.40")}
    gate = budget_gate(context(files, NOW, head_branch="feature"), None)
    assert gate.status is Status.FAIL
    finding = next(f for f in gate.findings if f.code == "budget-run-cap")
    assert finding.message == "this run costs at least $0.43, over the per-run cap hard_cap_usd $0.40"


def test_usd_per_minute_from_settings() -> None:
    files = {**FILES, ".maestro/changebot.yaml": "budget: {usd_per_minute: 0.016, default_step_minutes: 5}\n"}
    gate = budget_gate(context(files, NOW, head_branch="feature"), None)
    # build 12 x 0.016 = 0.192; test 0.25; lint 5 x 0.016 = 0.08 -> $0.522
    assert gate.detail.to_json()["low_usd"] == pytest.approx(0.522)


def test_recorded_history_prices_a_step_without_hints() -> None:
    spend = ledger("2025-11-02,pull_request,0.30,lint", "2025-11-03,pull_request,0.50,lint")
    gate = budget_gate(context(FILES, NOW, head_branch="feature"), spend)
    # lint = mean(0.30, 0.50) = 0.40; low = 0.096 + 0.25 + 0.40 = $0.746
    assert gate.detail.to_json()["steps"][2]["basis"] == "recorded history (mean per run)"
    assert gate.detail.to_json()["low_usd"] == pytest.approx(0.746)


@pytest.mark.parametrize(
    ("rows", "status", "code", "message"),
    [
        # 100.00 spent + 0.426 = 100.426 < soft 400: pass
        (["2025-12-01,pull_request,100.00,"], Status.PASS, None, None),
        # 150.00 + 249.70 = 399.70 this month (Nov, after-now and other-lane rows excluded); + 0.426 = 400.126 > 400
        (
            [
                "2025-12-01,pull_request,150.00,",
                "2025-12-10T12:00:00Z,pull_request,249.70,",
                "2025-11-30T23:59:59Z,pull_request,999,",
                "2025-12-20,pull_request,50,",
                "2025-12-05,main,10,",
            ],
            Status.WARN,
            "budget-month-soft",
            "lane 'pull_request': month-to-date $399.70 + this run up to $0.43 = $400.13 is over the soft limit "
            "$400.00 (monthlyUsd 1000 x prio[pull_request] 0.5 x softPct 0.8)",
        ),
        # 499.80 + 0.426 = 500.226 > hard 500: fail
        (
            ["2025-12-01,pull_request,499.80,"],
            Status.FAIL,
            "budget-month-hard",
            "lane 'pull_request': month-to-date $499.80 + this run $0.43 = $500.23 is over the hard limit $500.00 "
            "(monthlyUsd 1000 x prio[pull_request] 0.5 x hardPct 1)",
        ),
    ],
)
def test_month_to_date_against_soft_and_hard(
    rows: list[str], status: Status, code: str | None, message: str | None
) -> None:
    gate = budget_gate(context(FILES, NOW, head_branch="feature"), ledger(*rows))
    assert gate.status is status
    assert [f.code for f in gate.findings] == ([code] if code else [])
    if message:
        assert gate.findings[0].message == message
        assert gate.findings[0].path == ".maestro/ci_budget.json"


def test_month_detail_with_ledger() -> None:
    gate = budget_gate(context(FILES, NOW, head_branch="feature"), ledger("2025-12-01,pull_request,100.00,"))
    month = gate.detail.to_json()["month"]
    assert (month["period"], month["spent_usd"]) == ("2025-12", 100.0)
    assert month["projected_low_usd"] == pytest.approx(100.426)
    assert gate.summary.endswith("; lane pull_request month $100.00 of soft $400.00")


@pytest.mark.parametrize(
    ("budget", "code", "line", "message"),
    [
        (
            '{\n "monthlyUsd": "lots",\n "softPct": 0.8,\n "hardPct": 1.0,\n "prio": {"pull_request": 0.5}\n}',
            "bad-money",
            2,
            "ci_budget.json monthlyUsd must be a non-negative number, found 'lots'",
        ),
        (
            '{\n "monthlyUsd": -5,\n "softPct": 0.8,\n "hardPct": 1.0,\n "prio": {"pull_request": 0.5}\n}',
            "bad-money",
            2,
            "ci_budget.json monthlyUsd must be a non-negative number, found -5",
        ),
        (
            '{\n "monthlyUsd": 1000,\n "softPct": 0.8,\n "hardPct": 1.0,\n "prio": {\n  "main": 1.0\n }\n}',
            "budget-prio-missing",
            5,
            "prio['pull_request'] is missing: ci_budget.json must give lane 'pull_request' a share of the month "
            "above 0 (lanes with a prio: main)",
        ),
        (
            '{\n "monthlyUsd": 1000,\n "softPct": 0.8,\n "hardPct": 1.0,\n "prio": {\n  "pull_request": 0\n }\n}',
            "budget-prio-missing",
            6,
            "prio['pull_request'] is 0",
        ),
    ],
)
def test_bad_budget_numbers_are_findings(budget: str, code: str, line: int, message: str) -> None:
    gate = budget_gate(context({**FILES, ".maestro/ci_budget.json": budget}, NOW, head_branch="feature"), None)
    assert gate.status is Status.FAIL
    finding = gate.findings[0]
    assert (finding.code, finding.path, finding.line) == (code, ".maestro/ci_budget.json", line)
    assert message in finding.message


def test_lanes_from_settings() -> None:
    files = {**FILES, ".maestro/changebot.yaml": "budget: {lanes: {pull_request: preview}}\n"}
    gate = budget_gate(context(files, NOW, head_branch="feature"), None)
    assert gate.detail.to_json()["lane"] == "preview"
    assert [f.code for f in gate.findings] == ["budget-prio-missing"]


def test_corpus_shape_push_to_main() -> None:
    from tests.support.repos import CORPUS  # noqa: PLC0415 - only this test needs it
    from tests.support.required import require  # noqa: PLC0415

    require(CORPUS.is_dir(), f"the corpus is not at {CORPUS}")
    files = {p: (CORPUS / p).read_text(encoding="utf-8") for p in (".maestro/pipeline.yaml", ".maestro/ci_budget.json")}
    gate = budget_gate(context(files, NOW, event="push", base_branch="main"), ledger("2025-12-01,main,2549.50,"))
    # 8 steps will run, 9 may, all at the default 10 min x $0.008 = $0.08: low $0.64, high $0.64 + $0.72 = $1.36
    # lane main: soft 3000 x 1.0 x 0.85 = $2,550; 2549.50 + 1.36 = 2550.86 > 2550 -> warn; + 0.64 < hard 3000
    assert gate.detail.to_json()["low_usd"] == pytest.approx(0.64)
    assert gate.detail.to_json()["high_usd"] == pytest.approx(1.36)
    assert gate.status is Status.WARN
    assert [f.code for f in gate.findings] == ["budget-month-soft"]


def test_may_run_steps_can_risk_the_hard_limit() -> None:
    gate = budget_gate(context(FILES, NOW, event="push", base_branch="main"), ledger("2025-12-01,main,998.00,"))
    # lane main: hard 1000 x 1.0 x 1.0 = $1,000. 998 + low 0.666 = 998.67 (under); 998 + high 2.666 = 1000.67 (over)
    assert gate.status is Status.WARN
    finding = next(f for f in gate.findings if f.code == "budget-month-hard-risk")
    assert finding.message == (
        "lane 'main': month-to-date $998.00 + this run up to $2.67 = $1,000.67 is over the hard limit $1,000.00 "
        "(monthlyUsd 1000 x prio[main] 1 x hardPct 1)"
    )
