"""The App's scheduled freeze audit: installations and repositories listed from the GitHub double (App JWT
verified for real), each repository's default branch cloned bare and blobless from a local "GitHub" git
repository, one audit issue per repository and week, failures isolated and counted."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from changebot.adapters.git.clones import CloneCache
from changebot.adapters.github.app_auth import AppAuth
from changebot.adapters.queue import open_queue
from changebot.app.audit import AppAuditor
from changebot.app.config import AppConfig
from changebot.app.metrics import Metrics
from changebot.app.scheduler import AuditCron
from changebot.app.webhook import create_app
from changebot.errors import RepositoryError
from changebot.usecases import plan as planning
from tests.support.app_token_server import APP_ID, KEY_PEM, PUBLIC_KEY
from tests.support.asgi_server import serve
from tests.support.github_double import GitHubDouble
from tests.support.repos import GitRepo

POLICY = """\
default_branch: {branch}
freeze:
  enabled: true
  timezone: America/Denver
  windows:
    - name: "Weekend freeze"
      rrule: "FREQ=WEEKLY;BYDAY=SA,SU"
      active: true
"""
NOW = datetime(2025, 11, 5, 12, 0, tzinfo=UTC)  # Wednesday of ISO week 2025-W45


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


def verify_jwt(token: str) -> bool:
    try:
        claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"], options={"verify_exp": False})
    except jwt.PyJWTError:
        return False
    return str(claims.get("iss")) == APP_ID


def upstream(make_repo: Callable[..., GitRepo], branch: str = "main") -> GitRepo:
    repo = make_repo({"release-policy.yml": POLICY.format(branch=branch), "big.bin": b"\0" * 100_000})
    if branch != "main":
        repo.branch(branch)
    repo.git("config", "uploadpack.allowFilter", "true")
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true")
    return repo


def merged_in_freeze(github: GitHubDouble, repo: str, number: int, branch: str = "main") -> None:
    # Sunday 2025-11-02 23:30 in Denver (MST): inside the weekend freeze, nobody granted an override.
    github.add_pull(
        repo,
        number,
        head_sha="1" * 40,
        base_sha="b" * 40,
        base_ref=branch,
        title=f"Change {number}",
        state="closed",
        merged_at="2025-11-03T06:30:00Z",
        merged_by="maria",
        updated_at="2025-11-03T06:30:00Z",
    )


@dataclass
class Scene:
    github: GitHubDouble
    auditor: AppAuditor
    metrics: Metrics
    cache: Path
    upstream: GitRepo

    def writes(self) -> list[str]:
        return [
            f"{c.method} {c.path}"
            for c in self.github.requests
            if c.method != "GET" and not (c.template or "").startswith("/app/")
        ]

    def metric(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


@pytest.fixture
def scene(make_repo: Callable[..., GitRepo], github: GitHubDouble, tmp_path: Path) -> Iterator[Scene]:
    github.jwt_verifier = verify_jwt
    a, b = upstream(make_repo), upstream(make_repo, branch="trunk")
    github.installations = {1: ["octo/a", "octo/broken"], 2: ["acme/b"]}
    github.clone_urls = {
        "octo/a": f"file://{a.path}",
        "octo/broken": f"file://{tmp_path / 'no-such-repo'}",
        "acme/b": f"file://{b.path}",
    }
    github.default_branches = {"octo/a": "main", "octo/broken": "main", "acme/b": "trunk"}
    merged_in_freeze(github, "octo/a", 1)
    merged_in_freeze(github, "acme/b", 4, branch="trunk")
    metrics = Metrics()
    cache = tmp_path / "cache"
    with AppAuth(APP_ID, KEY_PEM, github.base_url) as auth:
        auditor = AppAuditor(
            auth,
            CloneCache(cache, protocols=("file",)),
            github.base_url,
            github.bot_login,
            metrics,
            clock=lambda: NOW,
        )
        try:
            yield Scene(github, auditor, metrics, cache, a)
        finally:
            auditor.close()


def test_a_tick_publishes_one_issue_per_repository_and_a_second_tick_writes_nothing(scene: Scene) -> None:
    report = scene.auditor.tick(NOW)
    assert report.audited == ("octo/a", "acme/b")
    assert report.failed == ("octo/broken",)  # its clone URL leads nowhere; the next repository still ran
    for repo, number in (("octo/a", 1), ("acme/b", 4)):
        (issue,) = scene.github.issues[repo]
        assert issue["title"] == "Freeze audit 2025-W45: 1 unauthorised merge(s) during a freeze"
        assert issue["_labels"] == ["changebot-audit"]
        assert f"/pull/{number})" in issue["body"]
    assert "octo/broken" not in scene.github.issues
    assert scene.metric("changebot_audits_total", outcome="run") == 2
    assert scene.metric("changebot_audits_total", outcome="failed") == 1
    assert scene.metric("changebot_audit_last_success_timestamp_seconds") == NOW.timestamp()
    # The calendar was read from bare, blobless clones: the governed file is there, the big blob never came.
    clone = scene.cache / "acme__b.git"
    objects = git(clone, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)")
    assert "blob 100000" not in objects
    policy = git(clone, "cat-file", "blob", "refs/heads/trunk:release-policy.yml")
    assert policy.startswith("default_branch: trunk")
    writes = scene.writes()
    assert len(writes) == 2
    scene.auditor.tick(NOW)
    assert scene.writes() == writes  # same report, same issue: nothing edited
    assert [len(scene.github.issues[r]) for r in ("octo/a", "acme/b")] == [1, 1]
    assert scene.metric("changebot_audits_total", outcome="run") == 4


def test_a_new_frozen_merge_updates_the_issue_in_place(scene: Scene) -> None:
    scene.auditor.tick(NOW)
    merged_in_freeze(scene.github, "octo/a", 2)
    scene.auditor.tick(NOW)
    (issue,) = scene.github.issues["octo/a"]
    assert issue["title"] == "Freeze audit 2025-W45: 2 unauthorised merge(s) during a freeze"
    assert "/pull/2)" in issue["body"]


def test_a_calendar_that_cannot_be_read_is_a_failed_audit_and_the_issue_says_so(scene: Scene) -> None:
    scene.auditor.tick(NOW)
    scene.upstream.commit({".maestro/freeze_windows.json": '[{"name": "EOQ",\n  "from": }]\n'})
    report = scene.auditor.tick(NOW)
    assert "octo/a" in report.failed and "octo/a" not in report.audited
    assert scene.metric("changebot_audits_total", outcome="failed") == 3  # octo/broken twice, then octo/a
    (issue,) = scene.github.issues["octo/a"]
    assert issue["title"] == "Freeze audit 2025-W45: could not audit"
    assert "could not audit: .maestro/freeze_windows.json:2 JSON syntax error" in issue["body"]


def test_publishing_off_only_logs(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    scene.auditor.publish = False
    with caplog.at_level("INFO", logger="changebot.app.audit"):
        report = scene.auditor.tick(NOW)
    assert report.audited == ("octo/a", "acme/b")
    assert scene.writes() == []
    assert "scheduled audit of acme/b: 1 unauthorised merge(s); not published" in caplog.text
    assert "scheduled audit of octo/broken failed" in caplog.text


def test_an_installation_github_refuses_is_counted_and_the_others_run(scene: Scene) -> None:
    scene.github.fail_next("GET", "/installation/repositories", 500, message="boom")
    report = scene.auditor.tick(NOW)
    assert report.audited == ("acme/b",)
    assert report.failed == ("installation 1",)
    assert scene.metric("changebot_audits_total", outcome="failed") == 1


def test_a_refused_app_jwt_fails_the_tick_without_writing(scene: Scene) -> None:
    scene.github.jwt_verifier = lambda token: False
    report = scene.auditor.tick(NOW)
    assert report == type(report)((), ("installations",))
    assert scene.writes() == []
    assert scene.metric("changebot_audits_total", outcome="failed") == 1


def test_the_listing_routes_follow_pages(scene: Scene, make_repo: Callable[..., Any]) -> None:
    many = [f"octo/r{i}" for i in range(150)]
    scene.github.installations = {i: [] for i in range(1, 131)} | {7: many}
    assert scene.auditor.auth.installation_ids() == list(range(1, 131))
    scene.github.suspended = {3}
    assert 3 not in scene.auditor.auth.installation_ids()  # a suspended installation gets no token: skipped
    assert [r.full_name for r in scene.auditor.repositories(7)] == many


def test_prepare_branch_brings_the_calendar_for_an_offline_read(
    make_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = upstream(make_repo, branch="trunk")
    cache = CloneCache(tmp_path / "cache", protocols=("file",))
    path, sha = cache.prepare_branch("acme/b", f"file://{repo.path}", "ghs_token", "trunk")
    assert sha == repo.git("rev-parse", "HEAD")
    repo.path.rename(repo.path.with_name("gone"))  # offline from here: a missing blob would fail the read
    co = planning.checkout(path, sha, sha)
    assert co.base.files["release-policy.yml"].startswith(b"default_branch: trunk")
    assert "big.bin" in co.base.paths and "big.bin" not in co.base.files


@pytest.mark.parametrize(
    ("branch", "message"),
    [
        ("-upload-pack=evil", "is not one changebot fetches"),
        ("a..b", "is not one changebot fetches"),
        ("main:refs/heads/x", "is not one changebot fetches"),
    ],
)
def test_prepare_branch_refuses_odd_branch_names(branch: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match=message):
        CloneCache(tmp_path, protocols=("file",)).prepare_branch("octo/a", "file:///nowhere", None, branch)


def test_a_tick_stops_between_repositories_on_shutdown(scene: Scene) -> None:
    scene.auditor.stopping.set()
    assert scene.auditor.tick(NOW).audited == ()
    assert scene.writes() == []


def test_a_revoked_installation_token_is_renewed_once(scene: Scene) -> None:
    scene.auditor.tick(NOW)
    issued = len(scene.github.calls("POST", "/app/installations/{installation_id}/access_tokens"))
    scene.github.installation_tokens.clear()  # GitHub now refuses every token changebot holds (401)
    merged_in_freeze(scene.github, "acme/b", 5, branch="trunk")
    report = scene.auditor.tick(NOW)
    assert report.audited == ("octo/a", "acme/b")
    assert len(scene.github.calls("POST", "/app/installations/{installation_id}/access_tokens")) == issued + 2
    assert "2 unauthorised" in scene.github.issues["acme/b"][0]["title"]


def test_the_server_runs_the_audit_at_the_cron_time(scene: Scene, tmp_path: Path) -> None:
    clock = [datetime(2025, 11, 5, 11, 59, 50, tzinfo=UTC)]
    scene.auditor.clock = lambda: clock[0]
    settings = AppConfig(webhook_secret=b"s", queue_url=f"sqlite:///{tmp_path / 'queue.db'}")
    queue = open_queue(settings.queue_url)
    stop = scene.auditor.stopping.set
    cron = AuditCron(queue, "0 12 * * *", scene.auditor.tick, scene.metrics, clock=lambda: clock[0], on_stop=stop)

    def seconds() -> float:
        return clock[0].timestamp()

    app = create_app(
        settings,
        router=None,
        metrics=scene.metrics,
        audit=cron,
        queue=queue,
        clock=seconds,  # type: ignore[arg-type]
    )
    assert not scene.github.requests  # nothing happens before the server starts
    with serve(app) as url:
        assert not scene.github.requests  # armed for 12:00, not run
        clock[0] = NOW  # 12:00 UTC: the scheduled job is due
        app.state.changebot.workers.wake()
        deadline = time.monotonic() + 15
        while scene.metric("changebot_audits_total", outcome="failed") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        while scene.metric("changebot_audits_total", outcome="run") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        metrics = httpx.get(url + "/metrics", timeout=5).text
        assert "changebot_queue_scheduled_jobs 1.0" in metrics  # tomorrow's, armed before this one ran
    assert 'changebot_audits_total{outcome="run"} 2.0' in metrics
    assert 'changebot_audits_total{outcome="failed"} 1.0' in metrics
    assert "changebot_audit_last_success_timestamp_seconds 1.762344e+09" in metrics  # NOW, 2025-11-05 12:00Z
    assert scene.metric("changebot_audit_last_success_timestamp_seconds") == NOW.timestamp()
    assert [len(scene.github.issues[r]) for r in ("octo/a", "acme/b")] == [1, 1]
    assert scene.auditor.stopping.is_set()  # shutdown told the auditor to stop
