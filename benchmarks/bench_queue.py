"""The durable queue on each backend (SQLite, PostgreSQL): enqueue latency (against Huey's on SQLite), jobs/s with
1, 2 and 4 workers, and recovery time after ``kill -9``.

    python benchmarks/bench_queue.py [--enqueues 2000] [--jobs 48] [--lease 5]

1. Enqueue: ``--enqueues`` single deliveries (one job of 22 KB each, like a ``pull_request`` payload), one at a
   time, into changebot's queue (``accept``: dedupe check, stale check, job, in one transaction) and, when
   ``huey`` is installed, into Huey's ``SqliteHuey`` storage (``enqueue``: one insert, no dedupe). SQLite in a
   temp file; PostgreSQL a cluster of its own (``tests/support/postgres.py``: ``initdb``/``pg_ctl``, fsync on), a
   new database for each measurement.
2. Throughput: ``--jobs`` jobs over ``--jobs / 2`` pull requests, run by ``changebot.app.jobs.Workers`` with 1, 2
   and 4 threads; each job spends 6 x 50 ms in "GitHub calls" (a ``pull_request`` run makes 6 calls; 50 ms is the
   GitHub-double latency asked for).
3. Recovery: the chaos App (``tests/support/chaos_app.py``) with ``--lease`` seconds, 100 commands, killed with
   SIGKILL once 30 took effect; the time from restarting it to the first and to the last remaining effect.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_webhook import free_port, percentile  # noqa: E402
from tests.support.postgres import own_postgres_server  # noqa: E402

PAYLOAD = json.dumps({"body": "x" * 22_000}).encode()


def show(label: str, values: list[float]) -> None:
    print(
        f"{label:<34} p50 {percentile(values, 50) * 1000:6.2f} ms   p99 {percentile(values, 99) * 1000:6.2f} ms   "
        f"mean {statistics.fmean(values) * 1000:6.2f} ms   ({1 / statistics.fmean(values):,.0f}/s one at a time)"
    )


def enqueue_changebot(url: str, count: int) -> list[float]:
    from changebot.adapters.queue import NewJob, open_queue  # noqa: PLC0415

    queue = open_queue(url)
    times = []
    for i in range(count):
        job = NewJob(f"octo/app#{i % 50}", "pull_request.opened", "pull_request", f"d-{i}", PAYLOAD, 0, (f"{i:08d}",))
        started = time.perf_counter()
        queue.accept(f"d-{i}", [job], time.time())
        times.append(time.perf_counter() - started)
    queue.close()
    return times


def enqueue_huey(where: str, count: int) -> list[float] | None:
    try:
        import huey  # noqa: PLC0415
    except ImportError:
        return None
    store: Any = huey.SqliteHuey(filename=where).storage
    times = []
    for _ in range(count):
        started = time.perf_counter()
        store.enqueue(PAYLOAD)
        times.append(time.perf_counter() - started)
    return times


def throughput(url: str, jobs: int, workers: int) -> float:
    from changebot.adapters.queue import open_queue  # noqa: PLC0415
    from changebot.app.jobs import Workers  # noqa: PLC0415
    from changebot.app.metrics import Metrics  # noqa: PLC0415
    from changebot.github.router import GitHubRouter  # noqa: PLC0415
    from tests.support.chaos_app import command_payload  # noqa: PLC0415

    class Calls:
        def pull_request(self, event: Any, control: Any) -> None:
            raise AssertionError

        def command(self, event: Any, control: Any) -> None:
            for _ in range(6):
                time.sleep(0.05)

    queue = open_queue(url)
    router = GitHubRouter(Calls())
    from changebot.adapters.queue import NewJob  # noqa: PLC0415

    for i in range(jobs):
        payload = json.dumps(command_payload(i % (jobs // 2) + 1, 10_000 + i)).encode()
        queue.accept(f"t-{workers}-{i}", [NewJob(f"octo/chaos#{i % (jobs // 2) + 1}", "c", "issue_comment",
                                                  f"t-{workers}-{i}", payload)], time.time())  # fmt: skip
    pool = Workers(queue, router, Metrics(), workers, poll=0.01)
    started = time.perf_counter()
    pool.start()
    assert pool.wait_idle(600)
    elapsed = time.perf_counter() - started
    pool.stop(5)
    queue.close()
    return jobs / elapsed


def recovery(url: str, scratch: Path, lease: float) -> tuple[float, float, int]:
    effects = scratch / f"effects-{time.monotonic_ns()}.db"
    port = free_port()
    env_cmd = [sys.executable, "-m", "tests.support.chaos_app", url, str(port), str(effects),
               "--workers", "2", "--delay", "0.05", "--lease", str(lease)]  # fmt: skip
    import httpx  # noqa: PLC0415

    from tests.support.chaos_app import SECRET, command_payload  # noqa: PLC0415

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(env_cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return proc
            except httpx.TransportError:
                time.sleep(0.02)

    def done() -> int:
        if not effects.exists():
            return 0
        with sqlite3.connect(effects, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM effects").fetchone()[0])

    proc = start()
    for i in range(100):
        body = json.dumps(command_payload(i % 10 + 1, 20_000 + i)).encode()
        headers = {"X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": f"r-{i}",
                   "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()}  # fmt: skip
        httpx.post(f"http://127.0.0.1:{port}/webhook", content=body, headers=headers, timeout=30)
    while done() < 30:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = 100 - done()
    restarted = time.perf_counter()
    proc = start()
    before = done()
    first = None
    while (now := done()) < 100:
        if first is None and now > before:
            first = time.perf_counter() - restarted
        time.sleep(0.01)
    last = time.perf_counter() - restarted
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    return first or last, last, left


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enqueues", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=48)
    parser.add_argument("--lease", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, own_postgres_server() as postgres:
        scratch = Path(tmp)
        # Each backend: a fresh queue per name (a SQLite file in the scratch dir, a new PostgreSQL database).
        fresh: dict[str, Callable[[str], str]] = {
            "sqlite": lambda name: f"sqlite:///{scratch / name}.db",
            "postgres": lambda _name: postgres.create_database(),
        }
        print(f"== enqueue, {args.enqueues} deliveries of {len(PAYLOAD):,} bytes, one at a time")
        for kind, queue in fresh.items():
            show(f"changebot accept ({kind})", enqueue_changebot(queue("bench"), args.enqueues))
        huey_times = enqueue_huey(str(scratch / "huey.db"), args.enqueues)
        if huey_times is None:
            print("huey enqueue: huey is not installed (pip install huey)")
        else:
            show("huey enqueue (sqlite)", huey_times)
        print(f"== throughput, {args.jobs} jobs of 6 x 50 ms calls over {args.jobs // 2} pull requests")
        for kind, queue in fresh.items():
            for workers in (1, 2, 4):
                rate = throughput(queue(f"t{workers}"), args.jobs, workers)
                print(f"{kind:<8} {workers} worker(s): {rate:5.2f} jobs/s (ideal {workers / 0.3:5.2f})")
        print(f"== recovery after kill -9 (lease {args.lease:g} s, 100 commands, killed after 30)")
        for kind, queue in fresh.items():
            first, last, left = recovery(queue("chaos"), scratch, args.lease)
            print(f"{kind:<8} {left} left at the kill: first effect {first:.2f} s after restart, all {last:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
