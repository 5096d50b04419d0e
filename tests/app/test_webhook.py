"""The webhook server over real HTTP (uvicorn on 127.0.0.1) with a recording handler, on each queue backend."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from changebot.adapters.github.app_auth import AppAuthError
from changebot.app.config import AppConfig
from changebot.app.webhook import create_app, signature_ok
from changebot.github.jobs import JobControl
from changebot.github.router import CommentEvent, GitHubRouter, PullRequestEvent
from tests.support.asgi_server import serve

SECRET = b"It's a Secret to Everybody"


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def pr_payload(head: str, updated_at: str, number: int = 7, action: str = "synchronize") -> dict[str, Any]:
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "updated_at": updated_at,
            "base": {"ref": "main", "sha": "b" * 40, "repo": {"full_name": "octo/repo"}},
            "head": {"ref": "feature", "sha": head, "repo": {"full_name": "octo/repo"}},
        },
        "repository": {"full_name": "octo/repo", "clone_url": "https://github.com/octo/repo.git"},
        "installation": {"id": 42},
    }


class Recorder:
    """Handlers that record what they were asked to do; a pull request takes ``delay`` seconds to plan."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.published: list[str] = []
        self.commands: list[CommentEvent] = []
        self.running = 0
        self.max_running = 0

    def pull_request(self, event: PullRequestEvent, control: JobControl) -> None:
        with self.lock:
            self.started.append(event.head_sha)
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        time.sleep(self.delay)
        with self.lock:
            self.running -= 1
            if control.is_current():
                self.published.append(event.head_sha)

    def command(self, event: CommentEvent, control: JobControl) -> None:
        with self.lock:
            self.commands.append(event)


QUEUE = {"url": ""}


@pytest.fixture(autouse=True)
def _queue(queue_url: str) -> None:
    """Every test here runs on each backend: ``config()`` uses a fresh queue of the current one."""
    QUEUE["url"] = queue_url


def config(**overrides: Any) -> AppConfig:
    settings: dict[str, Any] = {"queue_url": QUEUE["url"], **overrides}
    return AppConfig(webhook_secret=SECRET, clone_dir=Path("/nonexistent"), **settings)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[tuple[str, Any]]:
    app = create_app(config(), GitHubRouter(recorder))
    with serve(app) as url:
        yield url, app.state.changebot


def post(
    url: str, payload: Any, delivery: str, event: str = "pull_request", signature: str | None = None
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature if signature is not None else sign(body),
        "Content-Type": "application/json",
    }
    return httpx.post(url + "/webhook", content=body, headers=headers, timeout=10)


def wait_idle(state: Any) -> None:
    assert state.workers.wait_idle(10), "jobs did not finish"


def test_signature_check_is_exact() -> None:
    assert signature_ok(SECRET, b"{}", sign(b"{}"))
    assert not signature_ok(SECRET, b"{}", sign(b"{} "))
    assert not signature_ok(SECRET, b"{}", sign(b"{}", b"other"))
    assert not signature_ok(SECRET, b"{}", None)
    assert not signature_ok(SECRET, b"{}", "sha1=" + hashlib.sha1(b"{}").hexdigest())  # noqa: S324


def test_signed_delivery_is_acknowledged_and_planned(server: tuple[str, Any], recorder: Recorder) -> None:
    url, state = server
    response = post(url, pr_payload("1" * 40, "2025-12-20T09:00:00Z"), "d-1")
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "delivery": "d-1", "queued": 1, "stale": 0}
    wait_idle(state)
    assert recorder.published == ["1" * 40]


def test_bad_signature_is_refused_before_parsing(server: tuple[str, Any], recorder: Recorder) -> None:
    url, state = server
    not_json = b"this is not JSON and is never parsed"
    response = post(url, not_json, "d-bad", signature=sign(not_json, b"wrong secret"))
    assert response.status_code == 401
    assert response.json() == {"error": "missing or wrong X-Hub-Signature-256"}
    missing = httpx.post(url + "/webhook", content=b"{}", headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": "x"})
    assert missing.status_code == 401
    wait_idle(state)
    assert recorder.started == []
    metrics = httpx.get(url + "/metrics").text
    assert 'changebot_deliveries_refused_total{reason="signature"} 2.0' in metrics
    # the rejected delivery id was not remembered: the genuine delivery still counts
    assert post(url, pr_payload("2" * 40, "2025-12-20T09:00:00Z"), "d-bad").status_code == 202


def test_redelivery_has_exactly_one_effect(server: tuple[str, Any], recorder: Recorder) -> None:
    url, state = server
    payload = pr_payload("3" * 40, "2025-12-20T09:00:00Z")
    first = post(url, payload, "same-delivery")
    wait_idle(state)
    second = post(url, payload, "same-delivery")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == {"status": "duplicate", "delivery": "same-delivery"}
    wait_idle(state)
    assert recorder.started == ["3" * 40]
    assert "changebot_deliveries_deduplicated_total 1.0" in httpx.get(url + "/metrics").text


class Gated(Recorder):
    """A recorder whose pull-request jobs wait for ``gate`` before they decide whether to publish."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def pull_request(self, event: PullRequestEvent, control: JobControl) -> None:
        with self.lock:
            self.started.append(event.head_sha)
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        assert self.gate.wait(10)
        with self.lock:
            self.running -= 1
            if control.is_current():
                self.published.append(event.head_sha)


def test_two_deliveries_for_one_head_at_once_publish_once() -> None:
    recorder = Gated()  # whichever job runs first, it decides only once both deliveries are stored
    app = create_app(config(), GitHubRouter(recorder))
    with serve(app) as url:
        payload = pr_payload("4" * 40, "2025-12-20T09:00:00Z", action="synchronize")
        results: list[int] = []
        threads = [
            threading.Thread(target=lambda d=d: results.append(post(url, payload, d).status_code))
            for d in ("d-a", "d-b")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        recorder.gate.set()
        wait_idle(app.state.changebot)
    assert results == [202, 202]
    assert recorder.max_running == 1
    assert recorder.published == ["4" * 40]


def test_older_head_arriving_after_a_newer_one_is_dropped(server: tuple[str, Any], recorder: Recorder) -> None:
    url, state = server
    newer = post(url, pr_payload("new" + "0" * 37, "2025-12-20T10:00:00Z"), "d-new")
    older = post(url, pr_payload("old" + "0" * 37, "2025-12-20T09:00:00Z"), "d-old")
    assert newer.json()["queued"] == 1
    assert older.status_code == 202
    assert older.json() == {"status": "queued", "delivery": "d-old", "queued": 0, "stale": 1}
    wait_idle(state)
    assert recorder.published == ["new" + "0" * 37]
    assert recorder.started == ["new" + "0" * 37]


def test_older_head_still_running_never_overwrites_the_newer_result() -> None:
    recorder = Gated()
    app = create_app(config(), GitHubRouter(recorder))
    with serve(app) as url:
        post(url, pr_payload("old" + "0" * 37, "2025-12-20T09:00:00Z"), "d-old")
        deadline = time.monotonic() + 5
        while not recorder.started and time.monotonic() < deadline:
            time.sleep(0.01)
        post(url, pr_payload("new" + "0" * 37, "2025-12-20T10:00:00Z"), "d-new")
        recorder.gate.set()
        wait_idle(app.state.changebot)
    assert recorder.started == ["old" + "0" * 37, "new" + "0" * 37]
    assert recorder.published == ["new" + "0" * 37]


def test_other_pull_requests_run_concurrently() -> None:
    recorder = Recorder(delay=0.3)
    app = create_app(config(workers=2), GitHubRouter(recorder))
    with serve(app) as url:
        post(url, pr_payload("5" * 40, "2025-12-20T09:00:00Z", number=1), "d-1")
        post(url, pr_payload("6" * 40, "2025-12-20T09:00:00Z", number=2), "d-2")
        wait_idle(app.state.changebot)
    assert recorder.max_running == 2
    assert sorted(recorder.published) == ["5" * 40, "6" * 40]


def _raw_request(url: str, headers: dict[str, str], body_chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Send a request over a raw socket, stop sending as soon as the server answers; return (answer, sent)."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=10)
    head = "POST /webhook HTTP/1.1\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    sent = 0
    answer = b""
    try:
        for chunk in body_chunks:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    return answer, sent


def test_30_mb_body_is_refused_from_its_length_without_reading_it(server: tuple[str, Any], recorder: Recorder) -> None:
    url, _ = server
    total = 30 * 1024 * 1024
    headers = {"Content-Length": str(total), "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "big"}

    def chunks() -> Iterator[bytes]:
        for _ in range(total // 65536):
            time.sleep(0.001)
            yield b"x" * 65536

    answer, sent = _raw_request(url, headers, chunks())
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert sent < total // 2
    assert recorder.started == []


def test_streamed_body_over_the_cap_is_refused_while_streaming(recorder: Recorder) -> None:
    app = create_app(config(max_body_bytes=1024 * 1024), GitHubRouter(recorder))
    total = 30 * 1024 * 1024
    with serve(app) as url:

        def chunks() -> Iterator[bytes]:
            piece = b"x" * 65536
            for _ in range(total // 65536):
                time.sleep(0.001)
                yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

        headers = {"Transfer-Encoding": "chunked", "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "big2"}
        answer, sent = _raw_request(url, headers, chunks())
        metrics = httpx.get(url + "/metrics").text
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert sent < total // 4
    assert 'changebot_deliveries_refused_total{reason="too_large"} 1.0' in metrics


def test_healthz_metrics_and_ping(server: tuple[str, Any]) -> None:
    url, _ = server
    assert httpx.get(url + "/healthz").json() == {"status": "ok", "running": 0}
    pong = post(url, {"zen": "Keep it logically awesome.", "hook_id": 1}, "ping-1", event="ping")
    assert (pong.status_code, pong.json()["status"]) == (202, "pong")
    metrics = httpx.get(url + "/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    for name in (
        'changebot_deliveries_received_total{event="ping"} 1.0',
        "changebot_queue_depth 0.0",
        "changebot_ack_seconds_count",
        "changebot_jobs_total",
    ):
        assert name in metrics.text


def test_signed_but_malformed_deliveries(server: tuple[str, Any], recorder: Recorder) -> None:
    url, state = server
    assert post(url, b"[1, 2", "m-1").status_code == 400
    assert post(url, b"[1, 2]", "m-2").status_code == 400
    deep = post(url, b"[" * 200_000 + b"]" * 200_000, "m-4")
    assert (deep.status_code, deep.json()) == (400, {"error": "body is not JSON (or nests too deeply)"})
    incomplete = post(url, {"action": "opened", "pull_request": {"number": 1}}, "m-3")
    assert (incomplete.status_code, incomplete.json()["status"], incomplete.json()["queued"]) == (202, "ignored", 0)
    undated = pr_payload("a" * 40, "")
    del undated["pull_request"]["updated_at"]
    answer = post(url, undated, "m-5")
    assert answer.json() == {"status": "ignored", "delivery": "m-5", "queued": 0, "stale": 0}  # as the log says
    wait_idle(state)
    assert recorder.started == []


class Failing(Recorder):
    def pull_request(self, event: PullRequestEvent, control: JobControl) -> None:
        super().pull_request(event, control)
        raise RuntimeError("GitHub is down")


def test_a_failing_job_is_counted_and_the_server_carries_on() -> None:
    recorder = Failing()
    app = create_app(config(max_attempts=1), GitHubRouter(recorder))
    with serve(app) as url:
        post(url, pr_payload("7" * 40, "2025-12-20T09:00:00Z", number=1), "f-1")
        post(url, pr_payload("8" * 40, "2025-12-20T09:00:00Z", number=2), "f-2")
        wait_idle(app.state.changebot)
        metrics = httpx.get(url + "/metrics").text
        assert httpx.get(url + "/healthz").json() == {"status": "ok", "running": 0}
    assert recorder.started == ["7" * 40, "8" * 40]
    assert 'changebot_jobs_total{outcome="dead"} 2.0' in metrics
    assert "changebot_queue_dead_jobs 2.0" in metrics


def test_delivery_ids_are_forgotten_after_their_ttl(tmp_path: Path) -> None:
    now = [1000.0]
    recorder = Recorder()
    settings = config(dedupe_ttl_seconds=3600.0, queue_url=f"sqlite:///{tmp_path / 'ttl.db'}")
    app = create_app(settings, GitHubRouter(recorder), clock=lambda: now[0])
    body = json.dumps(pr_payload("9" * 40, "2025-12-20T09:00:00Z")).encode()
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "ttl-1", "X-Hub-Signature-256": sign(body)}

    async def scenario() -> list[str]:
        statuses = []
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                for step in (0, 3599, 2):
                    now[0] += step
                    response = await client.post("/webhook", content=body, headers=headers)
                    statuses.append(response.json()["status"])
        return statuses

    assert asyncio.run(scenario()) == ["queued", "duplicate", "queued"]


class TokenRefused(Recorder):
    def pull_request(self, event: PullRequestEvent, control: JobControl) -> None:
        super().pull_request(event, control)
        raise AppAuthError("installation 42: GitHub refused the App's JWT (401)")


def test_an_expected_token_failure_is_logged_in_one_line_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="changebot")
    for handlers, delivery in ((TokenRefused(), "t-1"), (Failing(), "t-2")):
        app = create_app(config(), GitHubRouter(handlers))
        with serve(app) as url:
            post(url, pr_payload("7" * 40, "2025-12-20T09:00:00Z", number=1), delivery)
            wait_idle(app.state.changebot)
    failed = [r for r in caplog.records if r.name == "changebot.app.jobs" and "failed on attempt 1" in r.getMessage()]
    [refused, crashed] = failed
    assert refused.getMessage().endswith(
        "(pull_request.synchronize for octo/repo#1) failed on attempt 1: installation 42: GitHub refused the App's "
        "JWT (401)"
    )
    assert (refused.levelno, refused.exc_info) == (logging.WARNING, None)
    assert crashed.exc_info is not None  # an unexpected error keeps its traceback
