"""The App's cron: run the freeze audit at the times ``CHANGEBOT_AUDIT_CRON`` names (croniter, in UTC).

``AuditScheduler`` lives on the server's event loop: ``start()`` on ASGI lifespan startup, ``stop()`` on
shutdown; nothing runs at import time. It computes the next fire time with croniter from an injectable clock,
sleeps until then (with an injectable ``sleep``, in steps of at most a minute so a clock change is noticed),
and hands the tick to one dedicated worker thread. Ticks never overlap: a tick that comes due while the
previous one is still running is skipped and counted (``changebot_audits_total{outcome="skipped"}``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from changebot.app.metrics import Metrics
from changebot.errors import UsageError

log = logging.getLogger("changebot.app.scheduler")

#: Longest single sleep: the clock is read again at least this often (seconds).
MAX_SLEEP = 60.0


def parse_cron(expression: str) -> str:
    """``expression`` normalised, if it is a valid five-field cron expression; a ``UsageError`` otherwise."""
    from croniter import croniter  # noqa: PLC0415 - only the App with a cron setting needs it

    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(" ".join(fields)):
        raise UsageError(
            f"CHANGEBOT_AUDIT_CRON={expression!r} is not a five-field cron expression",
            "use minute hour day-of-month month day-of-week, in UTC, e.g. '0 6 * * 1' for Mondays at 06:00",
        )
    return " ".join(fields)


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that ``expression`` names, evaluated in UTC."""
    from croniter import croniter  # noqa: PLC0415

    fire: datetime = croniter(expression, after.astimezone(UTC)).get_next(datetime)
    return fire.astimezone(UTC)


class AuditScheduler:
    """Calls ``tick(now)`` in a worker thread at each cron time, never two at once."""

    def __init__(
        self,
        cron: str,
        tick: Callable[[datetime], object],
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.cron = parse_cron(cron)
        self.tick = tick
        self.metrics = metrics
        self.clock = clock
        self.sleep = sleep
        self.on_stop = on_stop
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._running: Future[None] | None = None

    def start(self) -> None:
        """Start the loop on the running event loop (ASGI lifespan startup)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="changebot-audit")
        self._task = asyncio.get_running_loop().create_task(self._loop())
        log.info("scheduled audit: cron %r (UTC), next at %s", self.cron, next_fire(self.cron, self.clock()))

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop the loop; ask a running tick to stop (``on_stop``) and wait up to ``timeout`` seconds for it."""
        if self.on_stop is not None:
            self.on_stop()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        running = self._running
        if running is not None and not running.done():
            try:
                await asyncio.wait_for(asyncio.wrap_future(running), timeout)
            except TimeoutError:
                log.warning("scheduled audit still running at shutdown; abandoning it")
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _loop(self) -> None:
        last: datetime | None = None
        while True:
            now = self.clock()
            due = next_fire(self.cron, now if last is None else max(now, last))
            while (remaining := (due - self.clock()).total_seconds()) > 0:
                await self.sleep(min(remaining, MAX_SLEEP))
            last = due
            self.fire()

    def fire(self) -> bool:
        """Start a tick now, unless the previous one is still running (then count it skipped)."""
        if self._executor is None:
            raise RuntimeError("the scheduler is not started")
        if self._running is not None and not self._running.done():
            self.metrics.audits.labels("skipped").inc()
            log.warning("scheduled audit skipped: the previous one is still running")
            return False
        self._running = self._executor.submit(self._tick, self.clock())
        return True

    def _tick(self, now: datetime) -> None:
        try:
            self.tick(now)
        except Exception:
            log.exception("scheduled audit tick failed")
