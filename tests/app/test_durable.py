"""The App on a real queue: nothing acknowledged is lost when PostgreSQL crashes and comes back, a queue that cannot
be reached is answered 503 (GitHub can redeliver), and slow clients cannot starve the server."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from changebot.app.config import AppConfig
from changebot.app.logs import RateLimit
from changebot.app.webhook import create_app
from changebot.github.router import GitHubRouter
from tests.app.test_webhook import Recorder, post, pr_payload
from tests.support.asgi_server import serve
from tests.support.postgres import PostgresServer, own_postgres_server

SECRET = b"It's a Secret to Everybody"


@pytest.fixture
def own_postgres() -> Any:
    """A PostgreSQL of this test's own, to crash and restart."""
    with own_postgres_server() as server:
        yield server


def test_postgresql_down_is_503_not_ready_and_nothing_acknowledged_is_lost_across_a_restart(
    own_postgres: PostgresServer,
) -> None:
    recorder = Recorder()
    queue_url = own_postgres.create_database()
    config = AppConfig(webhook_secret=SECRET, clone_dir=Path("/nonexistent"), queue_url=queue_url, workers=0)
    app = create_app(config, GitHubRouter(recorder))
    with serve(app) as url:
        acknowledged = [
            post(url, pr_payload(f"{n:040d}", "2025-12-20T09:00:00Z", number=n), f"d-{n}") for n in range(20)
        ]
        assert {r.status_code for r in acknowledged} == {202}
        assert httpx.get(url + "/healthz/ready").status_code == 200
        own_postgres.stop("immediate")  # a crash: no shutdown checkpoint, only the fsynced WAL survives
        refused = post(url, pr_payload("f" * 40, "2025-12-20T09:00:00Z", number=99), "d-99")
        assert refused.status_code == 503
        assert refused.json() == {"error": "the queue cannot be reached; redeliver later"}
        assert httpx.get(url + "/healthz").status_code == 200  # alive, but
        assert httpx.get(url + "/healthz/ready").status_code == 503  # not ready
        assert "changebot_queue_up 0.0" in httpx.get(url + "/metrics").text
        own_postgres.start()
        # GitHub's redelivery of the refused delivery is new to the queue; the acknowledged ones are still there.
        assert post(url, pr_payload("f" * 40, "2025-12-20T09:00:00Z", number=99), "d-99").status_code == 202
        assert post(url, pr_payload(f"{3:040d}", "2025-12-20T09:00:00Z", number=3), "d-3").status_code == 200
    runner = create_app(
        AppConfig(webhook_secret=SECRET, clone_dir=Path("/nonexistent"), queue_url=queue_url, workers=2),
        GitHubRouter(recorder),
    )
    with serve(runner):
        assert runner.state.changebot.workers.wait_idle(20)
    assert sorted(recorder.published) == sorted([f"{n:040d}" for n in range(20)] + ["f" * 40])


def _slow_client(url: str, stop: threading.Event) -> None:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as sock:
            sock.sendall(
                b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nX-GitHub-Event: ping\r\n"
                b"X-GitHub-Delivery: slow\r\n\r\n{"
            )
            while not stop.wait(0.5):
                try:
                    sock.sendall(b" ")
                except OSError:
                    return
    except OSError:
        return


def test_slow_bodies_cannot_starve_health_checks_or_signed_deliveries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    config = AppConfig(
        webhook_secret=SECRET,
        clone_dir=Path("/nonexistent"),
        queue_url=f"sqlite:///{tmp_path / 'q.db'}",
        body_timeout_seconds=2.0,
        max_reading=32,
    )
    app = create_app(config, GitHubRouter(recorder))
    stop = threading.Event()
    with serve(app) as url:
        clients = [threading.Thread(target=_slow_client, args=(url, stop), daemon=True) for _ in range(300)]
        for client in clients:
            client.start()
        time.sleep(0.5)
        try:
            assert httpx.get(url + "/healthz", timeout=5).status_code == 200
            # GitHub's body arrives at once: it gets a reader, the longest-waiting slow client is cut off
            assert post(url, pr_payload("1" * 40, "2025-12-20T09:00:00Z"), "signed-1").status_code == 202
            time.sleep(2.5)  # the slow bodies still being read time out
            assert post(url, pr_payload("2" * 40, "2025-12-20T09:00:00Z", number=8), "signed-2").status_code == 202
            metrics = httpx.get(url + "/metrics", timeout=5).text
        finally:
            stop.set()
        for client in clients:
            client.join(5)
        time.sleep(0.5)  # the hang-ups reach the server
        assert app.state.changebot.readers == {}
    assert 'changebot_deliveries_refused_total{reason="slow_body"}' in metrics
    assert 'changebot_deliveries_refused_total{reason="busy"}' in metrics
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a slow client left a traceback"


def test_the_log_rate_limit_lets_a_burst_through_then_counts_what_it_drops() -> None:
    now = [0.0]
    limit = RateLimit(burst=3, window=10.0, clock=lambda: now[0])
    records = [
        logging.LogRecord("uvicorn.error", logging.WARNING, "x", 1, "Invalid request", None, None) for _ in range(1000)
    ]
    passed = [r for r in records if limit.filter(r)]
    assert len(passed) == 3
    now[0] = 10.0
    later = logging.LogRecord("uvicorn.error", logging.WARNING, "x", 1, "Invalid request", None, None)
    assert limit.filter(later)
    assert later.getMessage() == "Invalid request [997 similar messages suppressed]"
    other = logging.LogRecord("changebot.app", logging.WARNING, "x", 1, "another logger", None, None)
    assert limit.filter(other)
