"""Delay from a freeze window's edge to the flipped check runs, through the App's own road, with no event.

The scene is ``tests/app/test_mergetime_e2e.py``'s, scaled out: ``--repos`` real git repositories (each the
weekend freeze Fri 17:00 - Mon 09:00 Europe/Dublin and ``--pulls`` open pull requests on their own branches),
cloned over ``file://``; the GitHub REST double on 127.0.0.1 (no OpenAPI checker: its validation would be
charged to changebot), issuing the App's installation tokens against a real JWT; uvicorn serving the ASGI app
``changebot serve`` builds, over the durable queue (a SQLite file, or with ``--queue postgres`` a database on a
PostgreSQL cluster of its own, started as ``tests/support/postgres.py`` does) with ``app.refresh.QueueSchedule``,
``refresh_task`` and the rebuild task, run by ``app.jobs.Workers``. The clock is injected.

Per worker count: a first life of the server (4 workers, Thursday 17:00:01 UTC) rebuilds the schedule from the
open pull requests through the API, so every PR gets its neutral "freeze ahead" check and a refresh planned for
Friday 17:00; then the server restarts with N workers, the clock jumps to Friday 17:00:00 exactly, and the wall
time from the jump to each PR's check run turning ``failure`` (seen as the double answers the write) is
reported: p50/p99/max per PR and the total. The workers find due refreshes by polling the queue (every 0.25 s,
as in production); nothing wakes them at the jump.

After the last run it counts API calls (App token calls apart) per refresh when nothing changed (every PR
planned again an hour later) and per ``merge_group`` of one PR (a real merge commit on a
``gh-readonly-queue/...`` branch, posted as a signed webhook).

    python benchmarks/bench_refresh.py [--repos 50] [--pulls 10] [--workers 1,2,4] [--queue sqlite|postgres]
                                       [--latency-ms 0]

``--latency-ms`` delays each answer of the double (GitHub is not on loopback in production).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import jwt  # noqa: E402

from changebot.adapters.git.clones import CloneCache  # noqa: E402
from changebot.adapters.github.app_auth import AppAuth  # noqa: E402
from changebot.adapters.queue import open_queue  # noqa: E402
from changebot.app.audit import AppAuditor  # noqa: E402
from changebot.app.config import AppConfig  # noqa: E402
from changebot.app.github import app_handlers  # noqa: E402
from changebot.app.metrics import Metrics  # noqa: E402
from changebot.app.refresh import QueueSchedule, installed_pull_requests, schedule_rebuild  # noqa: E402
from changebot.app.runtime import queue_tasks  # noqa: E402
from changebot.app.webhook import create_app  # noqa: E402
from changebot.github.router import GitHubRouter, Repo  # noqa: E402
from tests.support.app_token_server import APP_ID, KEY_PEM, PUBLIC_KEY  # noqa: E402
from tests.support.asgi_server import serve  # noqa: E402
from tests.support.github_double import GitHubDouble  # noqa: E402
from tests.support.postgres import PostgresServer, own_postgres_server  # noqa: E402
from tests.support.repos import GIT_ENV  # noqa: E402

SECRET = b"bench refresh secret"
WARNED = datetime(2026, 12, 3, 17, 0, 1, tzinfo=UTC)  # Thursday: inside the 24 h warning, before the freeze
EDGE = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # Friday 17:00 Europe/Dublin (UTC+0 in December)
QUIET = EDGE + timedelta(hours=1)
PIPELINE = """\
pipeline: {name: p, steps: [{id: a, run: x}]}
freeze_windows:
  - {name: weekend, start: "FRI 17:00 Europe/Dublin", end: "MON 09:00 Europe/Dublin"}
"""
POLICY = "override:\n  allowed: true\n  require_reason: true\n  reason_min_len: 20\n"
REPOS_PER_INSTALLATION = 10


def git(path: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), *args], input=stdin, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )
    return done.stdout.decode().strip()


def make_upstream(path: Path, pulls: int) -> tuple[str, dict[int, str]]:
    """A repository with the governance files on ``main`` and one branch ``prN`` per pull request (one
    ``git fast-import`` for all of them); returns the base SHA and each PR's head SHA."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for rel, text in {
        ".maestro/changebot.yaml": "version: 1\n",
        ".maestro/pipeline.yaml": PIPELINE,
        "release-policy.yml": POLICY,
    }.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text, encoding="utf-8")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "governance")
    git(path, "config", "uploadpack.allowFilter", "true")
    git(path, "config", "uploadpack.allowAnySHA1InWant", "true")
    base = git(path, "rev-parse", "HEAD")
    stream = bytearray()
    for n in range(1, pulls + 1):
        body = b"area: payments\nintent: fix\n"
        message = f"change {n}".encode()
        stream += f"commit refs/heads/pr{n}\ncommitter b <b@x> 1764000000 +0000\n".encode()
        stream += f"data {len(message)}\n".encode() + message + b"\n"
        stream += f"from {base}\nM 100644 inline {change_path(n)}\n".encode()
        stream += f"data {len(body)}\n".encode() + body + b"\n"
    git(path, "fast-import", "--quiet", stdin=bytes(stream))
    heads = git(path, "rev-parse", *(f"pr{n}" for n in range(1, pulls + 1))).split()
    return base, {n: heads[n - 1] for n in range(1, pulls + 1)}


def change_path(n: int) -> str:
    return f".maestro/changes/20261203-fix-{n}.yaml"


def verify_jwt(token: str) -> bool:
    try:
        claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"], options={"verify_exp": False})
    except jwt.PyJWTError:
        return False
    return str(claims.get("iss")) == APP_ID


class TimedDouble(GitHubDouble):
    """The double, answering after ``latency`` seconds, noting when each PR's check run first reads ``failure``."""

    def __init__(self, latency: float) -> None:
        super().__init__(token="bench-token")  # noqa: S106 - the double's fixed token
        self.latency = latency
        self.failed_at: dict[tuple[str, str], float] = {}

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if self.latency:
            time.sleep(self.latency)
        answer = super().handle(method, target, headers, raw)
        if method in ("POST", "PATCH") and "/check-runs" in target:
            now = time.perf_counter()
            repo = "/".join(target.split("/")[2:4])
            with self.lock:
                for run in self.check_runs.get(repo, []):
                    if run.get("conclusion") == "failure":
                        self.failed_at.setdefault((repo, str(run["head_sha"])), now)
        return answer


@dataclass
class Upstream:
    name: str
    path: Path
    base: str
    heads: dict[int, str]


@dataclass
class Scene:
    upstreams: list[Upstream]
    tmp: Path
    queue_url: str
    latency: float
    clock: list[datetime] = field(default_factory=lambda: [WARNED])
    github: TimedDouble = field(init=False)
    app: Any = None
    url: str = ""

    def __post_init__(self) -> None:
        self.github = TimedDouble(self.latency)
        self.github.jwt_verifier = verify_jwt
        for i, up in enumerate(self.upstreams):
            self.github.installations.setdefault(100 + i // REPOS_PER_INSTALLATION, []).append(up.name)
            self.github.clone_urls[up.name] = f"file://{up.path}"
            self.github.default_branches[up.name] = "main"
            for n, head in up.heads.items():
                self.github.add_pull(
                    up.name, n, head_sha=head, base_sha=up.base, files=[change_path(n)], head_ref=f"pr{n}"
                )

    @property
    def prs(self) -> int:
        return sum(len(up.heads) for up in self.upstreams)

    def conclusions(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.github.lock:
            for up in self.upstreams:
                for head in up.heads.values():
                    runs = [r for r in self.github.check_runs.get(up.name, []) if r["head_sha"] == head]
                    key = str(runs[-1]["conclusion"]) if runs else "none"
                    counts[key] = counts.get(key, 0) + 1
        return counts

    def idle(self, timeout: float = 900) -> None:
        workers = self.app.state.changebot.workers
        time.sleep(0.3)
        if not workers.wait_idle(timeout):
            raise SystemExit(f"the workers were not idle within {timeout} s")

    @contextmanager
    def running(self, workers: int, *, rebuild: bool) -> Iterator[QueueSchedule]:
        """One life of the server with ``workers`` workers over the scene's queue (``rebuild``: plan every open
        pull request at start, as ``changebot serve`` does)."""
        queue = open_queue(self.queue_url)
        schedule = QueueSchedule(queue)
        with AppAuth(APP_ID, KEY_PEM, self.github.base_url) as auth:
            clones = CloneCache(self.tmp / "clones", protocols=("file",))
            handlers = app_handlers(
                auth,
                clones,
                self.github.base_url,
                self.github.bot_login,
                clock=lambda: self.clock[0],
                schedule=schedule,
            )
            auditor = AppAuditor(auth, clones, self.github.base_url, self.github.bot_login, Metrics())
            tasks = queue_tasks(
                handlers,
                schedule,
                lambda: installed_pull_requests(
                    auth, self.github.base_url, self.github.bot_login, auditor.repositories
                ),
                clock=lambda: self.clock[0],
            )
            config = AppConfig(webhook_secret=SECRET, clone_dir=self.tmp, state_dir=self.tmp, workers=workers)
            startup = (lambda: schedule_rebuild(queue, self.clock[0].timestamp()),) if rebuild else ()
            self.app = create_app(
                config,
                GitHubRouter(handlers, self.github.bot_login),
                clock=lambda: self.clock[0].timestamp(),  # noqa: PLW0108 - the clock moves: read it each call
                queue=queue,
                tasks=tasks,
                startup=startup,
            )
            try:
                with serve(self.app) as url:
                    self.url = url
                    self.idle()
                    yield schedule
            finally:
                auditor.close()
                queue.close()

    def api_calls(self, since: int) -> list[str]:
        return [f"{c.method} {c.template}" for c in self.github.requests[since:] if "/app/" not in (c.template or "")]

    def merge_group(self, up: Upstream, number: int) -> str:
        """Put PR ``number`` of ``up`` in the merge queue (a real merge commit) and post the webhook."""
        branch = f"gh-readonly-queue/main/pr-{number}-{up.heads[number]}"
        git(up.path, "checkout", "-q", "-B", branch, "main")
        git(up.path, "merge", "-q", "--no-ff", f"pr{number}", "-m", f"Merge pull request #{number}")
        head = git(up.path, "rev-parse", "HEAD")
        git(up.path, "checkout", "-q", "main")
        payload = {
            "action": "checks_requested",
            "merge_group": {
                "head_sha": head,
                "head_ref": f"refs/heads/{branch}",
                "base_sha": up.base,
                "base_ref": "refs/heads/main",
                "head_commit": {"id": head, "tree_id": head, "message": "merge", "timestamp": EDGE.isoformat()},
            },
            "repository": {
                "full_name": up.name,
                "name": up.name.split("/")[1],
                "owner": {"login": up.name.split("/")[0]},
                "clone_url": f"file://{up.path}",
            },
            "installation": {"id": 100},
        }
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": "merge_group",
            "X-GitHub-Delivery": f"bench-merge-group-{number}",
            "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json",
        }
        response = httpx.post(self.url + "/webhook", content=body, headers=headers, timeout=10)
        response.raise_for_status()
        self.app.state.changebot.workers.wake()
        self.idle()
        return head


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def flip(scene: Scene, workers: int) -> dict[str, float]:
    """Set the scene up (4 workers), restart with ``workers`` workers, jump to the edge, time every flip."""
    started = time.perf_counter()
    with scene.running(4, rebuild=True):
        pass
    setup = time.perf_counter() - started
    before = scene.conclusions()
    assert before == {"neutral": scene.prs}, f"after the Thursday rebuild: {before}"
    with scene.running(workers, rebuild=False):
        scene.github.failed_at.clear()
        jump = time.perf_counter()
        scene.clock[0] = EDGE
        deadline = jump + 900
        while len(scene.github.failed_at) < scene.prs and time.perf_counter() < deadline:
            time.sleep(0.02)
        delays = [at - jump for at in scene.github.failed_at.values()]
        scene.idle()
    after = scene.conclusions()
    assert after == {"failure": scene.prs} and len(delays) == scene.prs, f"after the edge: {after}"
    return {
        "setup": setup,
        "p50": percentile(delays, 0.50),
        "p99": percentile(delays, 0.99),
        "max": max(delays),
        "mean": statistics.fmean(delays),
    }


def counts(scene: Scene) -> tuple[float, list[str], int]:
    """API calls per quiet refresh (every PR planned an hour after the edge) and for one merge group."""
    with scene.running(4, rebuild=False) as schedule:
        for up in scene.upstreams:
            repo = Repo(up.name, f"file://{up.path}", 100)
            for n in up.heads:
                schedule.plan(repo, n, QUIET)
        scene.idle()
        before = len(scene.github.requests)
        scene.clock[0] = QUIET + timedelta(seconds=1)
        scene.idle()
        quiet = len(scene.api_calls(before)) / scene.prs
        assert scene.conclusions() == {"failure": scene.prs}
        before = len(scene.github.requests)
        head = scene.merge_group(scene.upstreams[0], 1)
        group = scene.api_calls(before)
        runs = [r for r in scene.github.check_runs[scene.upstreams[0].name] if r["head_sha"] == head]
        assert [r["conclusion"] for r in runs] == ["failure"], runs
        tokens = len(scene.github.requests) - before - len(group)
    return quiet, group, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--pulls", type=int, default=10, help="open pull requests per repository")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--queue", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        postgres: PostgresServer | None = None
        if args.queue == "postgres":
            postgres = stack.enter_context(own_postgres_server())
        started = time.perf_counter()
        upstreams = []
        for i in range(args.repos):
            name = f"org{i // REPOS_PER_INSTALLATION}/repo{i}"
            base, heads = make_upstream(tmp / "up" / name, args.pulls)
            upstreams.append(Upstream(name, tmp / "up" / name, base, heads))
        total = args.repos * args.pulls
        print(
            f"{total} open PRs across {args.repos} repositories, queue {args.queue}, "
            f"double latency {args.latency_ms:g} ms, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
            f"repositories built in {time.perf_counter() - started:.1f} s"
        )
        scene: Scene | None = None
        for n in (int(w) for w in args.workers.split(",")):
            run = tmp / f"run-{n}"
            run.mkdir()
            queue_url = postgres.create_database() if postgres is not None else f"sqlite:///{run / 'queue.db'}"
            scene = Scene(upstreams, run, queue_url, args.latency_ms / 1000)
            server = scene.github.serve()
            try:
                r = flip(scene, n)
                if n == int(args.workers.split(",")[-1]):
                    quiet, group, tokens = counts(scene)
            finally:
                server.stop()
            verdict = "met" if r["max"] <= 60 else f"missed by {r['max'] - 60:.1f} s"
            print(
                f"workers {n}: every PR flipped {r['max']:.2f} s after the edge (p50 {r['p50']:.2f} s, "
                f"p99 {r['p99']:.2f} s, mean {r['mean']:.2f} s; {total / r['max']:.1f} PRs/s); "
                f"60 s target {verdict}  [setup with 4 workers {r['setup']:.1f} s]"
            )
        print(f"API calls per quiet refresh (nothing changed, token calls apart): {quiet:.2f}")
        print(f"API calls per merge_group of one PR: {len(group)} ({', '.join(group)}); token calls {tokens}")


if __name__ == "__main__":
    main()
