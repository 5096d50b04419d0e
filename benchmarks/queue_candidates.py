"""The issue-12 chaos test run against each candidate queue library, side by side with changebot's own queue.

    pip install -e '.[queue-candidates]'
    python benchmarks/queue_candidates.py [--jobs 200] [--keys 20] [--burst 5] [--kill-after 40] [--only NAME ...]

Every candidate gets the same work: ``--jobs`` jobs over ``--keys`` keys (a key stands for one pull request),
enqueued ``--burst`` in a row per key, as a pull request's events arrive together. A job records that it
started, sleeps about ``--delay`` seconds (GitHub calls; 0.5 to 1.5 times it, fixed per job id), then writes its
effect once, keyed by its id, into a SQLite file: the keyed, looked-up-first write every changebot job makes.
The jobs are enqueued, one consumer process with 4 threads starts, and once ``--kill-after`` effects are written
the consumer is killed with SIGKILL, then started again. The script waits up to ``--timeout`` seconds for every
effect and prints, per candidate:

- ``lost``: jobs with no effect at the end (an acknowledged delivery lost: the issue allows none);
- ``reruns``: extra runs of a job (at-least-once delivery re-runs what was killed; the keyed write absorbs it);
- ``overlap``: pairs of runs of one key that ran at the same time (the issue wants a key's work serialised);
- ``out of order``: jobs of one key whose effect came before an earlier job's effect of that key;
- ``recovered``: seconds from the restart until the last effect.

Candidates (each with its documented crash-recovery knob set to about 5 s, like changebot's ``--lease 5``):

- ``changebot-sqlite``/``changebot-postgres``: ``changebot.adapters.queue`` and ``changebot.app.jobs.Workers``
  (``changebot-postgres``: ``PgQueue``, on procrastinate's schema in a database of its own on the cluster below);
- ``huey-sqlite``/``huey-redis``: Huey's ``SqliteHuey``/``RedisHuey`` and its consumer (thread workers);
- ``dramatiq-redis``: Dramatiq's ``RedisBroker`` (``heartbeat_timeout`` 5 s, maintenance on every fetch) and
  ``dramatiq.Worker``;
- ``procrastinate-pg``: procrastinate on a PostgreSQL cluster of its own (``initdb`` from Debian's
  ``postgresql``, as the ``postgres`` user when run as root), jobs deferred with ``lock=<key>``, a worker with a
  1 s heartbeat, and a periodic task retrying stalled jobs every 2 s (procrastinate's documented recipe).

Redis (for Huey and Dramatiq only) is a ``redis-server`` from PATH with ``appendfsync always``, started only when a
Redis candidate runs. Results: ``benchmarks/README.md`` ("Choosing the
queue").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_webhook import free_port  # noqa: E402

CANDIDATES = (
    "changebot-sqlite",
    "changebot-postgres",
    "huey-sqlite",
    "huey-redis",
    "dramatiq-redis",
    "procrastinate-pg",
)
THREADS = 4
RECOVERY = 5.0  # seconds: lease, heartbeat timeout, stalled-worker timeout


# -- the job every candidate runs ---------------------------------------------------------------------------------


class Effects:
    """The effects file: ``runs`` (one row per start, ``ended`` set when the effect was written) and ``effects``
    (one row per job id, in the order the effects happened)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def create(self) -> None:
        with self.connect() as conn:
            conn.execute("CREATE TABLE runs (job INTEGER, key INTEGER, seq INTEGER, started REAL, ended REAL)")
            conn.execute("CREATE TABLE effects (n INTEGER PRIMARY KEY, job INTEGER UNIQUE, key INTEGER, seq INTEGER)")

    def run(self, job: int, key: int, seq: int, delay: float) -> None:
        conn = self.connect()
        try:
            run = conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, NULL)", (job, key, seq, time.time())).lastrowid
            time.sleep(delay * (0.5 + (job * 7919 % 100) / 100))  # 0.5x to 1.5x, the same for every candidate
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT OR IGNORE INTO effects (job, key, seq) VALUES (?, ?, ?)", (job, key, seq))
            conn.execute("UPDATE runs SET ended = ? WHERE rowid = ?", (time.time(), run))
            conn.execute("COMMIT")
        finally:
            conn.close()

    def done(self) -> int:
        if not self.path.exists():
            return 0
        conn = self.connect()
        try:
            return int(conn.execute("SELECT count(*) FROM effects").fetchone()[0])
        finally:
            conn.close()

    def report(self, jobs: int) -> dict[str, int]:
        conn = self.connect()
        try:
            effects = conn.execute("SELECT key, seq FROM effects ORDER BY n").fetchall()
            runs = conn.execute("SELECT job, key, started, ended FROM runs ORDER BY key, started").fetchall()
        finally:
            conn.close()
        last_seq: dict[int, int] = {}
        out_of_order = 0
        for key, seq in effects:
            if seq < last_seq.get(key, -1):
                out_of_order += 1
            last_seq[key] = max(seq, last_seq.get(key, -1))
        overlap = 0
        busy_until: dict[int, float] = {}
        for _job, key, started, ended in runs:
            end = ended if ended is not None else started  # a killed run: it ran until the kill, at least
            if started < busy_until.get(key, 0.0):
                overlap += 1
            busy_until[key] = max(busy_until.get(key, 0.0), end)
        ran = len({row[0] for row in runs})
        return {
            "lost": jobs - len(effects),
            "reruns": len(runs) - ran,
            "overlap": overlap,
            "out_of_order": out_of_order,
        }


def spread(jobs: int, keys: int, burst: int) -> list[tuple[int, int, int]]:
    """``(job, key, seq)`` in enqueue order: ``burst`` jobs in a row for one key (a pull request's events arrive
    together: opened, labeled, a review), then the next key, round after round."""
    work = []
    seqs = [0] * keys
    for i in range(jobs):
        key = (i // burst) % keys
        work.append((i, key, seqs[key]))
        seqs[key] += 1
    return work


# -- the candidates: enqueue (in this process) and consume (in a child process) ------------------------------------


def changebot_queue(url: str) -> Any:
    from changebot.adapters.queue import open_queue  # noqa: PLC0415

    return open_queue(url)


def changebot_enqueue(url: str, work: list[tuple[int, int, int]], delay: float) -> None:
    from changebot.adapters.queue import NewJob  # noqa: PLC0415
    from changebot.app.jobs import SCHEDULED  # noqa: PLC0415

    queue = changebot_queue(url)
    for job, key, seq in work:
        payload = json.dumps([job, key, seq, delay]).encode()
        queue.accept(f"d-{job}", [NewJob(f"k{key}", "effect", SCHEDULED, f"d-{job}", payload)], time.time())
    queue.close()


def changebot_consume(url: str, effects: Effects) -> None:
    from changebot.app.jobs import Workers  # noqa: PLC0415
    from changebot.app.metrics import Metrics  # noqa: PLC0415

    def effect(payload: bytes, _control: object) -> None:
        job, key, seq, delay = json.loads(payload)
        effects.run(job, key, seq, delay)

    class NoDeliveries:
        def route(self, event: str, delivery: str, payload: object) -> list[object]:
            raise AssertionError("only scheduled jobs here")

    workers = Workers(changebot_queue(url), NoDeliveries(), Metrics(), THREADS, tasks={"effect": effect},
                      lease=RECOVERY, poll=0.05)  # fmt: skip
    workers.start()
    while True:
        time.sleep(3600)


def huey_app(kind: str, where: str) -> Any:
    from huey import RedisHuey, SqliteHuey  # noqa: PLC0415

    huey = SqliteHuey("bench", filename=where) if kind == "sqlite" else RedisHuey("bench", url=where)

    @huey.task(name="effect")
    def effect(job: int, key: int, seq: int, delay: float, path: str) -> None:
        Effects(Path(path)).run(job, key, seq, delay)

    return huey, effect


def huey_enqueue(kind: str, where: str, work: list[tuple[int, int, int]], delay: float, path: Path) -> None:
    _huey, effect = huey_app(kind, where)
    for job, key, seq in work:
        effect(job, key, seq, delay, str(path))


def huey_consume(kind: str, where: str) -> None:
    huey, _effect = huey_app(kind, where)
    huey.create_consumer(workers=THREADS, worker_type="thread", periodic=False, initial_delay=0.05,
                         max_delay=0.1).run()  # fmt: skip


def dramatiq_app(url: str) -> Any:
    import dramatiq  # noqa: PLC0415
    from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker  # noqa: PLC0415

    broker = RedisBroker(url=url, heartbeat_timeout=int(RECOVERY * 1000), maintenance_chance=MAINTENANCE_SCALE)
    dramatiq.set_broker(broker)

    @dramatiq.actor(actor_name="effect", max_retries=0)
    def effect(job: int, key: int, seq: int, delay: float, path: str) -> None:
        Effects(Path(path)).run(job, key, seq, delay)

    return broker, effect


def dramatiq_enqueue(url: str, work: list[tuple[int, int, int]], delay: float, path: Path) -> None:
    _broker, effect = dramatiq_app(url)
    for job, key, seq in work:
        effect.send(job, key, seq, delay, str(path))


def dramatiq_consume(url: str) -> None:
    import dramatiq  # noqa: PLC0415

    broker, _effect = dramatiq_app(url)
    worker = dramatiq.Worker(broker, worker_threads=THREADS, worker_timeout=100)
    worker.start()
    while True:
        time.sleep(3600)


def procrastinate_app(conninfo: str) -> Any:
    import procrastinate  # noqa: PLC0415

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))

    @app.task(name="effect")
    def effect(job: int, key: int, seq: int, delay: float, path: str) -> None:
        Effects(Path(path)).run(job, key, seq, delay)

    @app.periodic(cron="*/2 * * * * *")
    @app.task(name="retry_stalled", pass_context=True)
    async def retry_stalled(_context: Any, timestamp: int) -> None:
        for stalled in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=RECOVERY):
            await app.job_manager.retry_job(stalled)

    return app, effect


def procrastinate_enqueue(conninfo: str, work: list[tuple[int, int, int]], delay: float, path: Path) -> None:
    app, effect = procrastinate_app(conninfo)
    with app.open():
        app.schema_manager.apply_schema()
        for job, key, seq in work:
            effect.configure(lock=f"k{key}").defer(job=job, key=key, seq=seq, delay=delay, path=str(path))


def procrastinate_consume(conninfo: str) -> None:
    app, _effect = procrastinate_app(conninfo)
    with app.open():
        app.run_worker(concurrency=THREADS, update_heartbeat_interval=1.0, stalled_worker_timeout=RECOVERY,
                       install_signal_handlers=False, fetch_job_polling_interval=0.1)  # fmt: skip


# -- servers --------------------------------------------------------------------------------------------------------


def start_redis(scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A ``redis-server`` from PATH with the append-only file fsynced on every write (Huey's and Dramatiq's broker)."""
    if shutil.which("redis-server") is None:
        raise SystemExit("the Redis candidates need redis-server: apt-get install redis-server")
    port = free_port()
    (scratch / "redis").mkdir()
    redis = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(scratch / "redis"),
         "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return redis, f"redis://127.0.0.1:{port}/0"


def start_postgres(scratch: Path) -> tuple[Callable[[], None], int]:
    """A PostgreSQL cluster of its own in ``scratch``, on a free loopback port (``initdb`` refuses root: then it
    runs as ``postgres``); the function that stops it, and its port."""
    bindir = next(Path("/usr/lib/postgresql").glob("*/bin"), None)
    if bindir is None:
        raise SystemExit("the PostgreSQL candidates need PostgreSQL: apt-get install postgresql")
    scratch.mkdir()
    data = scratch / "pg"
    data.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(scratch, "postgres")
        shutil.chown(data, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"), "-o",
                    f"-h 127.0.0.1 -p {port} -k {data}", "start"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip

    def stop() -> None:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       check=False, stdout=subprocess.DEVNULL)  # fmt: skip

    return stop, port


def postgres_database(port: int, name: str) -> str:
    """A new database ``name`` on the cluster at ``port``; its conninfo (``postgresql://`` URL)."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


# -- one run --------------------------------------------------------------------------------------------------------


def consume_command(name: str, where: str, effects: Path) -> list[str]:
    return [sys.executable, __file__, "--consume", name, where, str(effects)]


def consume(name: str, where: str, effects: Path) -> None:
    """The consumer process of candidate ``name`` (runs until killed)."""
    if name.startswith("changebot-"):
        changebot_consume(where, Effects(effects))
    elif name.startswith("huey-"):
        huey_consume(name.removeprefix("huey-"), where)
    elif name == "dramatiq-redis":
        dramatiq_consume(where)
    else:
        procrastinate_consume(where)


def enqueue(name: str, where: str, work: list[tuple[int, int, int]], delay: float, effects: Path) -> None:
    if name.startswith("changebot-"):
        changebot_enqueue(where, work, delay)
    elif name.startswith("huey-"):
        huey_enqueue(name.removeprefix("huey-"), where, work, delay, effects)
    elif name == "dramatiq-redis":
        dramatiq_enqueue(where, work, delay, effects)
    else:
        procrastinate_enqueue(where, work, delay, effects)


def run_one(name: str, where: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    effects = Effects(scratch / f"effects-{name}.db")
    effects.create()
    work = spread(args.jobs, args.keys, args.burst)
    enqueue(name, where, work, args.delay, effects.path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (scratch / f"{name}.log").open("ab")  # both children append to it
    child = subprocess.Popen(consume_command(name, where, effects.path), env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + args.timeout
    while effects.done() < args.kill_after and time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    at_kill = effects.done()
    restarted = time.monotonic()
    child = subprocess.Popen(consume_command(name, where, effects.path), env=env, stdout=log, stderr=log)
    deadline = restarted + args.timeout
    while effects.done() < args.jobs and time.monotonic() < deadline:
        time.sleep(0.02)
    recovered = time.monotonic() - restarted
    time.sleep(1.0)  # let re-runs of killed jobs that are still going land in the counts
    child.send_signal(signal.SIGKILL)
    child.wait()
    log.close()
    result: dict[str, Any] = {"candidate": name, "at_kill": at_kill, **effects.report(args.jobs)}
    result["recovered"] = f"{recovered:.1f} s" if result["lost"] == 0 else f"> {args.timeout:.0f} s"
    if result["lost"]:
        tail = (scratch / f"{name}.log").read_text(errors="replace").splitlines()[-12:]
        print("   consumer log, last lines:\n     " + "\n     ".join(tail))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--burst", type=int, default=5, help="jobs in a row for one key")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds a job spends before its effect")
    parser.add_argument("--kill-after", type=int, default=40, help="effects written before the SIGKILL")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for every effect")
    parser.add_argument("--only", nargs="+", choices=CANDIDATES, default=list(CANDIDATES))
    parser.add_argument("--consume", nargs=3, metavar=("NAME", "WHERE", "EFFECTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume:
        name, where, path = args.consume
        consume(name, where, Path(path))
        return 0
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        scratch.chmod(0o777)  # the PostgreSQL child runs as another user
        redis: subprocess.Popen[bytes] | None = None
        stop_pg: Callable[[], None] | None = None
        try:
            for n, name in enumerate(args.only):
                if name.endswith("-sqlite"):
                    where = str(scratch / f"{name}.db")
                    where = f"sqlite:///{where}" if name.startswith("changebot") else where
                elif name.endswith("-redis"):
                    if redis is None:
                        redis, redis_url = start_redis(scratch)
                        time.sleep(0.5)
                    where = redis_url.removesuffix("/0") + f"/{n}"
                else:
                    if stop_pg is None:
                        stop_pg, pg_port = start_postgres(scratch / "pgroot")
                    where = postgres_database(pg_port, name.replace("-", "_"))
                print(f"-- {name}: {args.jobs} jobs over {args.keys} keys, SIGKILL after {args.kill_after} effects",
                      flush=True)  # fmt: skip
                results.append(run_one(name, where, args, scratch))
                print("   " + json.dumps(results[-1]), flush=True)
        finally:
            if redis is not None:
                redis.terminate()
                redis.wait(30)
            if stop_pg is not None:
                stop_pg()
    print()
    print("| candidate | effects at the kill | lost | reruns | overlap (same key at once) | out of order | recovered |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['candidate']} | {r['at_kill']} | {r['lost']} | {r['reruns']} | {r['overlap']} | "
              f"{r['out_of_order']} | {r['recovered']} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
