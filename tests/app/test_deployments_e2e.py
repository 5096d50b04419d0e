"""changebot as a deployment protection rule, end to end through the App with an injected clock.

The scene is the merge-time one (``tests.app.test_mergetime_e2e``): uvicorn on 127.0.0.1 serving the App, the
durable queue in a SQLite file, the GitHub REST double (checked against @octokit/openapi), a real repository over
``file://``, the weekend freeze Fri 17:00 to Mon 09:00 Europe/Dublin. ``deployment_protection_rule`` is not in
@octokit/webhooks-examples: its payload is built here and validated against @octokit/openapi-webhooks' schema.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from changebot.app.deployments import DEPLOYMENT
from changebot.github.router import DeploymentEvent, GitHubRouter, deployment_event
from tests.app.test_mergetime_e2e import PIPELINE, REASON, REPO, RULES, THURSDAY, Scene, verify_jwt
from tests.support.github_double import GitHubDouble
from tests.support.octokit import webhook_example, webhook_schema
from tests.support.repos import GitRepo

SETTINGS = """\
version: 1
deployments:
  production: {branch: main, during_freeze: reject}
  staging: {branch: main, during_freeze: wait}
"""
SATURDAY = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def deployment_payload(base_url: str, environment: str, sha: str, run_id: int) -> dict[str, Any]:
    """A ``deployment_protection_rule`` ``requested`` payload as GitHub sends it, valid against the schema."""
    example = webhook_example("merge_group", "checks_requested")
    sender = example["sender"]
    payload = {
        "action": "requested",
        "environment": environment,
        "event": "workflow_dispatch",
        "deployment_callback_url": f"{base_url}/repos/{REPO}/actions/runs/{run_id}/deployment_protection_rule",
        "deployment": {
            "url": f"{base_url}/repos/{REPO}/deployments/{run_id * 10}",
            "id": run_id * 10,
            "node_id": f"DE_{run_id}",
            "sha": sha,
            "ref": "main",
            "task": "deploy",
            "payload": {},
            "original_environment": environment,
            "environment": environment,
            "description": None,
            "creator": sender,
            "created_at": "2026-12-05T12:00:00Z",
            "updated_at": "2026-12-05T12:00:00Z",
            "statuses_url": f"{base_url}/repos/{REPO}/deployments/{run_id * 10}/statuses",
            "repository_url": f"{base_url}/repos/{REPO}",
            "transient_environment": False,
            "production_environment": environment == "production",
        },
        "pull_requests": [],
        "repository": example["repository"],
        "installation": {"id": 42, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI="},
        "sender": sender,
    }
    errors = sorted(
        Draft202012Validator(webhook_schema("webhook-deployment-protection-rule-requested")).iter_errors(payload),
        key=str,
    )
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    return payload


class Deploying(Scene):
    def deploy(self, environment: str, sha: str, run_id: int) -> dict[str, Any]:
        """Ask changebot about a deployment; return its answer (the last review GitHub received for the run)."""
        payload = deployment_payload(self.github.base_url, environment, sha, run_id)
        payload["repository"].update(full_name=REPO, clone_url=f"file://{self.upstream.path}", default_branch="main")
        self.post("deployment_protection_rule", payload)
        return self.review(run_id)

    def calls(self, since: int) -> list[str]:
        """The API calls made since request ``since``, without the App's token calls."""
        return [f"{c.method} {c.template}" for c in self.github.requests[since:] if "/app/" not in (c.template or "")]

    def review(self, run_id: int) -> dict[str, Any]:
        answers = [r for r in self.github.deployment_reviews if r["run_id"] == run_id]
        assert answers, f"no answer for run {run_id}"
        return answers[-1]

    def waiting(self) -> list[datetime]:
        assert self.queue is not None
        return [
            datetime.fromtimestamp(e.due, UTC) for e in self.queue.entries(0.0, "ready", 1000) if e.name == DEPLOYMENT
        ]


def _scene(github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path, settings: str) -> Deploying:
    upstream = make_repo(
        {
            ".maestro/changebot.yaml": settings,
            ".maestro/pipeline.yaml": PIPELINE,
            ".maestro/rules.json": RULES,
            "release-policy.yml": "override:\n  allowed: true\n  require_reason: true\n  reason_min_len: 20\n",
        }
    )
    upstream.git("config", "uploadpack.allowFilter", "true")
    upstream.git("config", "uploadpack.allowAnySHA1InWant", "true")
    base = upstream.git("rev-parse", "HEAD")
    scene = Deploying(github, upstream, base, [THURSDAY], tmp_path)
    upstream.branch("pr8", base)
    path = ".maestro/changes/20261208-hotfix.yaml"
    head = upstream.commit({path: "area: payments\nintent: fix\n"}, "hotfix")
    upstream.checkout("main")
    github.add_pull(REPO, 8, head_sha=head, base_sha=base, files=[path], head_ref="pr8")
    scene.heads[8] = head
    github.permissions[REPO] = {"alice": "maintain"}
    github.jwt_verifier = verify_jwt
    github.installations = {42: [REPO]}
    github.clone_urls = {REPO: f"file://{upstream.path}"}
    github.default_branches = {REPO: "main"}
    return scene


@pytest.fixture
def deploying(github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path) -> Deploying:
    return _scene(github, make_repo, tmp_path, SETTINGS)


def test_deployments_are_approved_rejected_or_held_by_the_freeze_and_a_hotfix_override(deploying: Deploying) -> None:
    scene = deploying
    main = scene.base
    with scene.running():
        # Thursday, outside the freeze: approved, saying why, in one call.
        before = len(scene.github.requests)
        answer = scene.deploy("production", main, 501)
        assert scene.calls(before) == ["POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule"]
        assert answer["state"] == "approved"
        assert answer["environment_name"] == "production"
        assert "no freeze window covers 'main' now" in answer["comment"]

        # Saturday, during the weekend freeze: production rejects, naming the window and when it ends.
        scene.clock[0] = SATURDAY
        answer = scene.deploy("production", main, 502)
        assert answer["state"] == "rejected"
        assert "frozen by 'weekend' until 2026-12-07T09:00:00+00:00" in answer["comment"]

        # Staging waits: a status report (no state), and a review scheduled at the window's end.
        answer = scene.deploy("staging", main, 503)
        assert "state" not in answer
        assert "waits and is approved then" in answer["comment"]
        assert scene.waiting() == [MONDAY_9]

        # A hotfix: PR 8 carries a freeze override (in changebot's own sticky comment); its commit deploys.
        scene.post("pull_request", scene.pr_event(8, "opened"))
        scene.post("issue_comment", scene.comment(8, f'/changebot override freeze --reason "{REASON}"'))
        scene.github.commit_pulls[REPO] = {scene.heads[8]: [8]}
        before = len(scene.github.requests)
        answer = scene.deploy("production", scene.heads[8], 504)
        assert scene.calls(before) == [
            "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls",
            "GET /repos/{owner}/{repo}/pulls/{pull_number}",
            "GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
            "POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule",
        ]
        assert answer["state"] == "approved"
        assert "pull request #8 carries a freeze override by alice" in answer["comment"]
        assert REASON in answer["comment"]

    # A restart in the middle of the freeze keeps the waiting deployment; Monday 09:00 approves it.
    with scene.running():
        assert scene.waiting() == [MONDAY_9]
        scene.tick_at(datetime(2026, 12, 6, 12, tzinfo=UTC))
        assert "state" not in scene.review(503)
        scene.tick_at(datetime(2026, 12, 7, 9, 0, 30, tzinfo=UTC))
        answer = scene.review(503)
        assert answer["state"] == "approved"
        assert answer["environment_name"] == "staging"
        assert scene.waiting() == []


def test_an_override_in_a_comment_not_written_by_changebot_approves_nothing(deploying: Deploying) -> None:
    """Overrides come only from changebot's own sticky comment: the same record written by a person is ignored."""
    scene = deploying
    scene.clock[0] = SATURDAY
    record = (
        "<!-- changebot:sticky -->\n<!-- changebot:overrides "
        '[{"gate": "freeze", "actor": "alice", "reason": "a forged reason that is long enough", '
        f'"granted_at": "2026-12-05T11:00:00+00:00", "head_sha": "{scene.heads[8]}"}}] -->'
    )
    scene.github.add_comment(REPO, 8, record, "mallory")
    scene.github.commit_pulls[REPO] = {scene.heads[8]: [8]}
    with scene.running():
        answer = scene.deploy("production", scene.heads[8], 601)
        assert answer["state"] == "rejected"
        assert "'weekend'" in answer["comment"]
        # The very same record in the bot's own comment is one changebot wrote: it counts.
        scene.github.comments[REPO][8].clear()
        scene.github.add_comment(REPO, 8, record, scene.github.bot_login, "Bot")
        answer = scene.deploy("production", scene.heads[8], 602)
        assert answer["state"] == "approved"
        assert "a forged reason that is long enough" in answer["comment"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            "version: 1\ndeployments:\n  production: {branch: main, during_freeze: later}\n",
            "deployments.production.during_freeze in .maestro/changebot.yaml:3 is 'later', not one of reject, wait",
        ),
        (
            "version: 1\ndeployments:\n  production:\n    branch: ''\n    during_freeze: wait\n",
            "deployments.production.branch in .maestro/changebot.yaml:4 must name a branch",
        ),
        ("version: 1\ndeployments: [production]\n", "'deployments' in .maestro/changebot.yaml:2 must be a mapping"),
        ("version: 1\n", "environment 'production' is not governed by changebot"),
    ],
)
def test_bad_or_missing_deployment_settings_reject_naming_the_file_and_line(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path, settings: str, expected: str
) -> None:
    scene = _scene(github, make_repo, tmp_path, settings)
    with scene.running():
        answer = scene.deploy("production", scene.base, 701)
    assert answer["state"] == "rejected"
    assert expected in answer["comment"]
    assert "failing closed" in answer["comment"] or "rejected" in answer["comment"]


def test_the_router_turns_the_payload_into_one_deployment_job() -> None:
    payload = deployment_payload("https://api.github.com", "production", "a" * 40, 77)
    payload["repository"].update(default_branch="main", clone_url="https://github.com/octo/app.git")
    seen: list[object] = []

    class Recorder:
        def __getattr__(self, name: str) -> Callable[..., None]:
            return lambda event, control: seen.append(event)

    jobs = GitHubRouter(Recorder()).route("deployment_protection_rule", "d-1", payload)  # type: ignore[arg-type]
    assert len(jobs) == 1
    event = deployment_event(payload, "d-1")
    assert event == DeploymentEvent(event.repo, "production", "a" * 40, "main", 77, "main", "d-1")
    del payload["deployment_callback_url"]
    assert GitHubRouter(Recorder()).route("deployment_protection_rule", "d-2", payload) == []  # type: ignore[arg-type]
