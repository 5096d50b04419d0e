"""The App's durable queue: deliveries stored before they are acknowledged, run at least once, one pull request
at a time across every replica, and scheduled jobs that replace each other by slot.

``open_queue(url)`` picks the backend from ``CHANGEBOT_QUEUE_URL``:

- ``sqlite:///PATH`` (the default, a file under the state directory): one node, nothing else to run
  (``changebot.adapters.queue.sqlite``);
- ``postgresql://USER@HOST:PORT/DB`` (or ``postgres://``): the distributed queue, several replicas on one
  PostgreSQL, on procrastinate's job table and procedures (``changebot.adapters.queue.postgres``). It needs the
  ``postgres`` extra: ``pip install 'changebot[postgres]'``.

Both keep the same promises (the shared test suite runs against each):

* ``accept`` stores a delivery's jobs and its id in one atomic step; a delivery id seen within the dedupe window
  is answered ``duplicate`` and stores nothing;
* ``claim`` hands out the first due job of a key whose key is not leased by a live worker, and leases the key
  (so a key's jobs run one at a time, in order, across processes); a lease that is not extended expires, and the
  job is handed out again (at-least-once: a worker killed mid-job loses nothing);
* a job with an ``order`` is dropped when a job for its key with the same or a newer order is queued behind it;
* a job leaves the store only when it is ``complete``-d, or it goes to the dead letters (``bury``), which
  ``revive`` puts back.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from changebot.adapters.queue.model import (
    Accepted,
    Claimed,
    Entry,
    NewJob,
    Queue,
    QueueStats,
    QueueUnavailable,
)
from changebot.errors import UsageError

__all__ = [
    "Accepted",
    "Claimed",
    "Entry",
    "NewJob",
    "Queue",
    "QueueStats",
    "QueueUnavailable",
    "check_url",
    "open_queue",
]


SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
HINT = "use sqlite:///ABSOLUTE/PATH.db (one node) or postgresql://USER@HOST:PORT/DB (the distributed queue)"


def check_url(url: str) -> str:
    """``url`` when it names a queue changebot knows; a ``UsageError`` otherwise."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError(
            f"CHANGEBOT_QUEUE_URL={url!r}: changebot has no Redis queue; the distributed queue is PostgreSQL",
            "use postgresql://USER@HOST:PORT/DB (pip install 'changebot[postgres]'), or sqlite:///ABSOLUTE/PATH.db "
            "on one node",
        )
    if not url.startswith(SCHEMES) or url == "sqlite:///":
        raise UsageError(f"CHANGEBOT_QUEUE_URL={url!r} is not a queue changebot knows", HINT)
    return url


def open_queue(url: str, dedupe_seconds: float = 7 * 86400.0) -> Queue:
    """The queue ``url`` names. A URL of another scheme is a ``UsageError``, and so is a PostgreSQL URL when the
    ``postgres`` extra is not installed. Nothing connects yet: the first call does (and creates the SQLite file
    and its directory)."""
    check_url(url)
    if url.startswith("sqlite:///"):
        from changebot.adapters.queue.sqlite import SqliteQueue  # noqa: PLC0415

        return SqliteQueue(Path("/" + url.removeprefix("sqlite:///").lstrip("/")), dedupe_seconds)
    try:
        from changebot.adapters.queue.postgres import PgQueue  # noqa: PLC0415 - only with the postgres extra

        missing = None if find_spec("procrastinate") is not None else "procrastinate"
    except ImportError as exc:
        missing = exc.name or "psycopg"
    if missing is not None:
        raise UsageError(
            f"CHANGEBOT_QUEUE_URL names a PostgreSQL queue, but {missing} is not installed",
            "pip install 'changebot[postgres]' (procrastinate and psycopg), or use sqlite:///ABSOLUTE/PATH.db",
        )
    return PgQueue(url, dedupe_seconds)
