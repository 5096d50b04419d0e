"""Issue 16, item 8: a pull request with more than 3,000 files. GitHub lists at most 3,000 of them, so the
Action (and the App: both go through ``github.steps``) take the changed files from git when the listing stops
short, and a governance edit behind 3,000 other files still needs its owner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from changebot.core.sticky import STICKY_MARKER
from tests.cli.test_action import REPO, Runner, pr_event
from tests.support.github_double import MAX_PULL_FILES, GitHubDouble
from tests.support.repos import GitRepo

CALENDAR = ".maestro/freeze_windows.json"
FILLER = [f"src/gen/file{i:04d}.txt" for i in range(MAX_PULL_FILES)]


@pytest.fixture
def big_pull(make_repo: Callable[..., GitRepo]) -> tuple[GitRepo, str, str]:
    repo = make_repo(
        {
            ".maestro/changebot.yaml": "policy:\n  governance_owners: [alice]\n",
            CALENDAR: '[{"name": "EOQ", "from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}]\n',
        }
    )
    base = repo.git("rev-parse", "HEAD")
    repo.branch("feature")
    head = repo.commit({**dict.fromkeys(FILLER, "generated\n"), CALENDAR: "[]\n"}, "3,001 files")
    repo.checkout("main")
    return repo, base, head


def test_a_calendar_edit_behind_3000_other_files_still_needs_its_owner(
    tmp_path: Path, github: GitHubDouble, big_pull: tuple[GitRepo, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, base, head = big_pull
    github.bot_login = "github-actions[bot]"
    # GitHub lists the generated files first and stops at 3,000: the calendar is the 3,001st.
    github.add_pull(REPO, 7, head, base, files=[*FILLER, CALENDAR])
    runner = Runner(tmp_path, github, repo.path, monkeypatch)

    assert runner.run("pull_request", pr_event(base, head)) == 1
    [run] = github.check_runs[REPO]
    assert (run["head_sha"], run["conclusion"]) == (head, "failure")
    [comment] = github.comments[REPO][7]
    assert STICKY_MARKER in comment["body"]
    assert f"edits governance config ({CALENDAR}) and needs an approval from one of alice" in comment["body"]
    files_calls = github.calls("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
    assert len(files_calls) == MAX_PULL_FILES // 100  # the listing was read to its end, and stopped short


def test_when_git_cannot_account_for_the_files_github_counts_the_check_fails_closed(
    tmp_path: Path, github: GitHubDouble, make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({"src/app.py": "x = 1\n"})
    base = repo.git("rev-parse", "HEAD")
    repo.branch("feature")
    head = repo.commit({"src/app.py": "x = 2\n"}, "one file")
    repo.checkout("main")
    github.bot_login = "github-actions[bot]"
    github.add_pull(REPO, 7, head, base, files=[*FILLER, CALENDAR])
    runner = Runner(tmp_path, github, repo.path, monkeypatch)

    assert runner.run("pull_request", pr_event(base, head)) != 0
    [run] = github.check_runs[REPO]
    assert (run["head_sha"], run["conclusion"]) == (head, "failure")
    text = f"{run['output']['title']}\n{run['output']['summary']}"
    assert "changes 3001 files; GitHub lists only 3000 and git found 1" in text
