"""The distributed queue: one Redis (or Valkey) shared by every replica, each operation one Lua script.

Durability is Redis's: the promise "an acknowledged delivery is never lost" holds across a Redis restart only
with the append-only file on and fsynced on every write (``appendonly yes``, ``appendfsync always``); with
``everysec`` a crash of Redis itself may lose the last second (see the README's operations section). Every
Redis error (no connection, a timeout, a write refused because persistence failed) is ``QueueUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import redis
from redis.commands.core import Script

from changebot.adapters.queue import redis_lua
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

T = TypeVar("T")

#: Runnable jobs looked at per claim (the first whose key is free is taken).
SCAN = 200


SCRIPTS = ("ACCEPT", "SCHEDULE", "CLAIM", "EXTEND", "SUPERSEDED", "COMPLETE", "RELEASE", "BURY", "REVIVE", "PURGE")


def _pad(job_id: int) -> str:
    return f"{job_id:016d}"


class RedisQueue:
    """The queue on the Redis at ``url``, its keys under ``prefix``."""

    def __init__(self, url: str, dedupe_seconds: float = 7 * 86400.0, prefix: str = "changebot:q:") -> None:
        self.url = url
        self.dedupe_seconds = dedupe_seconds
        self.prefix = prefix
        self.client: redis.Redis = redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=2.0)
        self._scripts: dict[str, Script] = {
            name: self.client.register_script(getattr(redis_lua, name))
            for name in SCRIPTS
        }

    def _call(self, what: Callable[[], T]) -> T:
        try:
            return what()
        except redis.RedisError as exc:
            raise QueueUnavailable(
                f"queue {self._where()}: {type(exc).__name__}: {exc}", "is Redis running and writable?"
            ) from exc

    def _where(self) -> str:
        kwargs = self.client.connection_pool.connection_kwargs
        return f"redis {kwargs.get('host', kwargs.get('path', '?'))}:{kwargs.get('port', '')}"

    def _run(self, name: str, *args: Any) -> Any:
        script = self._scripts[name]
        return self._call(lambda: script(keys=[], args=[self.prefix, *args]))

    def ping(self) -> None:
        self._call(self.client.ping)

    def accept(self, delivery: str, jobs: Sequence[NewJob], now: float) -> Accepted:
        args: list[Any] = [delivery, repr(now), repr(self.dedupe_seconds), len(jobs)]
        for job in jobs:
            args += [job.key, job.name, job.event, job.delivery, job.index, join_order(job.order) or ""]
            args += [repr(job.due), job.payload]
        queued, stale = self._run("ACCEPT", *args)
        if queued == -1:
            return Accepted("duplicate")
        return Accepted("queued", int(queued), int(stale))

    def schedule(self, job: NewJob) -> int:
        order = join_order(job.order) or ""
        args = [job.key, job.name, job.event, job.delivery, job.index, job.payload, order, repr(job.due)]
        return int(self._run("SCHEDULE", *args, job.slot or ""))

    def claim(self, owner: str, now: float, lease: float) -> Claimed | None:
        row = self._run("CLAIM", repr(now), owner, repr(lease), SCAN)
        if not row:
            return None
        job_id, key, name, event, delivery, idx, payload, order, attempts, created = row
        return Claimed(
            id=int(job_id),
            key=key.decode(),
            name=name.decode(),
            event=event.decode(),
            delivery=delivery.decode(),
            index=int(idx),
            payload=bytes(payload),
            order=split_order(order) if order else None,
            attempt=int(attempts),
            owner=owner,
            created=float(created),
        )

    def extend(self, job: Claimed, now: float, lease: float) -> bool:
        return bool(self._run("EXTEND", _pad(job.id), job.owner, repr(now + lease)))

    def superseded(self, job: Claimed) -> bool:
        return job.order is not None and bool(self._run("SUPERSEDED", _pad(job.id)))

    def complete(self, job: Claimed) -> None:
        self._run("COMPLETE", _pad(job.id), job.owner)

    def release(self, job: Claimed, error: str, due: float) -> None:
        self._run("RELEASE", _pad(job.id), job.owner, repr(due), error[:2000])

    def bury(self, job: Claimed, error: str, now: float) -> None:
        self._run("BURY", _pad(job.id), job.owner, repr(now), error[:2000])

    def stats(self, now: float) -> QueueStats:
        ready = self.prefix + "ready"

        def read() -> QueueStats:
            pipe = self.client.pipeline(transaction=True)
            pipe.zcount(ready, "-inf", now)
            pipe.zrangebyscore(ready, "-inf", now, start=0, num=1, withscores=True)
            pipe.zcard(self.prefix + "dead")
            pipe.zcount(ready, f"({now}", "+inf")
            depth, first, dead, scheduled = pipe.execute()
            oldest = 0.0
            if first:
                created = self.client.hget(self.prefix + "j:" + bytes(first[0][0]).decode(), "created")
                oldest = max(0.0, now - float(created)) if created is not None else 0.0
            return QueueStats(int(depth), oldest, int(dead), int(scheduled))

        return self._call(read)

    def entries(self, now: float, state: Literal["ready", "dead"] | None = None, limit: int = 100) -> list[Entry]:
        def read() -> list[Entry]:
            ids: list[Any] = []
            if state in (None, "ready"):
                ids += list(self.client.zrange(self.prefix + "ready", 0, limit - 1))
            if state in (None, "dead"):
                ids += list(self.client.zrange(self.prefix + "dead", 0, limit - 1))
            out: list[Entry] = []
            for raw in ids[:limit]:
                fields = ("state", "lease_until", "key", "name", "delivery", "attempts", "due", "created", "error")
                values = self.client.hmget(self.prefix + "j:" + bytes(raw).decode(), fields)
                if values[0] is None:
                    continue
                f = [v.decode() if isinstance(v, bytes) else (v or "") for v in values]
                shown = "running" if f[0] == "ready" and float(f[1] or 0) > now else f[0]
                out.append(
                    Entry(int(raw), shown, f[2], f[3], f[4], int(f[5] or 0), float(f[6]), float(f[7]), f[8])  # type: ignore[arg-type]
                )
            return out

        return self._call(read)

    def revive(self, job_id: int | None, now: float) -> int:
        return int(self._run("REVIVE", "" if job_id is None else _pad(job_id), repr(now)))

    def purge(self, job_id: int | None) -> int:
        return int(self._run("PURGE", "" if job_id is None else _pad(job_id)))

    def close(self) -> None:
        self.client.close()
