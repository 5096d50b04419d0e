"""The App end to end: uvicorn on 127.0.0.1, real webhook payloads (@octokit/webhooks-examples) signed in the
test, the GitHub REST double (checked against @octokit/openapi), a JWT-verifying token endpoint, and a local
"GitHub" git repository cloned bare and blobless."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from changebot.adapters.git.clones import CloneCache
from changebot.adapters.github.app_auth import AppAuth
from changebot.app.config import AppConfig
from changebot.app.github import app_handlers
from changebot.app.webhook import create_app
from changebot.core.sticky import STICKY_MARKER, decode, encode
from changebot.github.router import GitHubRouter
from changebot.model import GateId, Override
from tests.support.app_token_server import APP_ID, KEY_PEM, Clock, TokenServer
from tests.support.asgi_server import serve
from tests.support.github_double import MAX_PULL_FILES, GitHubDouble
from tests.support.octokit import webhook_example
from tests.support.repos import GIT_ENV, GitRepo

SECRET = b"e2e webhook secret"
REPO = "octo/app"
BOT = "changebot[bot]"
NOW = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
REASON = "payments outage hotfix, INC-4411 approved by the release captain"


@dataclass
class World:
    url: str
    double: GitHubDouble
    upstream: GitRepo
    base: str
    head: str
    clock: list[datetime]
    app: Any
    deliveries: int = 0
    handlers: Any = None

    def post(self, event: str, payload: dict[str, Any], delivery: str | None = None) -> httpx.Response:
        if delivery is None:
            self.deliveries += 1
            delivery = f"delivery-{self.deliveries}"
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json",
        }
        response = httpx.post(self.url + "/webhook", content=body, headers=headers, timeout=10)
        assert self.app.state.changebot.workers.wait_idle(30)
        return response

    def pr_event(self, action: str = "synchronize", head: str | None = None, **pr: Any) -> dict[str, Any]:
        payload = webhook_example("pull_request", action)
        pull = self.double.pulls[REPO][7]
        payload["number"] = 7
        payload["repository"]["full_name"] = REPO
        payload["repository"]["clone_url"] = f"file://{self.upstream.path}"
        payload["installation"] = {"id": 42}
        payload["pull_request"].update(number=7, updated_at=self.clock[0].isoformat(), **pr)
        payload["pull_request"]["base"].update(ref="main", sha=self.base)
        payload["pull_request"]["head"].update(ref=pull.head_ref, sha=head or pull.head_sha)
        payload["pull_request"]["head"]["repo"]["full_name"] = pull.head_repo or REPO
        return payload

    def comment_event(
        self, body: str, login: str = "alice", action: str = "created", kind: str = "User"
    ) -> dict[str, Any]:
        payload = webhook_example("issue_comment", action)
        payload["repository"]["full_name"] = REPO
        payload["repository"]["clone_url"] = f"file://{self.upstream.path}"
        payload["installation"] = {"id": 42}
        payload["issue"]["number"] = 7
        payload["issue"]["pull_request"] = {"url": f"{self.double.base_url}/repos/{REPO}/pulls/7"}
        posted = self.double.add_comment(REPO, 7, body, login, kind)
        posted["created_at"] = posted["updated_at"] = self.clock[0].isoformat()
        payload["comment"]["body"] = body
        payload["comment"]["id"] = posted["id"]
        payload["comment"]["created_at"] = payload["comment"]["updated_at"] = self.clock[0].isoformat()
        payload["comment"]["user"]["login"] = login
        payload["comment"]["user"]["type"] = kind
        return payload

    def bot_comments(self) -> list[dict[str, Any]]:
        return [c for c in self.double.comments[REPO][7] if c["user"]["login"] == BOT]

    def sticky(self) -> dict[str, Any]:
        found = [c for c in self.bot_comments() if STICKY_MARKER in c["body"]]
        assert len(found) == 1, f"expected one sticky comment, found {len(found)}"
        return found[0]

    def replies(self) -> list[str]:
        return [c["body"] for c in self.bot_comments() if "changebot:reply" in c["body"]]

    def check_runs(self, sha: str) -> list[dict[str, Any]]:
        return [r for r in self.double.check_runs.get(REPO, []) if r["head_sha"] == sha]

    def push(self, files: dict[str, str | bytes | None]) -> str:
        self.upstream.checkout("feature")
        sha = self.upstream.commit(files, "another push")
        self.upstream.checkout("main")
        self.double.pulls[REPO][7].head_sha = sha
        self.head = sha
        return sha


SETTINGS = "version: 1\n"


def build_world(
    github: GitHubDouble,
    make_repo: Callable[..., GitRepo],
    tmp_path: Path,
    settings: str = SETTINGS,
    first_tokens: tuple[str, ...] = (),
    **app: Any,
) -> Iterator[World]:
    upstream = make_repo(
        {
            ".maestro/changebot.yaml": settings,
            "release-policy.yml": "override:\n  allowed: true\n  require_reason: true\n  reason_min_len: 20\n",
        }
    )
    upstream.git("config", "uploadpack.allowFilter", "true")
    upstream.git("config", "uploadpack.allowAnySHA1InWant", "true")
    base = upstream.git("rev-parse", "HEAD")
    upstream.branch("feature")
    head = upstream.commit({".maestro/changes/20251220-fix.yaml": "area: payments\nintent: fix\n"}, "a change")
    upstream.checkout("main")
    github.add_pull(REPO, 7, head_sha=head, base_sha=base, files=[".maestro/changes/20251220-fix.yaml"])
    github.permissions[REPO] = {"alice": "maintain", "mallory": "read", "root": "admin"}
    clock = [NOW]
    tokens = TokenServer(Clock(), fixed_token=github.token)
    tokens.queue.extend(first_tokens)
    with serve(tokens.app()) as token_url:
        auth = AppAuth(APP_ID, KEY_PEM, token_url)
        try:
            assert auth.bot_login() == BOT
            handlers = app_handlers(
                auth,
                CloneCache(tmp_path / "clones", protocols=("file",)),
                github.base_url,
                BOT,
                clock=lambda: clock[0],
            )
            handlers.lag_pause = 0.05
            app = create_app(
                AppConfig(webhook_secret=SECRET, clone_dir=tmp_path, state_dir=tmp_path, **app),
                GitHubRouter(handlers, BOT),
            )
            with serve(app) as url:
                yield World(url, github, upstream, base, head, clock, app, handlers=handlers)
        finally:
            auth.close()


@pytest.fixture
def world(github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path) -> Iterator[World]:
    yield from build_world(github, make_repo, tmp_path)


@pytest.mark.parametrize("github_mode", ["full", "required-only"])
def test_pull_request_is_planned_and_published_once(world: World) -> None:
    first = world.post("pull_request", world.pr_event("opened"), delivery="d-1")
    assert first.status_code == 202
    runs = world.check_runs(world.head)
    assert len(runs) == 1
    assert runs[0]["conclusion"] == "success"
    assert runs[0]["output"]["title"].startswith("pass")
    sticky = world.sticky()
    assert sticky["body"].startswith("### changebot")
    # A redelivery has no effect at all; a second delivery for the same head edits, never adds.
    calls = len(world.double.requests)
    assert world.post("pull_request", world.pr_event("opened"), delivery="d-1").json()["status"] == "duplicate"
    assert len(world.double.requests) == calls
    world.clock[0] = NOW + timedelta(minutes=1)
    world.post("pull_request", world.pr_event("synchronize"))
    assert len(world.check_runs(world.head)) == 1
    assert world.sticky()["id"] == sticky["id"]


def test_api_calls_per_pull_request_event(world: World) -> None:
    world.post("pull_request", world.pr_event("opened"))
    # PR + files, comments, check runs, create check run, create comment.
    assert len(world.double.requests) <= 6, [f"{c.method} {c.path}" for c in world.double.requests]


def test_older_head_delivered_after_the_pr_moved_publishes_nothing(world: World) -> None:
    old = world.head
    new = world.push({".maestro/changes/20251221-more.yaml": "area: payments\n"})
    world.post("pull_request", world.pr_event("synchronize", head=new))
    world.clock[0] = NOW - timedelta(minutes=5)  # the old head's delivery arrives late, with its older timestamp
    late = world.post("pull_request", world.pr_event("synchronize", head=old))
    assert late.json()["stale"] == 1
    # and even with a fresh timestamp, GitHub's current head decides: nothing is published for the old head
    world.clock[0] = NOW + timedelta(minutes=5)
    world.post("pull_request", world.pr_event("synchronize", head=old))
    assert world.check_runs(old) == []
    assert len(world.check_runs(new)) == 1
    assert new in world.sticky()["body"]


def test_fork_pull_request(world: World, make_repo: Callable[..., GitRepo]) -> None:
    fork = make_repo(name="fork")
    fork.git("fetch", "-q", str(world.upstream.path), "main")
    fork.git("reset", "-q", "--hard", "FETCH_HEAD")
    fork_head = fork.commit({".maestro/changes/20251222-fork.yaml": "area: fork\nintent: fix\n"}, "from a fork")
    fork.git("push", "-q", str(world.upstream.path), f"{fork_head}:refs/pull/7/head")
    pull = world.double.pulls[REPO][7]
    pull.head_sha, pull.head_repo, pull.head_ref = fork_head, "someone/app", "patch-1"
    world.post("pull_request", world.pr_event("opened", head=fork_head))
    runs = world.check_runs(fork_head)
    assert len(runs) == 1 and runs[0]["conclusion"] == "success"
    assert fork_head in world.sticky()["body"]


def test_read_only_user_is_refused_with_the_reason(world: World) -> None:
    world.post("pull_request", world.pr_event("opened"))
    event = world.comment_event(f'/changebot override freeze --reason "{REASON}"', login="mallory")
    world.post("issue_comment", event)
    assert [r["content"] for r in world.double.reactions[event["comment"]["id"]]] == ["eyes"]
    (reply,) = world.replies()
    assert reply.startswith(
        "@mallory override refused: @mallory has the repository role 'read'; overriding the freeze gate needs one "
        "of: maintain, admin (release-policy.yml override:)"
    )
    assert decode(world.sticky()["body"]) == []


def test_short_reason_is_refused_with_the_minimum(world: World) -> None:
    world.post("issue_comment", world.comment_event('/changebot override freeze --reason "hotfix"'))
    (reply,) = world.replies()
    assert "the reason is 6 visible characters long; overriding the freeze gate needs at least 20" in reply


@pytest.mark.parametrize("github_mode", ["full", "required-only"])
def test_maintainer_override_is_stored_shown_and_lapses_on_push(world: World) -> None:
    world.post("pull_request", world.pr_event("opened"))
    event = world.comment_event(f'/changebot override freeze --reason "{REASON}" --expires 24h')
    world.post("issue_comment", event)
    (reply,) = world.replies()
    assert reply.startswith(f"@alice override of the **freeze** gate granted for `{world.head[:12]}`")
    stored = decode(world.sticky()["body"])
    assert stored == [
        Override(GateId.FREEZE, "alice", REASON, NOW, NOW + timedelta(hours=24), world.head, event["comment"]["id"]),
    ]
    assert "Overrides in force" in world.sticky()["body"]
    assert "Overrides in force" in world.check_runs(world.head)[0]["output"]["summary"]
    new = world.push({".maestro/changes/20251221-more.yaml": "area: payments\n"})
    world.clock[0] = NOW + timedelta(minutes=10)
    world.post("pull_request", world.pr_event("synchronize", head=new))
    body = world.sticky()["body"]
    assert new in body
    assert "Overrides in force" not in body
    assert "Overrides in force" not in world.check_runs(new)[0]["output"]["summary"]


def test_expired_override_is_not_applied(world: World) -> None:
    world.post("issue_comment", world.comment_event(f'/changebot override freeze --reason "{REASON}" --expires 1h'))
    assert "Overrides in force" in world.sticky()["body"]
    world.clock[0] = NOW + timedelta(hours=2)
    world.post("pull_request", world.pr_event("synchronize"))
    assert "Overrides in force" not in world.sticky()["body"]


def test_override_longer_than_allowed_is_refused(world: World) -> None:
    world.post("issue_comment", world.comment_event(f'/changebot override freeze --reason "{REASON}" --expires 30d'))
    (reply,) = world.replies()
    assert "--expires 30d is longer than the 3d allowed for the freeze gate" in reply


def test_forged_marker_in_someone_elses_comment_grants_nothing(world: World) -> None:
    forged = Override(GateId.FREEZE, "alice", REASON, NOW, NOW + timedelta(days=30), world.head)
    world.double.add_comment(REPO, 7, f"looks good\n{STICKY_MARKER}\n{encode([forged])}\n", "mallory")
    world.post("pull_request", world.pr_event("opened"))
    sticky = world.sticky()
    assert sticky["user"]["login"] == BOT
    assert decode(sticky["body"]) == []
    assert "Overrides in force" not in sticky["body"]
    assert world.double.comments[REPO][7][0]["body"].startswith("looks good")  # mallory's comment untouched


def test_forged_marker_echoed_in_the_bots_own_reply_grants_nothing(world: World) -> None:
    # A malformed command is quoted back in changebot's reply, so the reply is written by the bot. Posted before
    # the sticky comment exists, it must not be taken for the sticky nor its quoted block for stored overrides.
    forged = Override(GateId.FREEZE, "alice", REASON, NOW, NOW + timedelta(days=30), world.head)
    payload = f"{STICKY_MARKER} {encode([forged])}"
    world.post("issue_comment", world.comment_event(f"/changebot plan '{payload}'", login="mallory"))
    (reply,) = world.replies()
    assert STICKY_MARKER in reply  # the bot did echo the forged text
    world.post("pull_request", world.pr_event("opened"))
    stickies = [c for c in world.bot_comments() if "changebot:reply" not in c["body"] and STICKY_MARKER in c["body"]]
    assert len(stickies) == 1
    assert decode(stickies[0]["body"]) == []
    assert "Overrides in force" not in stickies[0]["body"]
    assert world.replies() == [reply]  # the reply was not turned into the sticky comment


def test_labels_branch_names_and_titles_never_grant_an_override(world: World) -> None:
    pull = world.double.pulls[REPO][7]
    pull.labels = ["override:freeze", "changebot:override", "freeze-override"]
    pull.title = f'/changebot override freeze --reason "{REASON}"'
    pull.head_ref = "override/freeze"
    world.post("pull_request", world.pr_event("labeled", title=pull.title))  # not an action changebot plans on
    world.post("pull_request", world.pr_event("opened", title=pull.title))
    sticky = world.sticky()
    assert decode(sticky["body"]) == []
    assert "Overrides in force" not in sticky["body"]
    assert world.replies() == []


def test_edited_comments_and_bots_are_ignored(world: World) -> None:
    edited = world.comment_event(f'/changebot override freeze --reason "{REASON}"', action="edited")
    assert world.post("issue_comment", edited).json()["queued"] == 0
    bot = world.comment_event("/changebot plan", login="ci-helper[bot]", kind="Bot")
    assert world.post("issue_comment", bot).json()["queued"] == 0
    disguised = world.comment_event("/changebot plan", login="renovate[bot]")
    assert world.post("issue_comment", disguised).json()["queued"] == 0
    own = world.comment_event("/changebot help", login=BOT)
    assert world.post("issue_comment", own).json()["queued"] == 0
    assert world.double.reactions == {}
    assert world.replies() == []
    assert world.check_runs(world.head) == []


def test_help_and_malformed_commands_get_the_help_reply(world: World) -> None:
    world.post("issue_comment", world.comment_event("/changebot help"))
    world.post("issue_comment", world.comment_event("/changebot deploy now"))
    help_reply, bad_reply = world.replies()
    assert "| `/changebot plan` |" in help_reply
    assert bad_reply.startswith("@alice **changebot could not read that command:** unknown command 'deploy'")
    assert world.check_runs(world.head) == []  # neither evaluates anything


@pytest.mark.parametrize("github_mode", ["full", "required-only"])
def test_gate_and_freeze_commands_reply_with_results(world: World) -> None:
    world.post("issue_comment", world.comment_event("/changebot gate"))
    world.post("issue_comment", world.comment_event("/changebot freeze"))
    gate_reply, freeze_reply = world.replies()
    assert f"changebot's verdict for `{world.head[:12]}`: **pass**" in gate_reply
    assert "| schema | pass |" in gate_reply
    assert freeze_reply.startswith(f"@alice **freeze** gate for `{world.head[:12]}`")
    assert len(world.check_runs(world.head)) == 1


@pytest.fixture
def sticky_world(github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path) -> Iterator[World]:
    settings = (
        "version: 1\ngithub: {check_name: governance}\n"
        "overrides:\n  freeze: {who: [admin], lapse_on_push: false, expires_max: 7d}\n"
    )
    yield from build_world(github, make_repo, tmp_path, settings)


def test_settings_on_the_base_branch_decide_who_and_whether_overrides_lapse(sticky_world: World) -> None:
    world = sticky_world
    world.post("issue_comment", world.comment_event(f'/changebot override freeze --reason "{REASON}"'))
    assert "needs one of: admin" in world.replies()[0]
    world.post("issue_comment", world.comment_event(f'/changebot override freeze --reason "{REASON}"', login="root"))
    assert "granted" in world.replies()[1]
    stored = decode(world.sticky()["body"])
    assert [o.expires_at for o in stored] == [NOW + timedelta(days=7)]
    # lapse_on_push: false on the base branch: a new push keeps it in force (and shown) until it expires
    new = world.push({".maestro/changes/20251221-more.yaml": "area: payments\n"})
    world.clock[0] = NOW + timedelta(hours=1)
    world.post("pull_request", world.pr_event("synchronize", head=new))
    assert new in world.sticky()["body"]
    assert "Overrides in force" in world.sticky()["body"]
    assert [r["name"] for r in world.check_runs(new)] == ["governance"]  # github.check_name from the base branch
    world.clock[0] = NOW + timedelta(days=8)
    world.post("pull_request", world.pr_event("synchronize", head=new))
    assert "Overrides in force" not in world.sticky()["body"]


def test_a_refused_installation_token_is_renewed_once(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    for world in build_world(github, make_repo, tmp_path, first_tokens=("ghs_revoked",)):
        world.post("pull_request", world.pr_event("opened"))
        assert len(world.check_runs(world.head)) == 1
        refused = [c for c in github.requests if c.status == 401]
        assert len(refused) == 1
        assert refused[0].headers.get("Authorization", refused[0].headers.get("authorization")) == "token ghs_revoked"


def test_a_pull_request_that_cannot_be_read_gets_a_failing_check_run_and_commands_say_why(world: World) -> None:
    missing = "f" * 40  # GitHub says this is the head, but the repository does not have it (force-pushed away)
    world.double.pulls[REPO][7].head_sha = missing
    world.post("pull_request", world.pr_event("synchronize", head=missing))
    (run,) = world.check_runs(missing)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("changebot could not evaluate: git fetch failed")
    assert run["output"]["summary"].startswith("git fetch failed")
    world.post("issue_comment", world.comment_event("/changebot gate"))
    (reply,) = world.replies()
    assert reply.startswith("@alice changebot could not evaluate this pull request: git fetch failed")
    assert [c for c in world.bot_comments() if STICKY_MARKER in c["body"]] == []


def test_two_deliveries_for_one_head_at_once_make_one_check_run_and_one_comment(world: World) -> None:
    payload = world.pr_event("opened")
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()

    def deliver(delivery: str) -> int:
        headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signature}
        return httpx.post(world.url + "/webhook", content=body, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(deliver, ["at-once-1", "at-once-2"])) == [202, 202]
    assert world.app.state.changebot.workers.wait_idle(30)
    assert len(world.check_runs(world.head)) == 1
    world.sticky()  # exactly one
    posts = [c for c in world.double.requests if c.method == "POST"]
    assert len(posts) == 2, [c.path for c in posts]  # one check run, one comment: the second delivery edits or waits


def test_an_api_lagging_behind_the_webhook_is_read_again(world: World) -> None:
    old = world.head
    new = world.push({".maestro/changes/20251221-more.yaml": "area: payments\n"})
    pull = world.double.pulls[REPO][7]
    pull.head_sha = old  # the API still shows the old head when the delivery for the new one arrives
    reads = "/repos/{owner}/{repo}/pulls/{pull_number}"

    def catch_up() -> None:  # GitHub's API catches up right after changebot's first read
        deadline = time.monotonic() + 10
        while not world.double.calls("GET", reads) and time.monotonic() < deadline:
            time.sleep(0.001)
        pull.head_sha = new

    watcher = threading.Thread(target=catch_up)
    watcher.start()
    world.post("pull_request", world.pr_event("synchronize", head=new))
    watcher.join()
    assert len(world.double.calls("GET", reads)) == 2
    assert len(world.check_runs(new)) == 1
    assert new in world.sticky()["body"]


def test_a_github_outage_mid_evaluation_leaves_a_failing_check_run_under_the_configured_name(
    sticky_world: World,
) -> None:
    world = sticky_world
    world.double.fail_next("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 500, times=10)
    world.post("pull_request", world.pr_event("opened"))
    (run,) = world.check_runs(world.head)
    assert (run["name"], run["conclusion"]) == ("governance", "failure")
    assert run["output"]["title"].startswith("changebot could not evaluate: GET comments of octo/app#7")
    assert [c for c in world.bot_comments() if STICKY_MARKER in c["body"]] == []
    # Once GitHub answers again, the next delivery replaces the failure with the result.
    world.double.faults.clear()
    world.clock[0] = NOW + timedelta(minutes=1)
    world.post("pull_request", world.pr_event("synchronize"))
    (run,) = world.check_runs(world.head)
    assert run["conclusion"] == "success"
    world.sticky()


def test_an_unexpected_error_in_a_job_still_leaves_a_failing_check_run(world: World, tmp_path: Path) -> None:
    (tmp_path / "clones").write_text("a file where the clone cache should be\n", encoding="utf-8")
    world.post("pull_request", world.pr_event("opened"))
    (run,) = world.check_runs(world.head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("changebot could not evaluate: unexpected FileExistsError")


def test_a_head_that_cannot_be_fetched_fails_the_check_run_named_by_the_base_branch(sticky_world: World) -> None:
    world = sticky_world
    missing = "f" * 40
    world.double.pulls[REPO][7].head_sha = missing
    world.post("pull_request", world.pr_event("synchronize", head=missing))
    (run,) = world.check_runs(missing)
    assert (run["name"], run["conclusion"]) == ("governance", "failure")
    assert run["output"]["title"].startswith("changebot could not evaluate: git fetch failed")


# --- issue 16, item 9: what binds an override ------------------------------------------------------------------


def push_dated(world: World, files: dict[str, str | bytes | None], committed: datetime) -> str:
    """A push whose commit carries the committer date ``committed`` (as the pusher's clock or choice has it)."""
    repo = world.upstream
    repo.checkout("feature")
    repo.write(files)
    repo.git("add", "-A")
    env = {**os.environ, **GIT_ENV, "GIT_COMMITTER_DATE": committed.isoformat()}
    subprocess.run(["git", "-C", str(repo.path), "commit", "-q", "-m", "a push"], check=True, env=env)
    sha = repo.git("rev-parse", "HEAD")
    repo.checkout("main")
    world.double.pulls[REPO][7].head_sha = world.head = sha
    return sha


def test_an_override_written_before_a_push_is_not_granted_for_the_new_head(world: World) -> None:
    world.post("pull_request", world.pr_event("opened"))
    written = world.comment_event(f'/changebot override freeze --reason "{REASON}"')  # while the first head is current
    new = push_dated(world, {".maestro/changes/20251221-more.yaml": "area: payments\n"}, NOW + timedelta(minutes=5))
    world.clock[0] = NOW + timedelta(minutes=6)  # the command's job runs after the push
    world.post("issue_comment", written)
    (reply,) = world.replies()
    assert reply.startswith(
        f"@alice override refused: the head changed after the command was written ({NOW.isoformat()}): commit "
        f"{new[:12]} is newer. An override is for the head it was written for: write the command again, or name "
        f"the head with --sha {new[:12]}"
    )
    assert decode(world.sticky()["body"]) == []


def test_an_override_naming_its_head_binds_to_that_commit_only(world: World) -> None:
    old = world.head
    new = push_dated(world, {".maestro/changes/20251221-more.yaml": "area: payments\n"}, NOW + timedelta(minutes=5))
    world.clock[0] = NOW + timedelta(minutes=6)
    world.post("issue_comment", world.comment_event(f'/changebot override freeze --reason "{REASON}" --sha {old[:10]}'))
    world.post("issue_comment", world.comment_event(f'/changebot override freeze --reason "{REASON}" --sha {new}'))
    refused, granted = world.replies()
    assert refused.startswith(
        f"@alice override refused: the command names commit {old[:10]}, but the head is now {new[:12]}"
    )
    assert granted.startswith(f"@alice override of the **freeze** gate granted for `{new[:12]}`")
    assert [o.head_sha for o in decode(world.sticky()["body"])] == [new]


def test_a_replayed_override_delivery_grants_once(world: World) -> None:
    event = world.comment_event(f'/changebot override freeze --reason "{REASON}"')
    world.post("issue_comment", event, delivery="first")
    first = world.head
    [granted] = decode(world.sticky()["body"])
    assert granted.head_sha == first
    # A commit made before the comment but pushed after it, then the same signed delivery under a new id.
    new = push_dated(world, {".maestro/changes/20251221-more.yaml": "area: payments\n"}, NOW - timedelta(hours=1))
    world.clock[0] = NOW + timedelta(minutes=10)
    assert world.post("issue_comment", event, delivery="replayed").status_code == 202
    assert decode(world.sticky()["body"]) == [granted]
    assert len(world.replies()) == 1
    world.post("pull_request", world.pr_event("synchronize", head=new))
    assert "Overrides in force" not in world.sticky()["body"]


@pytest.mark.parametrize("gate", ["budget", "schema"])
def test_an_override_of_a_gate_that_takes_none_is_refused_not_granted(world: World, gate: str) -> None:
    world.post("issue_comment", world.comment_event(f'/changebot override {gate} --reason "{REASON}"'))
    (reply,) = world.replies()
    assert reply.startswith(
        f"@alice override refused: the {gate} gate cannot be overridden: an override would not change its result "
        "(only the freeze gate takes overrides)"
    )
    assert world.check_runs(world.head) == []


def test_a_reason_padded_with_invisible_characters_is_refused(world: World) -> None:
    padded = "ok" + "\u200b\u200d\u2060\u200f\u3164\u0301" * 5
    world.post("issue_comment", world.comment_event(f'/changebot override freeze --reason "{padded}"'))
    (reply,) = world.replies()
    assert "the reason is 2 visible characters long; overriding the freeze gate needs at least 20" in reply


def test_a_governance_edit_behind_3000_other_files_still_needs_its_owner(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    """Issue 16, item 8: GitHub lists at most 3,000 files; the App takes the rest from its clone."""
    settings = "version: 1\npolicy:\n  governance_owners: [alice]\n"
    for world in build_world(github, make_repo, tmp_path, settings):
        filler = [f"src/gen/file{i:04d}.txt" for i in range(MAX_PULL_FILES)]
        new = world.push({**dict.fromkeys(filler, "generated\n"), "release-policy.yml": "override:\n  allowed: true\n"})
        listed = [*filler, ".maestro/changes/20251220-fix.yaml", "release-policy.yml"]
        world.double.pulls[REPO][7].files = [{"filename": f, "status": "modified"} for f in listed]
        world.post("pull_request", world.pr_event("synchronize", head=new))
        (run,) = world.check_runs(new)
        assert run["conclusion"] == "failure"
        assert (
            "edits governance config (release-policy.yml) and needs an approval from one of alice"
            in (world.sticky()["body"])
        )


@pytest.fixture
def retrying_world(github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path) -> Iterator[World]:
    yield from build_world(github, make_repo, tmp_path, max_attempts=3, retry_backoff_seconds=0.1)


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
SECONDARY = {"headers": {"retry-after": "3600"}, "message": "You have exceeded a secondary rate limit."}


def test_a_job_retried_after_a_github_outage_adds_no_second_check_run_or_comment(retrying_world: World) -> None:
    world = retrying_world
    # GitHub creates the sticky comment, then answers with a secondary rate limit longer than a call may wait:
    # the job fails, goes back to the queue, and its second run finds the comment and the check run it made.
    world.double.fail_next("POST", COMMENTS, 403, apply=True, **SECONDARY)  # type: ignore[arg-type]
    world.post("pull_request", world.pr_event("opened"))
    wait_for(lambda: bool(world.check_runs(world.head)) and world.check_runs(world.head)[0]["conclusion"] == "success")
    assert world.app.state.changebot.workers.wait_idle(30)
    assert len(world.check_runs(world.head)) == 1
    world.sticky()  # exactly one, although GitHub created one and answered 502
    metrics = httpx.get(world.url + "/metrics", timeout=5).text
    assert 'changebot_jobs_total{outcome="retried"} 1.0' in metrics
    assert 'changebot_jobs_total{outcome="run"} 1.0' in metrics
    assert [c.faulted for c in world.double.calls("POST", COMMENTS)] == [True]


def test_a_job_out_of_attempts_is_dead_counted_and_leaves_could_not_evaluate(retrying_world: World) -> None:
    world = retrying_world
    world.double.fail_next("POST", COMMENTS, 403, times=100, **SECONDARY)  # type: ignore[arg-type]
    world.post("pull_request", world.pr_event("opened"))
    state = world.app.state.changebot
    wait_for(lambda: state.queue.stats(time.time()).dead == 1)
    (run,) = world.check_runs(world.head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("changebot could not evaluate")
    metrics = httpx.get(world.url + "/metrics", timeout=5).text
    assert 'changebot_jobs_total{outcome="dead"} 1.0' in metrics
    assert 'changebot_jobs_total{outcome="retried"} 2.0' in metrics
    assert "changebot_queue_dead_jobs 1.0" in metrics
    [dead] = state.queue.entries(time.time(), "dead")
    assert dead.attempts == 3 and "rate limit" in dead.error
    # Replayed once GitHub is back: the same check run turns to the result, one sticky comment appears.
    world.double.faults.clear()
    assert state.queue.revive(dead.id, time.time()) == 1
    state.workers.wake()
    wait_for(lambda: world.check_runs(world.head)[0]["conclusion"] == "success")
    assert len(world.check_runs(world.head)) == 1
    world.sticky()
    world.double.violations.clear()  # the faults answered bodies GitHub's schema would not


@pytest.fixture
def shared_queue_url(postgres_url: str) -> str:
    """A queue that replicas share: a new database on the session PostgreSQL."""
    return postgres_url


@pytest.fixture
def replica_world(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path, shared_queue_url: str
) -> Iterator[World]:
    yield from build_world(github, make_repo, tmp_path, queue_url=shared_queue_url, workers=2)


def test_three_replicas_on_one_shared_queue_make_one_check_run_per_head_and_one_sticky_comment(
    replica_world: World, tmp_path: Path, shared_queue_url: str
) -> None:
    world = replica_world
    config = AppConfig(
        webhook_secret=SECRET, clone_dir=tmp_path, state_dir=tmp_path, queue_url=shared_queue_url, workers=2
    )
    others = [create_app(config, GitHubRouter(world.handlers, BOT)) for _ in range(2)]
    heads = [world.head]
    with serve(others[0]) as second, serve(others[1]) as third:
        replicas = [world.url, second, third]
        bodies = [json.dumps(world.pr_event("opened")).encode()]
        for n in range(3):
            heads.append(world.push({f"notes/{n}.txt": f"push {n}\n"}))
            world.clock[0] += timedelta(minutes=1)
            bodies.append(json.dumps(world.pr_event("synchronize")).encode())
        sent = 0
        for body in bodies:
            for url in replicas:  # GitHub may deliver the same event's twins (e.g. a re-run) to any replica
                sent += 1
                headers = {
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": f"replica-{sent}",
                    "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
                }
                assert httpx.post(url + "/webhook", content=body, headers=headers, timeout=10).status_code == 202
        for app in (world.app, *others):
            assert app.state.changebot.workers.wait_idle(60)
    assert all(len(world.check_runs(sha)) <= 1 for sha in heads), [len(world.check_runs(sha)) for sha in heads]
    (final,) = world.check_runs(world.head)
    assert final["conclusion"] == "success"
    assert world.head in world.sticky()["body"]  # exactly one sticky comment, showing the last head
