"""CI spend from the Actions API: minutes x rate per lane, cached, unknown rather than wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from changebot.adapters.github.actions_spend import ActionsSpend, SpendCache
from changebot.adapters.github.calls import CallPolicy
from changebot.adapters.github.client import GitHubClient
from changebot.core.budget.gate import BudgetDetail, budget_gate
from changebot.model import Status
from tests.support.freezekit import context
from tests.support.github_double import GitHubDouble

REPO = "octo/app"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RUNS = "/repos/{owner}/{repo}/actions/runs"
TIMING = "/repos/{owner}/{repo}/actions/runs/{run_id}/timing"


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def spend(github: GitHubDouble) -> tuple[ActionsSpend, Ticker]:
    ticker = Ticker()
    client = GitHubClient("test-token", github.base_url, bot_login="x", policy=CallPolicy(sleep=lambda s: None))
    return ActionsSpend(client, REPO, clock=ticker, cache=SpendCache(), ttl=60), ticker


def test_spend_sums_billable_minutes_by_lane_rounding_each_job_up(
    github: GitHubDouble, spend: tuple[ActionsSpend, Ticker]
) -> None:
    source, _ = spend
    # 61 s and 10 s on Linux bill as 2 + 1 minutes; 30 s on macOS bills as 1 minute.
    github.add_run(REPO, "pull_request", "2026-11-03T10:00:00Z", {"UBUNTU": [61_000, 10_000], "MACOS": [30_000]})
    github.add_run(REPO, "push", "2026-11-04T10:00:00Z", {"UBUNTU": [600_000]}, head_branch="main")
    github.add_run(REPO, "pull_request", "2026-10-31T23:59:00Z", {"UBUNTU": [600_000]})  # last month
    github.add_run(REPO, "pull_request", "2026-11-25T10:00:00Z", {"UBUNTU": [600_000]})  # after now
    assert source.month_to_date_usd("pull_request", NOW) == pytest.approx(3 * 0.008 + 1 * 0.08)
    assert source.month_to_date_usd("main", NOW) == pytest.approx(10 * 0.008)
    assert source.month_to_date_usd("preview", NOW) == 0.0


def test_spend_is_cached_per_month_and_completed_runs_are_never_asked_twice(
    github: GitHubDouble, spend: tuple[ActionsSpend, Ticker]
) -> None:
    source, ticker = spend
    github.add_run(REPO, "pull_request", "2026-11-03T10:00:00Z", {"UBUNTU": [60_000]})
    source.month_to_date_usd("pull_request", NOW)
    source.month_to_date_usd("main", NOW)
    assert len(github.calls("GET", RUNS)) == 1
    ticker.now += 120  # past the ttl: list again, but the finished run's timing is known
    github.add_run(REPO, "pull_request", "2026-11-05T10:00:00Z", {"UBUNTU": [120_000]})
    assert source.month_to_date_usd("pull_request", NOW) == pytest.approx(3 * 0.008)
    assert len(github.calls("GET", RUNS)) == 2
    assert len(github.calls("GET", TIMING)) == 2


def test_spend_is_unknown_when_github_fails(github: GitHubDouble, spend: tuple[ActionsSpend, Ticker]) -> None:
    source, _ = spend
    github.fail_next("GET", RUNS, 500, times=10)
    assert source.month_to_date_usd("pull_request", NOW) is None


def test_spend_is_unknown_rather_than_undercounted_past_max_runs(
    github: GitHubDouble, spend: tuple[ActionsSpend, Ticker]
) -> None:
    source, _ = spend
    source.max_runs = 2
    for day in range(1, 4):
        github.add_run(REPO, "pull_request", f"2026-11-0{day}T10:00:00Z", {"UBUNTU": [60_000]})
    assert source.month_to_date_usd("pull_request", NOW) is None


def test_public_repositories_have_no_billable_time(github: GitHubDouble, spend: tuple[ActionsSpend, Ticker]) -> None:
    source, _ = spend
    github.add_run(REPO, "pull_request", "2026-11-03T10:00:00Z", {})
    assert source.month_to_date_usd("pull_request", NOW) == 0.0


PIPELINE = "pipeline:\n  name: demo\n  steps:\n    - {id: build, run: b, minutes: 10}\n"
CI_BUDGET = """{"monthlyUsd": 1000, "softPct": 0.8, "hardPct": 1.0,
  "prio": {"main": 1.0, "pull_request": 0.5, "nightly": 0.6}}"""
FILES = {".maestro/pipeline.yaml": PIPELINE, ".maestro/ci_budget.json": CI_BUDGET}
MINUTE_MS = 60_000


def test_a_scheduled_run_is_priced_against_main_with_main_s_scheduled_runs_counted(
    github: GitHubDouble, spend: tuple[ActionsSpend, Ticker]
) -> None:
    source, _ = spend
    # this month on main: pushes $400 (50,000 min x $0.008) and nightly scheduled runs $480 (60,000 min)
    github.add_run(REPO, "push", "2026-11-02T10:00:00Z", {"UBUNTU": [50_000 * MINUTE_MS]}, head_branch="main")
    github.add_run(REPO, "schedule", "2026-11-03T02:00:00Z", {"UBUNTU": [60_000 * MINUTE_MS]}, head_branch="main")
    github.add_run(REPO, "push", "2026-11-04T10:00:00Z", {"UBUNTU": [99_000 * MINUTE_MS]}, head_branch="release")
    gate = budget_gate(context(FILES, NOW.isoformat(), event="schedule", base_branch="main"), source)
    # lane main: soft 1000 x 1.0 x 0.8 = $800; $880 so far + this run $0.08 is over it
    assert isinstance(gate.detail, BudgetDetail)
    assert gate.detail.lane == "main"
    assert gate.detail.month is not None
    assert gate.detail.month.spent_usd == pytest.approx(880.0)
    assert gate.status is Status.WARN
    assert [f.code for f in gate.findings] == ["budget-month-soft"]


def test_runs_count_against_the_lanes_the_settings_map_their_event_to(
    github: GitHubDouble, spend: tuple[ActionsSpend, Ticker]
) -> None:
    source, _ = spend
    files = {**FILES, ".maestro/changebot.yaml": "budget: {lanes: {schedule: nightly}}\n"}
    github.add_run(REPO, "schedule", "2026-11-03T02:00:00Z", {"UBUNTU": [60_000 * MINUTE_MS]}, head_branch="main")
    github.add_run(REPO, "push", "2026-11-02T10:00:00Z", {"UBUNTU": [1_000 * MINUTE_MS]}, head_branch="main")
    gate = budget_gate(context(files, NOW.isoformat(), event="schedule", base_branch="main"), source)
    # lane nightly: soft 1000 x 0.6 x 0.8 = $480; the scheduled runs spent $480 already
    assert isinstance(gate.detail, BudgetDetail)
    assert gate.detail.lane == "nightly"
    assert gate.detail.month is not None
    assert gate.detail.month.spent_usd == pytest.approx(480.0)
    assert [f.code for f in gate.findings] == ["budget-month-soft"]
