"""The distributed queue on PostgreSQL, on procrastinate's engine: its job table, states, lock ordering and
worker heartbeats, driven through its own SQL procedures from our own psycopg connection.

The mapping (procrastinate 3.x schema, applied on first use when ``procrastinate_jobs`` is missing):

* a job is a ``procrastinate_jobs`` row of queue ``changebot``: ``lock`` = the job's key (procrastinate fetches
  one job per lock at a time, the first by ``priority DESC, id``), ``queueing_lock`` = a scheduled job's slot,
  ``scheduled_at`` = when it is due, ``args`` = our fields (payload base64, order token, ``created``, the last
  ``error``: procrastinate has no error column, so the error of ``release``/``bury`` is kept in ``args``);
* ``accept`` = our delivery-id dedupe (``changebot_queue_deliveries``, pruned past the window) and the newest
  order token per key (``changebot_queue_newest``), then ``procrastinate_defer_jobs_v1``, in one transaction;
* ``claim`` = retry the jobs of workers whose heartbeat is older than ``lease`` (procrastinate's
  ``select_stalled_jobs_by_heartbeat`` query and ``procrastinate_retry_job_v2``), register a procrastinate worker
  for this claim (``procrastinate_register_worker_v1``, its owner kept in ``changebot_queue_leases``), then
  ``procrastinate_fetch_job_v2``; ``extend`` = ``procrastinate_update_heartbeat_v1``; ``complete`` =
  ``procrastinate_finish_job_v1`` (succeeded, deleted); ``release`` = ``procrastinate_retry_job_v2`` at ``due``;
  ``bury`` = finish ``failed``; each of the three unregisters the claim's worker. ``revive`` = retry a failed job;
  ``purge`` deletes failed jobs; ``schedule`` replaces the ``todo`` job of its slot (``procrastinate_cancel_job_v1``
  with delete) and defers the new one.

Where procrastinate and the ``Queue`` promises differ, the promises win:

* **the caller's clock.** procrastinate's procedures read ``now()``; the ``Queue`` methods take the time from
  the caller. Each of our transactions puts a schema ``changebot_clock`` first on ``search_path`` (``pg_catalog``
  named after it), whose ``now()`` returns the transaction's ``changebot.now`` setting, so the unmodified
  procedures run on the caller's clock (a plain ``procrastinate`` worker on the same database keeps the server's);
* **order tokens compare by bytes** (``COLLATE "C"``), as in SQLite, whatever the database's collation;
* **a future job does not hold back its key.** procrastinate's fetch rejects a job while an earlier ``todo`` job
  of its lock exists, due or not, so a refresh scheduled in an hour would block its pull request. The priority is
  therefore the due time, negated (``PRIORITY_ZERO - floor(due)``): a job's earlier jobs are those due first, and
  a job not yet due never outranks a due one. Within one second the older id goes first (a job due up to a second
  later can delay one due now by that much), except that a released or revived job ranks as due at the next whole
  second, behind the jobs already due (its old id would put it first);
* **a worker per claim.** procrastinate registers one worker per process, whose heartbeat covers every job it
  holds. Here each claim registers a worker of its own (the lease of one job), so a job whose claim never reached
  its owner (PostgreSQL crashed after the fetch committed) stalls on its own instead of living on the owner's
  later heartbeats. A job is stalled when its worker's heartbeat is older than the ``lease`` of the ``claim`` that
  looks (the App passes one configured lease everywhere), not than the lease its holder asked for;
* **attempts.** procrastinate counts an attempt when a job is retried or finished; ``Claimed.attempt`` is that
  count plus one, and ``revive`` sets it back to zero (procrastinate's retry of a failed job would keep it).

Durability is PostgreSQL's (a commit is on disk with ``fsync``/``synchronous_commit`` on, the defaults). Every
psycopg error (no connection, a timeout, a refused write) is ``QueueUnavailable``; the next call reconnects.
"""

from __future__ import annotations

import base64
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from changebot.adapters.queue.model import (
    Accepted,
    Claimed,
    Entry,
    NewJob,
    QueueStats,
    QueueUnavailable,
    join_order,
    split_order,
)

#: procrastinate's queue name for changebot's jobs.
QUEUE = "changebot"
#: priority = PRIORITY_ZERO - floor(due): fits procrastinate's 32-bit priority for due times up to the 2090s.
PRIORITY_ZERO = 1_800_000_000
#: Forget delivery ids and order tokens past the window once every this many accepted deliveries.
PRUNE_EVERY = 500
#: A statement that takes longer (a lock held by a stuck client, a hung server) fails: ``QueueUnavailable``.
STATEMENT_TIMEOUT_MS = 30_000
#: A claim's worker whose heartbeat is older than this many leases is unregistered (its job was retried).
PRUNE_WORKERS_AFTER = 10

OUR_SCHEMA = """
CREATE TABLE IF NOT EXISTS changebot_queue_deliveries (id text PRIMARY KEY, seen_at double precision NOT NULL);
CREATE INDEX IF NOT EXISTS changebot_queue_deliveries_seen ON changebot_queue_deliveries (seen_at);
CREATE TABLE IF NOT EXISTS changebot_queue_newest (
    key text PRIMARY KEY, ord text COLLATE "C" NOT NULL, seen_at double precision NOT NULL
);
CREATE TABLE IF NOT EXISTS changebot_queue_leases (
    worker_id bigint PRIMARY KEY REFERENCES procrastinate_workers (id) ON DELETE CASCADE,
    owner text NOT NULL
);
CREATE SCHEMA IF NOT EXISTS changebot_clock;
CREATE OR REPLACE FUNCTION changebot_clock.now() RETURNS timestamp with time zone LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        to_timestamp(NULLIF(current_setting('changebot.now', true), '')::double precision), pg_catalog.now()
    )
$$;
"""

#: procrastinate's ``select_stalled_jobs_by_heartbeat`` for our queue, locking the rows it returns.
STALLED = """
WITH stalled_workers AS (
    SELECT id FROM procrastinate_workers WHERE last_heartbeat < now() - %(seconds)s * interval '1 second'
)
SELECT job.id
  FROM procrastinate_jobs job
  LEFT JOIN stalled_workers sw ON sw.id = job.worker_id
 WHERE job.status = 'doing' AND job.queue_name = %(queue)s AND (job.worker_id IS NULL OR sw.id IS NOT NULL)
 ORDER BY job.id
   FOR UPDATE OF job SKIP LOCKED
"""

#: Whether any job is due (the partial index ``procrastinate_jobs_priority_idx_v1`` holds the ``todo`` ones).
DUE = """
SELECT 1 FROM procrastinate_jobs
 WHERE status = 'todo' AND queue_name = %(queue)s AND (scheduled_at IS NULL OR scheduled_at <= now())
 LIMIT 1
"""

#: A job of ``key`` queued after ``id`` with the same or a newer order token (``slot`` jobs carry none).
NEWER = """
SELECT 1 FROM procrastinate_jobs
 WHERE queue_name = %(queue)s AND lock = %(key)s AND status = 'todo' AND id > %(id)s AND queueing_lock IS NULL
   AND args->>'ord' IS NOT NULL AND (args->>'ord') COLLATE "C" >= %(ord)s
 LIMIT 1
"""

#: The job ``id`` and its claim's worker if it is running for ``owner`` (locked).
OWNED = """
SELECT job.id, job.worker_id FROM procrastinate_jobs job JOIN changebot_queue_leases w ON w.worker_id = job.worker_id
 WHERE job.id = %(id)s AND job.status = 'doing' AND w.owner = %(owner)s
   FOR UPDATE OF job
"""

JOB_COLUMNS = "id, lock, task_name, args, attempts"


def priority(due: float, again: bool = False) -> int:
    """procrastinate's priority for a job due at ``due`` (earlier due, higher priority). A job that comes back
    (``again``: released or revived) ranks after every job due within the same second, as if due at the next
    whole second: it has an older id, which would otherwise put it first among them."""
    seconds = math.ceil(due) if again else math.floor(due)
    return max(-(2**31), min(2**31 - 1, PRIORITY_ZERO - seconds))


class PgQueue:
    """The queue in the PostgreSQL database at ``url`` (``postgresql://USER:PASSWORD@HOST:PORT/DB``)."""

    def __init__(self, url: str, dedupe_seconds: float = 7 * 86400.0, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.dedupe_seconds = dedupe_seconds
        self.connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._search_path = ""
        self._accepted = 0

    # -- connection --------------------------------------------------------------------------------------------

    def _where(self) -> str:
        parts = urlsplit(self.url)
        return f"postgresql {parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"

    def _unavailable(self, exc: BaseException) -> QueueUnavailable:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return QueueUnavailable(
            f"queue {self._where()}: {type(exc).__name__}: {message}", "is PostgreSQL running and writable?"
        )

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        self._drop()
        conn = psycopg.connect(
            self.url, autocommit=True, connect_timeout=max(1, math.ceil(self.connect_timeout)),
            application_name="changebot-queue",
        )  # fmt: skip
        try:
            _ensure_schema(conn)
            path = _one(conn.execute("SELECT current_setting('search_path')"))[0]
            self._search_path = f"changebot_clock, {path}, pg_catalog"
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    @contextmanager
    def _tx(self, now: float | None = None) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction on the caller's clock ``now`` (the server's when ``None``). Its settings are the
        transaction's own (``SET LOCAL``), so a pooler in transaction mode is fine too."""
        with self._lock:
            try:
                conn = self._connect()
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(
                        "SELECT set_config('search_path', %s, true), set_config('changebot.now', %s, true),"
                        " set_config('statement_timeout', %s, true)",
                        (self._search_path, "" if now is None else repr(float(now)), f"{STATEMENT_TIMEOUT_MS}"),
                    )
                    yield cur
            except psycopg.Error as exc:
                if self._conn is not None and (self._conn.closed or self._conn.broken):
                    self._drop()
                raise self._unavailable(exc) from exc

    # -- the Queue protocol ------------------------------------------------------------------------------------

    def ping(self) -> None:
        with self._tx() as cur:
            cur.execute("SELECT 1 FROM procrastinate_jobs LIMIT 1")

    def accept(self, delivery: str, jobs: Sequence[NewJob], now: float) -> Accepted:
        with self._tx(now) as cur:
            cur.execute(
                "INSERT INTO changebot_queue_deliveries AS d (id, seen_at) VALUES (%s, %s)"
                " ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at WHERE d.seen_at <= %s RETURNING id",
                (delivery, now, now - self.dedupe_seconds),
            )
            if cur.fetchone() is None:
                return Accepted("duplicate")
            queued = stale = 0
            rows: list[tuple[Any, ...]] = []
            for job in jobs:
                order = join_order(job.order)
                if order is not None:
                    # ``ord`` is COLLATE "C": byte order, like SQLite's comparisons.
                    cur.execute(
                        "INSERT INTO changebot_queue_newest AS n (key, ord, seen_at) VALUES (%s, %s, %s)"
                        " ON CONFLICT (key) DO UPDATE SET ord = EXCLUDED.ord, seen_at = EXCLUDED.seen_at"
                        " WHERE n.ord <= EXCLUDED.ord RETURNING key",
                        (job.key, order, now),
                    )
                    if cur.fetchone() is None:
                        stale += 1
                        continue
                rows.append(_to_defer(job, now, job.due or now))
                queued += 1
            if rows:
                _defer(cur, rows)
            self._accepted += 1
            if self._accepted % PRUNE_EVERY == 0:
                cur.execute("DELETE FROM changebot_queue_deliveries WHERE seen_at <= %s", (now - self.dedupe_seconds,))
                cur.execute("DELETE FROM changebot_queue_newest WHERE seen_at <= %s", (now - self.dedupe_seconds,))
        return Accepted("queued", queued, stale)

    def schedule(self, job: NewJob) -> int:
        with self._tx(job.due) as cur:
            if job.slot is not None:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('changebot-slot:' || %s))", (job.slot,))
                cur.execute(
                    "SELECT procrastinate_cancel_job_v1(id, false, true) FROM procrastinate_jobs"
                    " WHERE queueing_lock = %s AND status = 'todo'",
                    (job.slot,),
                )
            return _defer(cur, [_to_defer(job, job.due, job.due)])[0]

    def claim(self, owner: str, now: float, lease: float) -> Claimed | None:
        with self._tx(now) as cur:
            cur.execute(STALLED, {"seconds": lease, "queue": QUEUE})
            for (stalled,) in cur.fetchall():
                cur.execute("SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)", (stalled,))
            cur.execute("SELECT procrastinate_prune_stalled_workers_v1(%s)", (lease * PRUNE_WORKERS_AFTER,))
            cur.execute(DUE, {"queue": QUEUE})
            if cur.fetchone() is None:
                return None  # an idle poll writes nothing (no worker registered for nothing)
            cur.execute("SELECT worker_id FROM procrastinate_register_worker_v1()")
            worker = int(_one(cur)[0])
            cur.execute("SELECT procrastinate_update_heartbeat_v1(%s)", (worker,))  # the caller's clock
            while True:
                cur.execute(f"SELECT {JOB_COLUMNS} FROM procrastinate_fetch_job_v2(%s, %s)", ([QUEUE], worker))  # noqa: S608
                row = cur.fetchone()
                if row is None or row[0] is None:
                    cur.execute("SELECT procrastinate_unregister_worker_v1(%s)", (worker,))
                    return None
                order = row[3].get("ord")
                if order is not None and _newer(cur, row[0], row[1], order):
                    cur.execute("SELECT procrastinate_finish_job_v1(%s, 'succeeded', true)", (row[0],))
                    continue
                cur.execute("INSERT INTO changebot_queue_leases (worker_id, owner) VALUES (%s, %s)", (worker, owner))
                return _claimed(row, owner)

    def _owned(self, cur: psycopg.Cursor[Any], job: Claimed) -> int | None:
        """The worker of ``job``'s claim while ``job.owner`` holds it (the job's row locked), else ``None``."""
        cur.execute(OWNED, {"id": job.id, "owner": job.owner})
        row = cur.fetchone()
        return None if row is None else int(row[1])

    def extend(self, job: Claimed, now: float, lease: float) -> bool:
        with self._tx(now) as cur:
            worker = self._owned(cur, job)
            if worker is None:
                return False
            cur.execute("SELECT procrastinate_update_heartbeat_v1(%s)", (worker,))
            return True

    def superseded(self, job: Claimed) -> bool:
        order = join_order(job.order)
        if order is None:
            return False
        with self._tx() as cur:
            return _newer(cur, job.id, job.key, order)

    def complete(self, job: Claimed) -> None:
        with self._tx() as cur:
            worker = self._owned(cur, job)
            if worker is not None:
                cur.execute("SELECT procrastinate_finish_job_v1(%s, 'succeeded', true)", (job.id,))
                cur.execute("SELECT procrastinate_unregister_worker_v1(%s)", (worker,))

    def release(self, job: Claimed, error: str, due: float) -> None:
        with self._tx() as cur:
            worker = self._owned(cur, job)
            if worker is None:
                return
            _keep_error(cur, job.id, error)
            cur.execute(
                "SELECT procrastinate_retry_job_v2(%s, to_timestamp(%s), %s, NULL, NULL)",
                (job.id, due, priority(due, again=True)),
            )
            cur.execute("SELECT procrastinate_unregister_worker_v1(%s)", (worker,))

    def bury(self, job: Claimed, error: str, now: float) -> None:
        with self._tx(now) as cur:
            worker = self._owned(cur, job)
            if worker is None:
                return
            _keep_error(cur, job.id, error)
            # A dead job gives up its slot (a revived one must not collide with the slot's next job) and is
            # dated by its death, as ``entries`` shows it.
            cur.execute(
                "UPDATE procrastinate_jobs SET queueing_lock = NULL, scheduled_at = to_timestamp(%s) WHERE id = %s",
                (now, job.id),
            )
            cur.execute("SELECT procrastinate_finish_job_v1(%s, 'failed', false)", (job.id,))
            cur.execute("SELECT procrastinate_unregister_worker_v1(%s)", (worker,))

    def stats(self, now: float) -> QueueStats:
        with self._tx(now) as cur:
            cur.execute(
                "SELECT count(*) FILTER (WHERE status = 'doing' OR (status = 'todo' AND scheduled_at <= now())),"
                " min((args->>'created')::double precision)"
                "   FILTER (WHERE status = 'doing' OR (status = 'todo' AND scheduled_at <= now())),"
                " count(*) FILTER (WHERE status = 'failed'),"
                " count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now())"
                " FROM procrastinate_jobs WHERE queue_name = %s",
                (QUEUE,),
            )
            row = _one(cur)
        depth, oldest, dead, scheduled = row
        return QueueStats(int(depth), max(0.0, now - oldest) if oldest is not None else 0.0, int(dead), int(scheduled))

    def entries(self, now: float, state: Literal["ready", "dead"] | None = None, limit: int = 100) -> list[Entry]:
        statuses = {None: ["todo", "doing", "failed"], "ready": ["todo", "doing"], "dead": ["failed"]}[state]
        with self._tx(now) as cur:
            cur.execute(
                "SELECT id, status::text, lock, task_name, args, attempts, extract(epoch FROM scheduled_at)"
                " FROM procrastinate_jobs WHERE queue_name = %s AND status::text = ANY(%s)"
                " ORDER BY scheduled_at, id LIMIT %s",
                (QUEUE, statuses, limit),
            )
            rows = cur.fetchall()
        shown = {"todo": "ready", "doing": "running", "failed": "dead"}
        return [
            Entry(
                id=int(r[0]),
                state=shown[r[1]],  # type: ignore[arg-type]
                key=r[2],
                name=r[3],
                delivery=r[4]["delivery"],
                attempts=int(r[5]) + (1 if r[1] == "doing" else 0),
                due=float(r[6]),
                created=float(r[4]["created"]),
                error=r[4].get("error", ""),
            )
            for r in rows
        ]

    def revive(self, job_id: int | None, now: float) -> int:
        with self._tx(now) as cur:
            cur.execute(
                "SELECT id FROM procrastinate_jobs WHERE queue_name = %s AND status = 'failed'"
                " AND (%s::bigint IS NULL OR id = %s::bigint) ORDER BY id FOR UPDATE",
                (QUEUE, job_id, job_id),
            )
            ids = [row[0] for row in cur.fetchall()]
            for dead in ids:
                cur.execute(
                    "SELECT procrastinate_retry_job_v2(%s, now(), %s, NULL, NULL)", (dead, priority(now, again=True))
                )
            if ids:
                cur.execute("UPDATE procrastinate_jobs SET attempts = 0 WHERE id = ANY(%s)", (ids,))
            return len(ids)

    def purge(self, job_id: int | None) -> int:
        with self._tx() as cur:
            cur.execute(
                "DELETE FROM procrastinate_jobs WHERE queue_name = %s AND status = 'failed'"
                " AND (%s::bigint IS NULL OR id = %s::bigint)",
                (QUEUE, job_id, job_id),
            )
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __del__(self) -> None:  # a queue dropped without close() closes its connection quietly
        conn = getattr(self, "_conn", None)
        if conn is not None:
            with suppress(Exception):  # nothing to report to at collection time
                conn.close()


def _ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """procrastinate's schema when ``procrastinate_jobs`` is missing, then our tables and clock, once per
    database (one connection at a time: an advisory lock)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('changebot-queue-schema'))")
        row = _one(
            conn.execute(
                "SELECT to_regclass('procrastinate_jobs') IS NOT NULL,"
                " to_regclass('changebot_queue_leases') IS NOT NULL,"
                " to_regprocedure('changebot_clock.now()') IS NOT NULL"
            )
        )
        if not row[0]:
            from procrastinate.schema import SchemaManager  # noqa: PLC0415 - only for a database without it

            conn.execute(SchemaManager.get_schema())
        if not (row[1] and row[2]):
            conn.execute(OUR_SCHEMA)


def _one(cur: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """The row a query always returns (an ``InterfaceError``, so ``QueueUnavailable``, if it did not)."""
    row = cur.fetchone()
    if row is None:
        raise psycopg.InterfaceError("the query returned no row")
    return tuple(row)


def _to_defer(job: NewJob, now: float, due: float) -> tuple[Any, ...]:
    args = {
        "event": job.event,
        "delivery": job.delivery,
        "index": job.index,
        "payload": base64.b64encode(job.payload).decode(),
        "ord": join_order(job.order),
        "created": now,
    }
    return (QUEUE, job.name, priority(due), job.key, job.slot, Jsonb(args), due)


def _defer(cur: psycopg.Cursor[Any], rows: list[tuple[Any, ...]]) -> list[int]:
    """``procrastinate_defer_jobs_v1`` for ``rows`` (queue, task, priority, lock, queueing_lock, args, due)."""
    values = sql.SQL(", ").join(
        sql.SQL("ROW({}, {}, {}, {}, {}, {}, to_timestamp({}))").format(*(sql.Placeholder() for _ in range(7)))
        for _ in rows
    )
    query = sql.SQL("SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[{}]::procrastinate_job_to_defer_v1[]))")
    cur.execute(query.format(values), [value for row in rows for value in row])
    return [int(r[0]) for r in cur.fetchall()]


def _newer(cur: psycopg.Cursor[Any], job_id: int, key: str, order: str) -> bool:
    cur.execute(NEWER, {"queue": QUEUE, "key": key, "id": job_id, "ord": order})
    return cur.fetchone() is not None


def _keep_error(cur: psycopg.Cursor[Any], job_id: int, error: str) -> None:
    cur.execute(
        "UPDATE procrastinate_jobs SET args = args || jsonb_build_object('error', %s::text) WHERE id = %s",
        (error[:2000], job_id),
    )


def _claimed(row: Any, owner: str) -> Claimed:
    job_id, key, name, args, attempts = row
    return Claimed(
        id=int(job_id),
        key=key,
        name=name,
        event=args["event"],
        delivery=args["delivery"],
        index=int(args["index"]),
        payload=base64.b64decode(args["payload"]),
        order=split_order(args.get("ord")),
        attempt=int(attempts) + 1,
        owner=owner,
        created=float(args["created"]),
    )
