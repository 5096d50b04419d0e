"""Webhook acknowledgement latency of ``changebot serve``'s ASGI app under 200 signed deliveries per second.

The server (uvicorn + the real webhook app and router, no workers, so the numbers are the acknowledgement
path: read, verify HMAC, parse, route, store durably with the dedupe check) runs in its own process on
127.0.0.1, once per queue backend: ``memory`` (a dict behind the same port: what acknowledging from process
memory costs, as before the durable queue), ``sqlite`` (a file in a temp dir, ``synchronous=FULL``) and
``postgres`` (a database on a PostgreSQL cluster of its own, started as ``tests/support/postgres.py`` does:
``initdb``/``pg_ctl`` from Debian's ``postgresql``, fsync on). This process sends ``--count``
signed ``pull_request`` deliveries open-loop at ``--rate`` per second (each scheduled at its own instant,
whether or not earlier ones were answered) and reports p50/p99/max of the time from sending to the 202, plus
the server's own ``changebot_ack_seconds`` histogram.

    python benchmarks/bench_webhook.py [--rate 200] [--count 2000] [--queue memory,sqlite,postgres]

Payload: @octokit/webhooks-examples' ``pull_request.opened`` when the test setup has fetched it (.cache/npm),
otherwise an equivalent payload of the same size. Bounded: at most ``--count`` requests and 120 s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"benchmark secret"
EXAMPLES = ROOT / ".cache" / "npm" / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com"


def payload_template() -> dict[str, Any]:
    index = EXAMPLES / "index.json"
    if index.is_file():
        for entry in json.loads(index.read_text(encoding="utf-8")):
            if entry["name"] == "pull_request":
                for example in entry["examples"]:
                    if example.get("action") == "opened":
                        return dict(example)
    return {
        "action": "opened",
        "pull_request": {
            "number": 1,
            "updated_at": "2025-12-20T09:00:00Z",
            "base": {"ref": "main", "sha": "b" * 40},
            "head": {"ref": "f", "sha": "a" * 40, "repo": {"full_name": "octo/app"}},
            "body": "x" * 20000,
        },
        "repository": {"full_name": "octo/app", "clone_url": "https://github.com/octo/app.git"},
        "installation": {"id": 1},
    }


class MemoryQueue:
    """Acknowledging from memory: a set of delivery ids and a list of jobs, nothing durable (the baseline)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.jobs: list[Any] = []

    def accept(self, delivery: str, jobs: Any, now: float) -> Any:
        from changebot.adapters.queue import Accepted  # noqa: PLC0415

        if delivery in self.seen:
            return Accepted("duplicate")
        self.seen.add(delivery)
        self.jobs.extend(jobs)
        return Accepted("queued", len(jobs))

    def ping(self) -> None:
        return None

    def stats(self, now: float) -> Any:
        from changebot.adapters.queue import QueueStats  # noqa: PLC0415

        return QueueStats(len(self.jobs), 0.0, 0, 0)

    def close(self) -> None:
        return None


def serve(port: int, queue_url: str) -> None:
    """The server process: the real app with a router whose jobs only count."""
    import uvicorn  # noqa: PLC0415 - the server process only

    from changebot.app.config import AppConfig  # noqa: PLC0415
    from changebot.app.webhook import create_app  # noqa: PLC0415
    from changebot.github.jobs import JobControl  # noqa: PLC0415
    from changebot.github.router import CommentEvent, GitHubRouter, PullRequestEvent  # noqa: PLC0415

    class Count:
        done = 0

        def pull_request(self, event: PullRequestEvent, control: JobControl) -> None:
            Count.done += 1

        def command(self, event: CommentEvent, control: JobControl) -> None:
            Count.done += 1

    memory = queue_url == "memory"
    config = AppConfig(
        webhook_secret=SECRET, clone_dir=Path("/nonexistent"), workers=0, queue_url="" if memory else queue_url
    )
    app = create_app(config, GitHubRouter(Count()), queue=MemoryQueue() if memory else None)  # type: ignore[arg-type]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Connection:
    """One keep-alive HTTP/1.1 connection with a minimal client (httpx's own overhead would dominate here)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> int:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def load(port: int, rate: float, count: int) -> tuple[list[float], int, float]:
    template = payload_template()
    bodies = []
    for i in range(count):
        payload = json.loads(json.dumps(template))
        payload["pull_request"]["number"] = i % 50 + 1
        payload["pull_request"]["updated_at"] = f"2025-12-20T09:{i // 60 % 60:02d}:{i % 60:02d}Z"
        payload["pull_request"]["head"]["sha"] = f"{i:040x}"
        body = json.dumps(payload).encode()
        bodies.append((body, "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()))
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(32):
        pool.put_nowait(Connection(*await asyncio.open_connection("127.0.0.1", port)))
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        body, signature = bodies[i]
        headers = {
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": f"bench-{i}",
            "X-Hub-Signature-256": signature,
            "Content-Type": "application/json",
        }
        sent = time.perf_counter()
        connection = await pool.get()
        try:
            status = await connection.post("/webhook", headers, body)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            return
        finally:
            pool.put_nowait(connection)
        if status != 202:
            errors += 1
            return
        latencies.append(time.perf_counter() - sent)

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), timeout=120)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().writer.close()
    return latencies, errors, elapsed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database on a PostgreSQL cluster of its own (``tests.support.postgres``: ``initdb`` and ``pg_ctl`` on a
    free loopback port, fsync on), removed afterwards."""
    sys.path.insert(0, str(ROOT))
    from tests.support.postgres import own_postgres_server  # noqa: PLC0415

    with own_postgres_server() as server:
        yield server.create_database()


def run_one(queue: str, rate: float, count: int, scratch: Path) -> int:
    if queue not in ("memory", "sqlite", "postgres"):
        raise SystemExit(f"unknown queue {queue!r}: memory, sqlite or postgres")
    with ExitStack() as stack:
        if queue == "sqlite":
            queue_url = f"sqlite:///{scratch / 'queue.db'}"
        elif queue == "postgres":
            queue_url = stack.enter_context(postgres_database())
        else:
            queue_url = "memory"
        return serve_and_load(queue, queue_url, rate, count)


def serve_and_load(queue: str, queue_url: str, rate: float, count: int) -> int:
    import httpx  # noqa: PLC0415 - the load process only

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--queue-url", queue_url], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        latencies, errors, elapsed = asyncio.run(load(port, rate, count))
        metrics = httpx.get(url + "/metrics").text
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(queue, rate, latencies, errors, elapsed, metrics)
    return errors


def report(queue: str, rate: float, latencies: list[float], errors: int, elapsed: float, metrics: str) -> None:
    ack_sum = ack_count = 0.0
    for line in metrics.splitlines():
        if line.startswith("changebot_ack_seconds_sum"):
            ack_sum = float(line.split()[-1])
        elif line.startswith("changebot_ack_seconds_count"):
            ack_count = float(line.split()[-1])
    size = len(json.dumps(payload_template()))
    print(
        f"[{queue}] deliveries: {len(latencies)} acknowledged, {errors} errors, in {elapsed:.1f} s "
        f"(target rate {rate:.0f}/s, achieved {len(latencies) / elapsed:.0f}/s), payload {size:,} bytes"
    )
    if latencies:
        print(
            f"[{queue}] client-side ack latency: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms, "
            f"mean {statistics.fmean(latencies) * 1000:.1f} ms"
        )
    if ack_count:
        print(
            f"[{queue}] server-side handling (changebot_ack_seconds): mean {ack_sum / ack_count * 1000:.2f} ms over "
            f"{ack_count:.0f} requests"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--queue", default="memory,sqlite,postgres", help="backends, comma-separated")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--queue-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.queue_url)
        return 0
    import tempfile  # noqa: PLC0415

    errors = 0
    for queue in args.queue.split(","):
        with tempfile.TemporaryDirectory() as scratch:
            errors += run_one(queue.strip(), args.rate, args.count, Path(scratch))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
