"""The App's cron: run the freeze audit at the times ``CHANGEBOT_AUDIT_CRON`` names (croniter, in UTC), kept in
the durable queue rather than in a timer of any one process.

``AuditCron`` holds one scheduled job (task ``freeze-audit``) in the queue, at the next cron time. Every process
that starts arms it (scheduling replaces the pending job of the same slot, so N replicas still hold one); the
worker that runs it schedules the following one first, then audits. So a restart, a deploy or a crash mid-tick
loses no tick: the job stays in the queue until it ran, and its key's lease keeps two ticks from overlapping
across replicas. A tick that starts after the next cron time already passed (the previous one ran long, or no
worker was up) counts as ``changebot_audits_total{outcome="skipped"}``: missed times are not replayed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from changebot.adapters.queue import Queue
from changebot.app.jobs import schedule
from changebot.app.metrics import Metrics
from changebot.errors import UsageError
from changebot.github.jobs import JobControl

log = logging.getLogger("changebot.app.scheduler")


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


class AuditCron:
    """Calls ``tick(now)`` from a queue worker at each cron time; ``run`` is the queue task, ``arm`` starts it."""

    TASK = "freeze-audit"
    KEY = "changebot/freeze-audit"

    def __init__(
        self,
        queue: Queue,
        cron: str,
        tick: Callable[[datetime], object],
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.cron = parse_cron(cron)
        self.tick = tick
        self.metrics = metrics
        self.clock = clock
        self.on_stop = on_stop

    def arm(self) -> datetime:
        """Schedule the next tick (replacing any pending one); returns when it is due."""
        due = next_fire(self.cron, self.clock())
        schedule(self.queue, self.TASK, self.KEY, due.timestamp(), repr(due.timestamp()).encode())
        log.info("scheduled audit: cron %r (UTC), next at %s", self.cron, due.isoformat())
        return due

    def run(self, payload: bytes, control: JobControl) -> None:
        """The queue task: schedule the next tick, then audit. A failing tick is logged (the auditor counts each
        repository) and never stops the schedule."""
        now = self.clock()
        self.arm()
        try:
            due = datetime.fromtimestamp(float(payload.decode() or "nan"), UTC)
        except (ValueError, OverflowError):
            due = now
        if next_fire(self.cron, due) <= now:
            self.metrics.audits.labels("skipped").inc()
            log.warning("scheduled audit of %s ran after the next cron time; the missed time is skipped", due)
        try:
            self.tick(now)
        except Exception:
            log.exception("scheduled audit tick failed")

    def stop(self) -> None:
        """Tell a running tick to stop at the next repository (process shutdown)."""
        if self.on_stop is not None:
            self.on_stop()
