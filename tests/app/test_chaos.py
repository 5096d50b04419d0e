"""Chaos, bounded in time: Apps in processes of their own killed with SIGKILL mid-load (on each backend), three
replicas on one PostgreSQL, and PostgreSQL itself crashed and restarted mid-load. Every
acknowledged delivery has its effect exactly once, and a pull request's commands take effect in the order they
were delivered."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.chaos_app import SECRET, command_payload
from tests.support.ports import free_port
from tests.support.postgres import own_postgres_server

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def app_process(queue_url: str, effects: Path, **flags: object) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    extra = [part for name, value in flags.items() for part in (f"--{name}", str(value))]
    log = effects.parent / f"app-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.chaos_app", queue_url, str(port), str(effects), *extra],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the App did not start"
            time.sleep(0.05)
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def deliver(url: str, pr: int, comment: int) -> int:
    body = json.dumps(command_payload(pr, comment)).encode()
    headers = {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": f"delivery-{comment}",
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
    }
    return httpx.post(url + "/webhook", content=body, headers=headers, timeout=30).status_code


def effects(path: Path) -> list[tuple[int, int, int]]:
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as conn:
        return list(conn.execute("SELECT comment, pr, runs FROM effects ORDER BY rowid"))


def wait_for_effects(path: Path, count: int, seconds: float) -> list[tuple[int, int, int]]:
    deadline = time.monotonic() + seconds
    while len(done := effects(path)) < count:
        assert time.monotonic() < deadline, f"{len(done)} of {count} effects after {seconds} s"
        time.sleep(0.1)
    return done


def assert_in_order(done: list[tuple[int, int, int]]) -> None:
    by_pr: dict[int, list[int]] = {}
    for comment, pr, _ in done:
        by_pr.setdefault(pr, []).append(comment)
    assert all(seq == sorted(seq) for seq in by_pr.values()), by_pr


def test_kill_9_with_200_deliveries_queued_or_running_loses_none(queue_url: str, tmp_path: Path) -> None:
    store = tmp_path / "effects.db"
    plan = [(1 + n % 10, 1000 + n) for n in range(200)]  # 10 pull requests, 20 commands each, in order
    with app_process(queue_url, store, workers=2, delay=0.02, lease=1.0) as (url, proc):
        statuses = [deliver(url, pr, comment) for pr, comment in plan]
        assert statuses == [202] * 200
        wait_for_effects(store, 20, 30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert len(effects(store)) < 200, "the kill came too late to test anything"
    with app_process(queue_url, store, workers=2, delay=0.02, lease=1.0):
        done = wait_for_effects(store, 200, 60)
    assert sorted(comment for comment, _, _ in done) == [comment for _, comment in plan]  # exactly once in effect
    assert_in_order(done)


def test_three_replicas_on_one_postgresql_keep_per_pr_order(postgres_url: str, tmp_path: Path) -> None:
    url = postgres_url  # one PostgreSQL database that every replica shares
    store = tmp_path / "effects.db"
    plan = [(1 + n % 6, 5000 + n) for n in range(150)]
    with (
        app_process(url, store, workers=3, delay=0.01) as (a, _),
        app_process(url, store, workers=3, delay=0.01) as (b, _),
        app_process(url, store, workers=3, delay=0.01) as (c, _),
    ):
        replicas = (a, b, c)
        # Each pull request's commands are delivered in order, to the replicas in turn.
        for pr, comment in plan:
            assert deliver(replicas[comment % 3], pr, comment) == 202
        # A redelivery to another replica is a duplicate there too.
        with ThreadPoolExecutor(3) as pool:
            again = list(pool.map(lambda url: deliver(url, 1, 5000), replicas))
        assert again == [200, 200, 200]
        done = wait_for_effects(store, 150, 60)
    assert sorted(comment for comment, _, _ in done) == [comment for _, comment in plan]
    assert all(runs == 1 for _, _, runs in done)
    assert_in_order(done)


def deliver_until_acknowledged(url: str, pr: int, comment: int, seconds: float) -> int:
    """Deliver like GitHub with redeliveries: again while the App answers 503 (its queue is down); the first
    answer that acknowledges (202 stored, 200 a duplicate of a delivery stored before) and how many tries it took."""
    deadline = time.monotonic() + seconds
    tries = 0
    while True:
        tries += 1
        status = deliver(url, pr, comment)
        if status in (200, 202):
            return tries
        assert status == 503, status
        assert time.monotonic() < deadline, f"delivery-{comment} not acknowledged within {seconds} s"
        time.sleep(0.05)


def test_postgresql_crashed_and_restarted_mid_load_loses_no_acknowledged_delivery(tmp_path: Path) -> None:
    with own_postgres_server() as server:
        url = server.create_database()
        store = tmp_path / "effects.db"
        plan = [(1 + n % 8, 7000 + n) for n in range(160)]
        with app_process(url, store, workers=3, delay=0.01, lease=1.0) as (app, _):
            tries = [deliver_until_acknowledged(app, pr, comment, 60) for pr, comment in plan[:60]]
            # Crash PostgreSQL (immediate stop: no shutdown checkpoint, recovery replays the fsynced WAL) while
            # jobs run and deliveries keep coming, and keep it down for a second.
            with ThreadPoolExecutor(1) as pool:
                rest = pool.submit(lambda: [deliver_until_acknowledged(app, pr, c, 60) for pr, c in plan[60:]])
                time.sleep(0.3)
                server.restart(down=1.0, mode="immediate")
                tries += rest.result(90)
            done = wait_for_effects(store, len(plan), 90)
        assert max(tries) > 1, "no delivery was refused: the crash came too late to test anything"
        assert sorted(comment for comment, _, _ in done) == [comment for _, comment in plan]  # nothing lost
        assert_in_order(done)
