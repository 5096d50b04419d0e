"""The Action's state is its own: a sticky comment by ``github-actions[bot]`` counts only when the check run
this writer posted records its state. Any workflow in the repository can post as ``github-actions[bot]``
(a lint report or a welcome message that quotes what a user wrote), so the author alone proves nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from changebot.core.sticky import STICKY_MARKER, encode, head_marker
from changebot.model import GateId, Override
from tests.cli.test_action import BOT, REPO, Runner, comment_event, pr_event
from tests.support.github_double import GitHubDouble
from tests.support.repos import GitRepo

#: An absolute freeze over NOW (2025-12-20T09:00Z) on the base branch.
CALENDAR = '[{"name": "EOQ freeze", "from": "2025-12-15T00:00:00Z", "to": "2026-01-05T00:00:00Z"}]\n'
REASON = "payment outage hotfix INC-981, approved by the CAB"


class Frozen:
    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self.base = repo.git("rev-parse", "HEAD").strip()
        repo.branch("feature")
        self.head = repo.commit({"docs/readme.md": "hello again\n"}, "a docs change")
        repo.checkout("main")


@pytest.fixture
def frozen(make_repo: Callable[..., GitRepo]) -> Frozen:
    return Frozen(make_repo({".maestro/freeze_windows.json": CALENDAR, "docs/readme.md": "hello\n"}))


@pytest.fixture
def runner(tmp_path: Path, github: GitHubDouble, frozen: Frozen, monkeypatch: pytest.MonkeyPatch) -> Runner:
    github.bot_login = BOT
    return Runner(tmp_path, github, frozen.repo.path, monkeypatch)


def forged_sticky(head: str) -> str:
    granted = datetime(2025, 12, 20, 8, 0, tzinfo=UTC)
    override = Override(GateId.FREEZE, "alice", REASON, granted, None, head)
    tail = f"\n{STICKY_MARKER}\n{encode([override])}\n{head_marker(head, granted)}\n"
    return "### Lint report\nAll files formatted.\n" + tail  # text a user smuggled into another workflow's comment


def test_an_override_block_posted_as_github_actions_by_another_workflow_grants_nothing(
    github: GitHubDouble, frozen: Frozen, runner: Runner
) -> None:
    github.add_pull(REPO, 7, frozen.head, frozen.base, files=["docs/readme.md"])
    forged = github.add_comment(REPO, 7, forged_sticky(frozen.head), BOT)
    assert runner.run("pull_request", pr_event(frozen.base, frozen.head)) == 1
    [run] = github.check_runs[REPO]
    assert run["conclusion"] == "failure"
    assert "override" not in (run["output"]["title"] or "").lower()
    comments = github.comments[REPO][7]
    assert comments[0]["body"] == forged["body"]  # not taken over as changebot's comment
    [own] = [c for c in comments[1:] if STICKY_MARKER in c["body"]]
    assert REASON not in own["body"]


def test_an_override_changebot_granted_survives_the_next_run(
    github: GitHubDouble, frozen: Frozen, runner: Runner
) -> None:
    github.add_pull(REPO, 7, frozen.head, frozen.base, files=["docs/readme.md"])
    github.permissions[REPO] = {"alice": "maintain"}
    assert runner.run("pull_request", pr_event(frozen.base, frozen.head)) == 1
    github.add_comment(REPO, 7, forged_sticky(frozen.head), BOT)  # a forged block after changebot's own
    body = f'/changebot override freeze --reason "{REASON}" --expires 2h'
    command = github.add_comment(REPO, 7, body, "alice")
    event = comment_event(body)
    event["comment"]["id"] = command["id"]
    assert runner.run("issue_comment", event) == 0
    [run] = github.check_runs[REPO]
    assert run["conclusion"] != "failure"
    assert runner.run("pull_request", pr_event(frozen.base, frozen.head)) == 0  # the stored override still counts
    [run] = github.check_runs[REPO]
    assert run["conclusion"] != "failure"
    stickies = [c for c in github.comments[REPO][7] if c["user"]["login"] == BOT and STICKY_MARKER in c["body"]]
    assert len(stickies) == 2  # changebot's own (edited in place) and the forged one, left alone
    assert "| freeze | @alice |" in stickies[0]["body"]


def test_a_scheduled_audit_writes_the_weeks_evidence_for_the_artifact_upload(
    github: GitHubDouble, frozen: Frozen, runner: Runner
) -> None:
    github.add_pull(REPO, 7, frozen.head, frozen.base, state="closed", merged_at="2025-12-19T10:00:00Z",
                    updated_at="2025-12-19T10:00:00Z", merged_by="maria", merge_commit_sha="c" * 40)  # fmt: skip
    frozen.repo.checkout("main")
    assert runner.run("schedule", {}, GITHUB_REF_NAME="main", INPUT_AUDIT="print", INPUT_EVIDENCE="audit.json") == 1
    written = Path(runner.outputs()["evidence"])
    assert written == frozen.repo.path / "audit.json"
    statement = json.loads(written.read_text())
    assert statement["subject"] == [{"name": f"{REPO}#7", "digest": {"gitCommit": "c" * 40}}]
    [record] = statement["predicate"]["merges"]
    assert (record["authorisation"], record["merged_by"], record["window"]["name"]) == (
        "unauthorised",
        "maria",
        "EOQ freeze",
    )
    assert "Evidence written to `audit.json`" in runner.summary.read_text(encoding="utf-8")
