"""The queue's port and its plain data: what goes in (``NewJob``), what a worker gets (``Claimed``), what the
operator sees (``Entry``, ``QueueStats``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from changebot.errors import ChangebotError


class QueueUnavailable(ChangebotError):
    """The queue's backend cannot be reached (or refused the write): nothing was stored."""


@dataclass(frozen=True)
class NewJob:
    """A job to store. ``event``/``delivery``/``index`` say how to rebuild the work (the index-th job the router
    makes of that delivery, or the scheduled task named ``name``); ``payload`` is the raw body. ``slot``, for a
    scheduled job, names the one job that may be pending for it: scheduling again replaces it."""

    key: str
    name: str
    event: str
    delivery: str
    payload: bytes
    index: int = 0
    order: tuple[str, ...] | None = None
    due: float = 0.0
    slot: str | None = None


@dataclass(frozen=True)
class Claimed:
    """A job handed to a worker, with its key leased to ``owner``. ``attempt`` counts from 1."""

    id: int
    key: str
    name: str
    event: str
    delivery: str
    payload: bytes
    index: int
    order: tuple[str, ...] | None
    attempt: int
    owner: str
    created: float


@dataclass(frozen=True)
class Accepted:
    """``duplicate``: the delivery id was seen within the dedupe window, nothing stored. Else how many jobs were
    stored and how many were dropped at once because a newer one for their key was already seen."""

    status: Literal["queued", "duplicate"]
    queued: int = 0
    stale: int = 0


@dataclass(frozen=True)
class Entry:
    """One stored job as ``changebot queue ls`` shows it."""

    id: int
    state: Literal["ready", "running", "dead"]
    key: str
    name: str
    delivery: str
    attempts: int
    due: float
    created: float
    error: str


@dataclass(frozen=True)
class QueueStats:
    """Numbers for ``/metrics``: jobs waiting or running, the oldest one's age (seconds, 0 when empty), dead
    letters, and scheduled jobs not yet due."""

    depth: int
    oldest_age: float
    dead: int
    scheduled: int


class Queue(Protocol):
    """What the App needs of a durable queue. Every method may raise ``QueueUnavailable``; times are Unix
    seconds passed in by the caller."""

    def ping(self) -> None: ...

    def accept(self, delivery: str, jobs: Sequence[NewJob], now: float) -> Accepted: ...

    def schedule(self, job: NewJob) -> int: ...

    def claim(self, owner: str, now: float, lease: float) -> Claimed | None: ...

    def extend(self, job: Claimed, now: float, lease: float) -> bool: ...

    def superseded(self, job: Claimed) -> bool: ...

    def complete(self, job: Claimed) -> None: ...

    def release(self, job: Claimed, error: str, due: float) -> None: ...

    def bury(self, job: Claimed, error: str, now: float) -> None: ...

    def stats(self, now: float) -> QueueStats: ...

    def entries(self, now: float, state: Literal["ready", "dead"] | None = None, limit: int = 100) -> list[Entry]: ...

    def revive(self, job_id: int | None, now: float) -> int: ...

    def purge(self, job_id: int | None) -> int: ...

    def close(self) -> None: ...


def join_order(order: tuple[str, ...] | None) -> str | None:
    """An order token as one comparable string (the parts are ISO timestamps and SHAs: no ``\\x1f``)."""
    return None if order is None else "\x1f".join(order)


def split_order(raw: str | bytes | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    return tuple(text.split("\x1f"))
