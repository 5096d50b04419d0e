"""CI spend from the Actions API: minutes x rate per lane, cached, unknown rather than wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from changebot.adapters.github.actions_spend import ActionsSpend, SpendCache
from changebot.adapters.github.calls import CallPolicy
from changebot.adapters.github.client import GitHubClient
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
