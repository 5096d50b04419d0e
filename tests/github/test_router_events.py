"""Which deliveries re-evaluate a verdict: real payloads from @octokit/webhooks-examples through the router."""

from __future__ import annotations

from typing import Any

import pytest

from changebot.github.jobs import ALWAYS_CURRENT, JobControl
from changebot.github.router import (
    BranchEvent,
    CommentEvent,
    DeploymentEvent,
    GitHubRouter,
    MergeGroupEvent,
    PullRequestEvent,
    RefreshEvent,
    branch_event,
)
from tests.support.octokit import webhook_example


class Recorder:
    def __init__(self) -> None:
        self.seen: list[object] = []

    def pull_request(self, event: PullRequestEvent, control: JobControl) -> None:
        self.seen.append(event)

    def command(self, event: CommentEvent, control: JobControl) -> None:
        self.seen.append(event)

    def refresh(self, event: RefreshEvent, control: JobControl) -> None:
        self.seen.append(event)

    def branch(self, event: BranchEvent, control: JobControl) -> None:
        self.seen.append(event)

    def merge_group(self, event: MergeGroupEvent, control: JobControl) -> None:
        self.seen.append(event)

    def deployment(self, event: DeploymentEvent, control: JobControl) -> None:
        self.seen.append(event)


def _run(event: str, payload: dict[str, Any]) -> tuple[list[str], list[object]]:
    recorder = Recorder()
    jobs = GitHubRouter(recorder).route(event, "d-1", payload)
    for job in jobs:
        job.run(ALWAYS_CURRENT)
    return [j.name for j in jobs], recorder.seen


@pytest.mark.parametrize("action", ["edited", "labeled", "unlabeled", "converted_to_draft", "opened"])
def test_pull_request_actions_that_change_a_verdict_plan_the_pr(action: str) -> None:
    if action == "edited":  # the package has no edited example: GitHub sends the PR plus what changed
        payload = webhook_example("pull_request", "opened")
        payload.update(action="edited", changes={"base": {"ref": {"from": "develop"}, "sha": {"from": "0" * 40}}})
    else:
        payload = webhook_example("pull_request", action)
    names, seen = _run("pull_request", payload)
    assert names == [f"pull_request.{action}"]
    (event,) = seen
    assert isinstance(event, PullRequestEvent) and event.action == action


@pytest.mark.parametrize("action", ["assigned", "locked", "review_requested", "closed"])
def test_pull_request_actions_that_change_nothing_are_ignored(action: str) -> None:
    assert _run("pull_request", webhook_example("pull_request", action)) == ([], [])


@pytest.mark.parametrize("action", ["submitted", "dismissed"])
def test_reviews_replan_the_pr(action: str) -> None:
    payload = webhook_example("pull_request_review", action)
    names, seen = _run("pull_request_review", payload)
    assert names == [f"pull_request_review.{action}"]
    (event,) = seen
    assert isinstance(event, PullRequestEvent) and event.number == payload["pull_request"]["number"]


@pytest.mark.parametrize("event", ["check_run", "check_suite"])
def test_a_rerun_refreshes_each_pr_of_the_suite(event: str) -> None:
    payload = webhook_example(event, "rerequested")
    suite = payload["check_run"]["check_suite"] if event == "check_run" else payload["check_suite"]
    suite["pull_requests"] = [{"number": 5}, {"number": 9}, {"number": 5}]
    names, seen = _run(event, payload)
    assert names == ["refresh.rerequested", "refresh.rerequested"]
    assert [(e.number, e.quiet) for e in seen if isinstance(e, RefreshEvent)] == [(5, False), (9, False)]
    assert _run(event, webhook_example(event, "completed")) == ([], [])


def _push(paths: list[str], **extra: Any) -> dict[str, Any]:
    payload = webhook_example("push")
    payload["commits"] = [{"id": "c1", "added": [], "removed": [], "modified": paths}]
    payload.update(extra)
    return payload


def test_a_push_that_changes_governance_refreshes_the_branch() -> None:
    names, seen = _run("push", _push(["README.md", ".maestro/freeze_windows.json"], ref="refs/heads/main"))
    assert names == ["push.governance"]
    (event,) = seen
    assert isinstance(event, BranchEvent)
    assert (event.branch, event.paths) == ("main", (".maestro/freeze_windows.json",))


def test_pushes_that_change_no_governance_are_ignored() -> None:
    assert _run("push", _push(["README.md", ".maestro/changes/20260101-x.yaml"])) == ([], [])
    assert _run("push", _push([".maestro/rules.json"], ref="refs/tags/v1")) == ([], [])
    assert _run("push", _push([".maestro/rules.json"], deleted=True)) == ([], [])


def test_a_push_whose_commits_are_not_listed_counts_as_a_governance_change() -> None:
    event = branch_event(_push([], commits=[], ref="refs/heads/release/1"), "d")
    assert event is not None and event.branch == "release/1"


def test_a_merge_group_is_evaluated_on_its_head() -> None:
    payload = webhook_example("merge_group", "checks_requested")
    names, seen = _run("merge_group", payload)
    assert names == ["merge_group.checks_requested"]
    (event,) = seen
    assert isinstance(event, MergeGroupEvent)
    assert (event.head_sha, event.base_branch) == (payload["merge_group"]["head_sha"], "main")


def test_a_merge_group_without_its_head_is_ignored_with_the_field_named(caplog: pytest.LogCaptureFixture) -> None:
    payload = webhook_example("merge_group", "checks_requested")
    del payload["merge_group"]["head_sha"]
    assert _run("merge_group", payload) == ([], [])
    assert "merge_group.head_sha is missing" in caplog.text
