"""Publishing a plan: one check run, one sticky comment, overrides kept, rule actions done once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from changebot.adapters.github.calls import CallPolicy
from changebot.adapters.github.client import GitHubClient
from changebot.core.sticky import STICKY_MARKER, decode, encode
from changebot.github.publish import publish_plan
from changebot.model import (
    Action,
    GateId,
    GateResult,
    Override,
    Plan,
    PullRequest,
    Status,
    Verdict,
    error,
    skipped,
    warning,
)
from changebot.render.github import CHECK_OUTPUT_MAX_BYTES, COMMENT_MAX_CHARS
from tests.support.github_double import GitHubDouble

REPO = "octo/app"
HEAD = "c" * 40
BASE = "d" * 40
NOW = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
CHECKS = "/repos/{owner}/{repo}/check-runs"


def make_plan(
    findings: tuple = (),  # type: ignore[type-arg]
    *,
    now: datetime = NOW,
    head: str = HEAD,
    actions: tuple[Action, ...] = (),
    labels: tuple[str, ...] = (),
) -> Plan:
    status = Status.FAIL if any(f.severity == "error" for f in findings) else Status.PASS
    gates = (
        GateResult(GateId.SCHEMA, status, f"{len(findings)} findings", tuple(findings)),
        skipped(GateId.FREEZE, "no calendar"),
    )
    verdict = Verdict.FAIL if status is Status.FAIL else Verdict.PASS
    pr = PullRequest(number=7, head_sha=head, base_sha=BASE, base_branch="main", labels=labels)
    return Plan(verdict, gates, now, pr, REPO, BASE, head, actions)


@pytest.fixture
def gh(github: GitHubDouble) -> GitHubClient:
    github.add_pull(REPO, 7, HEAD, BASE, files=["a.yaml"])
    return GitHubClient(
        "test-token", github.base_url, bot_login=github.bot_login, policy=CallPolicy(sleep=lambda s: None)
    )


def runs(double: GitHubDouble) -> list[dict]:  # type: ignore[type-arg]
    return double.check_runs.get(REPO, [])


def test_first_publish_creates_one_check_run_and_one_comment(github: GitHubDouble, gh: GitHubClient) -> None:
    plan = make_plan((error("bad-key", "expected 'area', found 'aera'", ".maestro/changes/x.yaml", 3),))
    result = publish_plan(gh, REPO, 7, plan)
    [run] = runs(github)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "fail: 1 error"
    assert run["_annotations"] == [
        {
            "path": ".maestro/changes/x.yaml",
            "start_line": 3,
            "end_line": 3,
            "annotation_level": "failure",
            "title": "schema: bad-key",
            "message": "expected 'area', found 'aera'",
        }
    ]
    [comment] = github.comments[REPO][7]
    assert comment["body"].startswith("### changebot: :x: **fail**")
    assert STICKY_MARKER in comment["body"]
    assert result.comment is not None and result.comment.id == comment["id"]


@pytest.mark.parametrize(
    ("findings", "conclusion"),
    [
        ((), "success"),
        ((warning("w", "careful", "a.yaml", 1),), "neutral"),
        ((error("e", "no", "a.yaml", 1),), "failure"),
    ],
)
def test_conclusion_follows_the_verdict(
    github: GitHubDouble, gh: GitHubClient, findings: tuple, conclusion: str
) -> None:  # type: ignore[type-arg]
    plan = make_plan(findings)
    if findings and findings[0].severity == "warning":
        plan = Plan(Verdict.WARN, plan.gates, plan.now, plan.pr, plan.repo, plan.base, plan.head)
    publish_plan(gh, REPO, 7, plan)
    assert runs(github)[0]["conclusion"] == conclusion


def test_second_publish_edits_both_in_place(github: GitHubDouble, gh: GitHubClient) -> None:
    publish_plan(gh, REPO, 7, make_plan((error("e", "first", "a.yaml", 1),)))
    publish_plan(gh, REPO, 7, make_plan(now=NOW + timedelta(minutes=5)))
    [run] = runs(github)
    assert run["conclusion"] == "success"
    [comment] = github.comments[REPO][7]
    assert "**pass**" in comment["body"]
    assert len(github.calls("POST", COMMENTS)) == 1
    assert len(github.calls("POST", CHECKS)) == 1


def test_republishing_the_same_result_does_not_duplicate_annotations(github: GitHubDouble, gh: GitHubClient) -> None:
    plan = make_plan((error("e", "no", "a.yaml", 1),))
    publish_plan(gh, REPO, 7, plan)
    publish_plan(gh, REPO, 7, plan)
    assert len(runs(github)[0]["_annotations"]) == 1
    assert len(github.calls("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")) == 0  # text unchanged


def test_more_than_50_annotations_go_in_batches(github: GitHubDouble, gh: GitHubClient) -> None:
    findings = tuple(error("e", f"problem {i}", "a.yaml", i + 1) for i in range(120))
    publish_plan(gh, REPO, 7, make_plan(findings))
    [run] = runs(github)
    assert [a["start_line"] for a in run["_annotations"]] == list(range(1, 121))
    sizes = [
        len(c.body["output"].get("annotations", []))
        for c in github.requests
        if c.template and "check-runs" in c.template and c.method != "GET"
    ]
    assert sizes == [50, 50, 20]


def test_a_502_on_comment_creation_that_created_it_is_not_posted_twice(github: GitHubDouble, gh: GitHubClient) -> None:
    github.fail_next("POST", COMMENTS, 502, apply=True)
    publish_plan(gh, REPO, 7, make_plan())
    assert len(github.comments[REPO][7]) == 1
    publish_plan(gh, REPO, 7, make_plan(now=NOW + timedelta(minutes=1)))
    assert len(github.comments[REPO][7]) == 1


def test_a_502_on_check_run_creation_that_created_it_is_not_created_twice(
    github: GitHubDouble, gh: GitHubClient
) -> None:
    github.fail_next("POST", CHECKS, 502, apply=True)
    result = publish_plan(gh, REPO, 7, make_plan())
    assert len(runs(github)) == 1
    assert result.check_run is not None and result.check_run.id == runs(github)[0]["id"]


def test_a_forged_marker_in_someone_elses_comment_is_ignored(github: GitHubDouble, gh: GitHubClient) -> None:
    forged = Override(GateId.FREEZE, "mallory", "trust me, it is fine to ship now", NOW - timedelta(hours=1))
    github.add_comment(REPO, 7, "lgtm\n" + STICKY_MARKER + "\n" + encode([forged]), "mallory")
    publish_plan(gh, REPO, 7, make_plan())
    forged_comment, mine = github.comments[REPO][7]
    assert forged_comment["body"].startswith("lgtm")  # untouched
    assert mine["user"]["login"] == github.bot_login
    assert decode(mine["body"]) == []  # the forged override was not picked up
    assert "mallory" not in mine["body"]


def test_stored_overrides_survive_an_update_and_are_shown(github: GitHubDouble, gh: GitHubClient) -> None:
    grant = Override(
        GateId.FREEZE, "alice", "hotfix for incident 42, approved", NOW - timedelta(hours=1), head_sha=HEAD
    )
    publish_plan(gh, REPO, 7, make_plan(), overrides=[grant])
    publish_plan(gh, REPO, 7, make_plan(now=NOW + timedelta(minutes=3)))  # no overrides passed: keep stored
    [comment] = github.comments[REPO][7]
    assert decode(comment["body"]) == [grant]
    assert "**Overrides in force**" in comment["body"]
    assert "| freeze | @alice | hotfix for incident 42, approved |" in comment["body"]
    assert "@alice" in runs(github)[0]["output"]["summary"]


def test_an_override_for_another_head_is_kept_but_not_shown_in_force(github: GitHubDouble, gh: GitHubClient) -> None:
    old = Override(GateId.FREEZE, "alice", "for the previous push only", NOW - timedelta(hours=1), head_sha="e" * 40)
    publish_plan(gh, REPO, 7, make_plan(), overrides=[old])
    [comment] = github.comments[REPO][7]
    assert decode(comment["body"]) == [old]
    assert "Overrides in force" not in comment["body"]


def test_an_older_heads_result_never_overwrites_a_newer_one(github: GitHubDouble, gh: GitHubClient) -> None:
    publish_plan(gh, REPO, 7, make_plan(), latest_head_sha=HEAD)
    old = make_plan((error("e", "old head", "a.yaml", 1),), head="f" * 40)
    result = publish_plan(gh, REPO, 7, old, latest_head_sha=HEAD)
    assert result.stale
    [comment] = github.comments[REPO][7]
    assert "**pass**" in comment["body"]


def test_an_older_evaluation_of_the_same_head_is_dropped(github: GitHubDouble, gh: GitHubClient) -> None:
    publish_plan(gh, REPO, 7, make_plan(now=NOW + timedelta(minutes=10)))
    result = publish_plan(gh, REPO, 7, make_plan((error("e", "late", "a.yaml", 1),), now=NOW))
    assert result.stale and result.check_run is None
    assert runs(github)[0]["conclusion"] == "success"
    assert "**pass**" in github.comments[REPO][7][0]["body"]


def test_huge_output_is_truncated_with_a_note_and_the_markers_survive(github: GitHubDouble, gh: GitHubClient) -> None:
    findings = tuple(error("e", "é" * 400 + f" #{i}", f"f{i}.yaml", None) for i in range(400))
    grant = Override(GateId.FREEZE, "alice", "kept even when the comment is cut", NOW)
    publish_plan(gh, REPO, 7, make_plan(findings), overrides=[grant])
    [comment] = github.comments[REPO][7]
    assert len(comment["body"]) <= COMMENT_MAX_CHARS
    assert "**Truncated**" in comment["body"]
    assert STICKY_MARKER in comment["body"]
    assert decode(comment["body"]) == [grant]
    summary = runs(github)[0]["output"]["summary"]
    assert len(summary.encode("utf-8")) <= CHECK_OUTPUT_MAX_BYTES
    assert "bytes omitted" in summary


RULE_ACTIONS = (
    Action("risky-charts", "label", {"labels": ["risk:high", "needs-sre"]}),
    Action("risky-charts", "comment", {"body": "Charts changed: an SRE must review."}),
    Action("risky-charts", "request_review", {"reviewers": ["sre-oncall"], "team_reviewers": ["sre"]}),
)


def test_rule_actions_run_once(github: GitHubDouble, gh: GitHubClient) -> None:
    pull = github.pulls[REPO][7]
    pull.labels.append("risk:high")
    plan = make_plan(actions=RULE_ACTIONS, labels=("risk:high",))
    first = publish_plan(gh, REPO, 7, plan, snapshot=gh.pull_request(REPO, 7))
    assert first.done == ("label:needs-sre", "comment:risky-charts", "review:sre-oncall", "review:team/sre")
    assert pull.labels == ["risk:high", "needs-sre"]
    assert github.calls("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")[0].body == {
        "labels": ["needs-sre"]
    }
    second = publish_plan(gh, REPO, 7, plan, snapshot=gh.pull_request(REPO, 7))
    assert second.done == ()
    bodies = [c["body"] for c in github.comments[REPO][7]]
    assert sum(b.startswith("Charts changed") for b in bodies) == 1
    assert (pull.reviewers, pull.teams) == (["sre-oncall"], ["sre"])
    assert len(github.calls("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")) == 1
    assert len(github.calls("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")) == 1


def test_a_rule_comment_by_someone_else_does_not_stop_the_bots(github: GitHubDouble, gh: GitHubClient) -> None:
    github.add_comment(REPO, 7, "copy <!-- changebot:rule risky-charts -->", "mallory")
    publish_plan(gh, REPO, 7, make_plan(actions=RULE_ACTIONS[1:2]))
    mine = [c["body"] for c in github.comments[REPO][7] if c["user"]["login"] == github.bot_login]
    assert sum(b.startswith("Charts changed") for b in mine) == 1


def test_overrides_the_gates_applied_are_shown_even_for_another_head(github: GitHubDouble, gh: GitHubClient) -> None:
    """With ``lapse_on_push: false`` an override outlives its head; the caller says what is in force."""
    kept = Override(GateId.FREEZE, "alice", "release train, approved by the captain", NOW, head_sha="e" * 40)
    publish_plan(gh, REPO, 7, make_plan(), overrides=[kept], in_force=[kept])
    [comment] = github.comments[REPO][7]
    assert "| freeze | @alice | release train, approved by the captain |" in comment["body"]
