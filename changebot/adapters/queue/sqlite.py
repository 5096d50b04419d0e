"""The embedded queue: one SQLite file (WAL, ``synchronous=FULL``), shared safely by the processes of one node.

Every operation is one ``BEGIN IMMEDIATE`` transaction, so two workers (threads or processes) never claim the
same key, and a delivery is either stored with all its jobs and its id or not at all. ``busy_timeout`` makes a
writer wait for another instead of failing; a file that cannot be opened or written is ``QueueUnavailable``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

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

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    event TEXT NOT NULL,
    delivery TEXT NOT NULL,
    idx INTEGER NOT NULL,
    payload BLOB NOT NULL,
    ord TEXT,
    slot TEXT UNIQUE,
    state TEXT NOT NULL DEFAULT 'ready',
    due REAL NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, due, id);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs (key, state);
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, seen REAL NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_seen ON deliveries (seen);
CREATE TABLE IF NOT EXISTS newest (key TEXT PRIMARY KEY, ord TEXT NOT NULL, seen REAL NOT NULL);
"""

#: Forget delivery ids past the window once every this many accepted deliveries.
PRUNE_EVERY = 500


class SqliteQueue:
    """The queue in the SQLite file ``path`` (created with its directory)."""

    def __init__(self, path: Path, dedupe_seconds: float = 7 * 86400.0) -> None:
        self.path = path
        self.dedupe_seconds = dedupe_seconds
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._accepted = 0

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                # The queue holds webhook bodies (private repositories' titles, comments): owner-only, like a
                # key. SQLite gives its -wal and -shm files the database file's mode.
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
                conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise QueueUnavailable(f"queue {self.path}: {exc}", "check the path and its permissions") from exc
            self._conn = conn
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise QueueUnavailable(f"queue {self.path}: {exc}") from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise QueueUnavailable(f"queue {self.path}: {exc}") from exc

    def ping(self) -> None:
        with self._tx() as conn:
            conn.execute("SELECT 1 FROM jobs LIMIT 1")

    def accept(self, delivery: str, jobs: Sequence[NewJob], now: float) -> Accepted:
        with self._tx() as conn:
            row = conn.execute("SELECT seen FROM deliveries WHERE id = ?", (delivery,)).fetchone()
            if row is not None and row[0] > now - self.dedupe_seconds:
                return Accepted("duplicate")
            conn.execute("INSERT OR REPLACE INTO deliveries (id, seen) VALUES (?, ?)", (delivery, now))
            queued = stale = 0
            for job in jobs:
                order = join_order(job.order)
                if order is not None:
                    newest = conn.execute("SELECT ord FROM newest WHERE key = ?", (job.key,)).fetchone()
                    if newest is not None and order < newest[0]:
                        stale += 1
                        continue
                    conn.execute(
                        "INSERT OR REPLACE INTO newest (key, ord, seen) VALUES (?, ?, ?)", (job.key, order, now)
                    )
                self._insert(conn, job, now)
                queued += 1
            self._accepted += 1
            if self._accepted % PRUNE_EVERY == 0:
                conn.execute("DELETE FROM deliveries WHERE seen <= ?", (now - self.dedupe_seconds,))
                conn.execute("DELETE FROM newest WHERE seen <= ?", (now - self.dedupe_seconds,))
        return Accepted("queued", queued, stale)

    def _insert(self, conn: sqlite3.Connection, job: NewJob, now: float) -> int:
        cursor = conn.execute(
            "INSERT INTO jobs (key, name, event, delivery, idx, payload, ord, slot, due, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job.key,
                job.name,
                job.event,
                job.delivery,
                job.index,
                job.payload,
                join_order(job.order),
                job.slot,
                job.due or now,
                now,
            ),
        )
        return int(cursor.lastrowid or 0)

    def schedule(self, job: NewJob) -> int:
        with self._tx() as conn:
            if job.slot is not None:
                conn.execute("DELETE FROM jobs WHERE slot = ? AND owner IS NULL", (job.slot,))
                conn.execute("UPDATE jobs SET slot = NULL WHERE slot = ?", (job.slot,))
            return self._insert(conn, job, job.due)

    def claim(self, owner: str, now: float, lease: float) -> Claimed | None:
        with self._tx() as conn:
            while True:
                row = conn.execute(
                    "SELECT id, key, name, event, delivery, idx, payload, ord, attempts, created"
                    " FROM jobs j WHERE state = 'ready' AND due <= :now"
                    " AND NOT EXISTS (SELECT 1 FROM jobs l WHERE l.key = j.key AND l.state = 'ready'"
                    "   AND l.lease_until > :now)"
                    " AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.key = j.key AND e.state = 'ready'"
                    "   AND (e.due < j.due OR (e.due = j.due AND e.id < j.id)))"
                    " ORDER BY due, id LIMIT 1",
                    {"now": now},
                ).fetchone()
                if row is None:
                    return None
                if row[7] is not None and self._newer(conn, row[0], row[1], row[7]):
                    conn.execute("DELETE FROM jobs WHERE id = ?", (row[0],))
                    continue
                conn.execute(
                    "UPDATE jobs SET owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                    (owner, now + lease, row[0]),
                )
                return _claimed(row, owner)

    @staticmethod
    def _newer(conn: sqlite3.Connection, job_id: int, key: str, order: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM jobs WHERE key = ? AND state = 'ready' AND id > ? AND ord IS NOT NULL AND ord >= ?"
            " AND slot IS NULL LIMIT 1",
            (key, job_id, order),
        ).fetchone()
        return row is not None

    def extend(self, job: Claimed, now: float, lease: float) -> bool:
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET lease_until = ? WHERE id = ? AND owner = ? AND state = 'ready'",
                (now + lease, job.id, job.owner),
            )
            return cursor.rowcount == 1

    def superseded(self, job: Claimed) -> bool:
        order = join_order(job.order)
        if order is None:
            return False
        with self._tx() as conn:
            return self._newer(conn, job.id, job.key, order)

    def complete(self, job: Claimed) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM jobs WHERE id = ? AND owner = ?", (job.id, job.owner))

    def release(self, job: Claimed, error: str, due: float) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE jobs SET owner = NULL, lease_until = 0, due = ?, error = ? WHERE id = ? AND owner = ?",
                (due, error[:2000], job.id, job.owner),
            )

    def bury(self, job: Claimed, error: str, now: float) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'dead', owner = NULL, lease_until = 0, due = ?, error = ?, slot = NULL"
                " WHERE id = ? AND owner = ?",
                (now, error[:2000], job.id, job.owner),
            )

    def stats(self, now: float) -> QueueStats:
        with self._tx() as conn:
            depth, oldest = conn.execute(
                "SELECT count(*), min(created) FROM jobs WHERE state = 'ready' AND due <= ?", (now,)
            ).fetchone()
            dead = conn.execute("SELECT count(*) FROM jobs WHERE state = 'dead'").fetchone()[0]
            scheduled = conn.execute("SELECT count(*) FROM jobs WHERE state = 'ready' AND due > ?", (now,)).fetchone()[
                0
            ]
        return QueueStats(int(depth), max(0.0, now - oldest) if oldest is not None else 0.0, int(dead), int(scheduled))

    def entries(self, now: float, state: Literal["ready", "dead"] | None = None, limit: int = 100) -> list[Entry]:
        where = "" if state is None else "WHERE state = :state"
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT id, state, lease_until, key, name, delivery, attempts, due, created, error FROM jobs {where}"  # noqa: S608
                " ORDER BY due, id LIMIT :limit",
                {"state": state, "limit": limit},
            ).fetchall()
        return [
            Entry(r[0], "running" if r[1] == "ready" and r[2] > now else r[1], r[3], r[4], r[5], r[6], r[7], r[8], r[9])
            for r in rows
        ]

    def revive(self, job_id: int | None, now: float) -> int:
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET state = 'ready', attempts = 0, due = ?, owner = NULL, lease_until = 0"
                " WHERE state = 'dead' AND (? IS NULL OR id = ?)",
                (now, job_id, job_id),
            )
            return cursor.rowcount

    def purge(self, job_id: int | None) -> int:
        with self._tx() as conn:
            cursor = conn.execute("DELETE FROM jobs WHERE state = 'dead' AND (? IS NULL OR id = ?)", (job_id, job_id))
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _claimed(row: Any, owner: str) -> Claimed:
    return Claimed(
        id=row[0],
        key=row[1],
        name=row[2],
        event=row[3],
        delivery=row[4],
        index=row[5],
        payload=bytes(row[6]),
        order=split_order(row[7]),
        attempt=row[8] + 1,
        owner=owner,
        created=row[9],
    )
