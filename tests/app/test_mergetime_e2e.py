"""Verdicts that hold at merge time and as the calendar turns: the App end to end with an injected clock.

uvicorn on 127.0.0.1 serves the same ASGI app ``changebot serve`` builds (``create_app`` with the router, the
handlers, the durable queue in a SQLite file that outlives a restart, and the refresh and rebuild tasks); GitHub
is the REST double (checked against @octokit/openapi), also issuing the App's installation tokens; webhook
payloads come from @octokit/webhooks-examples; the repository is a real git repository cloned over
``file://``. The weekend freeze runs Fri 17:00 to Mon 09:00 Europe/Dublin.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from changebot.adapters.git.clones import CloneCache
from changebot.adapters.github.app_auth import AppAuth
from changebot.adapters.queue import Queue, open_queue
from changebot.app.audit import AppAuditor
from changebot.app.config import AppConfig
from changebot.app.deployments import QueueDeployments
from changebot.app.github import app_handlers
from changebot.app.metrics import Metrics
from changebot.app.refresh import REFRESH, QueueSchedule, installed_pull_requests, schedule_rebuild
from changebot.app.runtime import queue_tasks
from changebot.app.webhook import create_app
from changebot.github.router import GitHubRouter, Repo
from tests.support.app_token_server import APP_ID, KEY_PEM, PUBLIC_KEY
from tests.support.asgi_server import serve
from tests.support.github_double import GitHubDouble
from tests.support.octokit import webhook_example
from tests.support.repos import GitRepo

SECRET = b"mergetime secret"
REPO = "octo/app"
THURSDAY = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PIPELINE = """\
pipeline: {name: p, steps: [{id: a, run: x}]}
freeze_windows:
  - {name: weekend, start: "FRI 17:00 Europe/Dublin", end: "MON 09:00 Europe/Dublin"}
"""
RULES = json.dumps(
    [
        {
            "id": "risky",
            "when": {"==": [{"var": "kind"}, "pull_request"]},
            "if": "payload.labels.includes('risk:high')",
            "then": [{"do": "comment", "with": {"body": "High risk: page the release captain."}}],
        }
    ]
)
REASON = "payments outage hotfix, INC-4411 approved by the release captain"


def verify_jwt(token: str) -> bool:
    try:
        claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"], options={"verify_exp": False})
    except jwt.PyJWTError:
        return False
    return str(claims.get("iss")) == APP_ID


@dataclass
class Scene:
    github: GitHubDouble
    upstream: GitRepo
    base: str
    clock: list[datetime]
    tmp: Path
    url: str = ""
    app: Any = None
    queue: Queue | None = None
    deliveries: int = 0
    heads: dict[int, str] = field(default_factory=dict)

    def idle(self) -> None:
        workers = self.app.state.changebot.workers
        workers.wake()
        time.sleep(0.05)
        assert workers.wait_idle(60)

    def post(self, event: str, payload: dict[str, Any]) -> httpx.Response:
        self.deliveries += 1
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": f"delivery-{self.deliveries}",
            "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json",
        }
        response = httpx.post(self.url + "/webhook", content=body, headers=headers, timeout=10)
        self.idle()
        return response

    def _repository(self, payload: dict[str, Any]) -> dict[str, Any]:
        payload["repository"]["full_name"] = REPO
        payload["repository"]["clone_url"] = f"file://{self.upstream.path}"
        payload["installation"] = {"id": 42}
        return payload

    def pr_event(self, number: int, action: str) -> dict[str, Any]:
        payload = self._repository(webhook_example("pull_request", action))
        pull = self.github.pulls[REPO][number]
        payload["number"] = number
        payload["pull_request"].update(number=number, updated_at=self.clock[0].isoformat())
        payload["pull_request"]["base"].update(ref="main", sha=self.base)
        payload["pull_request"]["head"].update(ref=pull.head_ref, sha=pull.head_sha)
        payload["pull_request"]["head"]["repo"]["full_name"] = REPO
        return payload

    def comment(self, number: int, body: str, login: str = "alice") -> dict[str, Any]:
        payload = self._repository(webhook_example("issue_comment", "created"))
        payload["issue"]["number"] = number
        payload["issue"]["pull_request"] = {"url": f"{self.github.base_url}/repos/{REPO}/pulls/{number}"}
        posted = self.github.add_comment(REPO, number, body, login)
        payload["comment"].update(body=body, id=posted["id"], created_at=self.clock[0].isoformat())
        payload["comment"]["user"].update(login=login, type="User")
        return payload

    def merge_group(self, numbers: list[int]) -> tuple[str, dict[str, Any]]:
        """The merge queue's branch: main plus a merge commit per PR, as GitHub builds it."""
        last = numbers[-1]
        branch = f"gh-readonly-queue/main/pr-{last}-{self.heads[last]}"
        self.upstream.git("checkout", "-q", "-B", branch, "main")
        for number in numbers:
            self.upstream.git("merge", "-q", "--no-ff", f"pr{number}", "-m", f"Merge pull request #{number} from o/pr")
        head = self.upstream.git("rev-parse", "HEAD")
        self.upstream.checkout("main")
        payload = self._repository(webhook_example("merge_group", "checks_requested"))
        payload["merge_group"].update(head_sha=head, head_ref=f"refs/heads/{branch}", base_sha=self.base)
        payload["merge_group"]["base_ref"] = "refs/heads/main"
        return head, payload

    def runs(self, sha: str) -> list[dict[str, Any]]:
        return [r for r in self.github.check_runs.get(REPO, []) if r["head_sha"] == sha]

    def conclusion(self, sha: str) -> str:
        (run,) = self.runs(sha)
        return str(run["conclusion"])

    def tick_at(self, instant: datetime) -> None:
        """Move the clock; the workers (polling every 250 ms) run the refreshes now due; wait for the work."""
        self.clock[0] = instant
        time.sleep(0.3)
        self.idle()

    def planned(self, number: int) -> datetime | None:
        """When the queue holds PR ``number``'s next refresh (``None``: not planned)."""
        assert self.queue is not None
        key = f"{REPO}#{number}"
        due = [e.due for e in self.queue.entries(0.0, "ready", 1000) if e.name == REFRESH and e.key == key]
        return datetime.fromtimestamp(max(due), UTC) if due else None

    @contextmanager
    def running(self) -> Iterator[QueueSchedule]:
        """One life of the server over the same queue file; at start it plans every open PR again."""
        queue = open_queue(f"sqlite:///{self.tmp / 'queue.db'}")
        schedule = QueueSchedule(queue)
        self.queue = queue
        with AppAuth(APP_ID, KEY_PEM, self.github.base_url) as auth:
            clones = CloneCache(self.tmp / "clones", protocols=("file",))
            handlers = app_handlers(
                auth,
                clones,
                self.github.base_url,
                self.github.bot_login,
                clock=lambda: self.clock[0],
                schedule=schedule,
                waiting=QueueDeployments(queue),
            )
            handlers.lag_pause = 0.05
            auditor = AppAuditor(auth, clones, self.github.base_url, self.github.bot_login, Metrics())
            tasks = queue_tasks(
                handlers,
                schedule,
                lambda: installed_pull_requests(
                    auth, self.github.base_url, self.github.bot_login, auditor.repositories
                ),
                clock=lambda: self.clock[0],
            )
            config = AppConfig(webhook_secret=SECRET, clone_dir=self.tmp, state_dir=self.tmp, workers=2)
            self.app = create_app(
                config,
                GitHubRouter(handlers, self.github.bot_login),
                clock=lambda: self.clock[0].timestamp(),  # noqa: PLW0108 - the clock moves: read it each call
                queue=queue,
                tasks=tasks,
                startup=(lambda: schedule_rebuild(queue, self.clock[0].timestamp()),),
            )
            try:
                with serve(self.app) as url:
                    self.url = url
                    time.sleep(0.2)
                    self.idle()
                    yield schedule
            finally:
                auditor.close()
                queue.close()


@pytest.fixture
def scene(github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path) -> Scene:
    upstream = make_repo(
        {
            ".maestro/changebot.yaml": "version: 1\n",
            ".maestro/pipeline.yaml": PIPELINE,
            ".maestro/rules.json": RULES,
            "release-policy.yml": "override:\n  allowed: true\n  require_reason: true\n  reason_min_len: 20\n",
        }
    )
    upstream.git("config", "uploadpack.allowFilter", "true")
    upstream.git("config", "uploadpack.allowAnySHA1InWant", "true")
    base = upstream.git("rev-parse", "HEAD")
    scene = Scene(github, upstream, base, [THURSDAY], tmp_path)
    for number in (7, 8):
        upstream.branch(f"pr{number}", base)
        upstream.checkout(f"pr{number}")
        path = f".maestro/changes/2026120{number}-fix.yaml"
        head = upstream.commit({path: "area: payments\nintent: fix\n"}, f"change {number}")
        upstream.checkout("main")
        github.add_pull(REPO, number, head_sha=head, base_sha=base, files=[path], head_ref=f"pr{number}")
        scene.heads[number] = head
    github.permissions[REPO] = {"alice": "maintain"}
    github.jwt_verifier = verify_jwt
    github.installations = {42: [REPO]}
    github.clone_urls = {REPO: f"file://{upstream.path}"}
    github.default_branches = {REPO: "main"}
    return scene


def test_the_weekend_freeze_flips_checks_gates_the_merge_queue_and_survives_a_restart(scene: Scene) -> None:
    pr7 = scene.heads[7]
    with scene.running() as schedule:
        # Thursday: the PR opens and passes; its next refresh is when the freeze warning starts.
        scene.post("pull_request", scene.pr_event(7, "opened"))
        assert scene.conclusion(pr7) == "success"
        assert scene.planned(7) == datetime(2026, 12, 3, 17, tzinfo=UTC)
        assert (
            "**Next change:** the warning of an upcoming freeze 'weekend' starts in 5 h"
            in scene.runs(pr7)[0]["output"]["summary"]
        )

        # A label added after the PR opened re-runs the rules.
        scene.github.pulls[REPO][7].labels.append("risk:high")
        scene.post("pull_request", scene.pr_event(7, "labeled"))
        bodies = [c["body"] for c in scene.github.comments[REPO][7]]
        assert any(b.startswith("High risk: page the release captain.") for b in bodies)

        # Friday 17:00 passes with no event: the check becomes failure within one look of the loop.
        scene.tick_at(datetime(2026, 12, 3, 17, 0, 1, tzinfo=UTC))
        assert scene.conclusion(pr7) == "neutral"
        scene.tick_at(datetime(2026, 12, 4, 17, 0, 1, tzinfo=UTC))
        assert scene.conclusion(pr7) == "failure"
        assert "frozen until Mon 09:00 Europe/Dublin (in 2 days)" in scene.runs(pr7)[0]["output"]["summary"]

        # Nothing changed an hour later: the refresh reads the PR and writes nothing.
        schedule.plan(Repo(REPO, f"file://{scene.upstream.path}", 42), 7, datetime(2026, 12, 4, 18, tzinfo=UTC))
        before = len(scene.github.requests)
        scene.tick_at(datetime(2026, 12, 4, 18, 0, 1, tzinfo=UTC))
        calls = [f"{c.method} {c.template}" for c in scene.github.requests[before:] if "/app/" not in c.template]
        assert calls == [
            "GET /repos/{owner}/{repo}/pulls/{pull_number}",
            "GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
        ]

        # A merge group during the freeze fails on the group's SHA.
        group, payload = scene.merge_group([7])
        before = len(scene.github.requests)
        scene.post("merge_group", payload)
        assert scene.conclusion(group) == "failure"
        calls = [f"{c.method} {c.template}" for c in scene.github.requests[before:] if "/app/" not in c.template]
        assert len(calls) == 5, calls  # PR + files + comments of the one PR, check runs on the SHA, create

        # A hotfix PR with a valid freeze override passes its own merge group.
        scene.post("pull_request", scene.pr_event(8, "opened"))
        scene.post("issue_comment", scene.comment(8, f'/changebot override freeze --reason "{REASON}"'))
        assert scene.runs(scene.heads[8])[-1]["conclusion"] == "neutral"
        hotfix, payload = scene.merge_group([8])
        scene.post("merge_group", payload)
        assert scene.conclusion(hotfix) == "neutral"
        assert "overridden by alice" in scene.runs(hotfix)[0]["output"]["summary"]
        # ...but not a group that also carries PR 7, which has no override.
        both, payload = scene.merge_group([8, 7])
        scene.post("merge_group", payload)
        assert scene.conclusion(both) == "failure"

    # A restart in the middle of the freeze: the schedule is rebuilt from the open PRs, nothing is lost.
    scene.clock[0] = datetime(2026, 12, 5, 12, tzinfo=UTC)
    with scene.running():
        assert scene.planned(7) == datetime(2026, 12, 7, 9, tzinfo=UTC)
        assert scene.conclusion(pr7) == "failure"
        scene.tick_at(datetime(2026, 12, 7, 9, 0, 30, tzinfo=UTC))
        assert scene.conclusion(pr7) == "success"
