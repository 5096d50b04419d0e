"""The App's audit cron: fire times from croniter in UTC, an injected clock and sleep (no real waiting), ticks that
never overlap, start and stop with the server's lifespan, and an invalid setting refused at start-up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from changebot.app.config import AppConfig, from_env
from changebot.app.metrics import Metrics
from changebot.app.scheduler import AuditScheduler, next_fire, parse_cron
from changebot.app.webhook import create_app
from changebot.errors import UsageError
from tests.support.asgi_server import serve

START = datetime(2025, 11, 2, 23, 59, 30, tzinfo=UTC)  # a Sunday, 30 s before midnight UTC


class FakeTime:
    """A clock and an async sleep that moves it; stops the loop after ``limit`` sleeps."""

    def __init__(self, start: datetime, limit: int = 1000) -> None:
        self.now = start
        self.slept: list[float] = []
        self.limit = limit
        self.done = asyncio.Event()

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if len(self.slept) >= self.limit:
            self.done.set()
            await asyncio.Event().wait()  # park here until the scheduler is stopped
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def samples(metrics: Metrics, outcome: str) -> float:
    return metrics.registry.get_sample_value("changebot_audits_total", {"outcome": outcome}) or 0.0


def test_next_fire_is_computed_in_utc() -> None:
    assert next_fire("0 6 * * 1", START) == datetime(2025, 11, 3, 6, 0, tzinfo=UTC)
    # An aware time in another zone is the same instant: 2025-11-02 18:00 in Denver is 2025-11-03 01:00 UTC.
    denver = START.astimezone(__import__("zoneinfo").ZoneInfo("America/Denver"))
    assert next_fire("0 6 * * 1", denver) == datetime(2025, 11, 3, 6, 0, tzinfo=UTC)
    assert next_fire("*/15 * * * *", datetime(2025, 1, 1, 0, 15, tzinfo=UTC)) == datetime(2025, 1, 1, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    ["61 * * * *", "* * * *", "0 0 * * * *", "@weekly", "every monday", "0 6 * * MON-FRI/x"],
)
def test_invalid_cron_expressions_are_refused(expression: str) -> None:
    with pytest.raises(UsageError, match="is not a five-field cron expression") as caught:
        parse_cron(expression)
    assert "in UTC" in caught.value.diagnostics()


def test_settings_read_the_cron_and_the_publish_switch() -> None:
    base = {"CHANGEBOT_WEBHOOK_SECRET": "s"}
    config = from_env(base)
    assert (config.audit_cron, config.audit_publish) == (None, True)
    config = from_env({**base, "CHANGEBOT_AUDIT_CRON": "  0  6 * * 1 ", "CHANGEBOT_AUDIT_PUBLISH": "false"})
    assert (config.audit_cron, config.audit_publish) == ("0 6 * * 1", False)
    with pytest.raises(UsageError, match="CHANGEBOT_AUDIT_PUBLISH='maybe' is neither true nor false"):
        from_env({**base, "CHANGEBOT_AUDIT_PUBLISH": "maybe"})


def test_serve_refuses_to_start_with_an_invalid_cron() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHANGEBOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "changebot", "serve"],
        env={**clean, "CHANGEBOT_WEBHOOK_SECRET": "s", "CHANGEBOT_AUDIT_CRON": "0 25 * * *"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(
        "changebot: error: CHANGEBOT_AUDIT_CRON='0 25 * * *' is not a five-field cron expression\n"
    )


def test_serve_help_documents_the_audit_settings() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "changebot", "serve", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert "CHANGEBOT_AUDIT_CRON" in done.stdout and "CHANGEBOT_AUDIT_PUBLISH" in done.stdout


def test_the_loop_fires_at_each_cron_time_with_the_injected_clock() -> None:
    fake = FakeTime(START, limit=12)
    fired: list[datetime] = []
    metrics = Metrics()
    scheduler = AuditScheduler("0 * * * *", fired.append, metrics, clock=fake.clock, sleep=fake.sleep)

    async def main() -> None:
        scheduler.start()
        await asyncio.wait_for(fake.done.wait(), 5)
        await scheduler.stop()

    asyncio.run(main())
    # 30 s to midnight, then an hour at a time in steps of at most a minute: no real waiting at all.
    assert fake.slept[0] == 30.0
    assert set(fake.slept[1:]) == {60.0}
    assert fired == [datetime(2025, 11, 3, 0, 0, tzinfo=UTC)]
    assert samples(metrics, "skipped") == 0


def test_a_tick_still_running_when_the_next_is_due_is_skipped_and_counted() -> None:
    fake = FakeTime(START, limit=4)
    release = threading.Event()
    started: list[datetime] = []

    def slow(now: datetime) -> None:
        started.append(now)
        release.wait(10)

    metrics = Metrics()
    scheduler = AuditScheduler("* * * * *", slow, metrics, clock=fake.clock, sleep=fake.sleep)

    async def main() -> None:
        scheduler.start()
        await asyncio.wait_for(fake.done.wait(), 5)
        release.set()
        await scheduler.stop()

    asyncio.run(main())
    # Due at 00:00, 00:01, 00:02: the first runs (and blocks), the next two find it running.
    assert started == [datetime(2025, 11, 3, 0, 0, tzinfo=UTC)]
    assert samples(metrics, "skipped") == 2


def test_a_failing_tick_does_not_stop_the_schedule() -> None:
    fake = FakeTime(START, limit=4)
    calls: list[datetime] = []
    ran = threading.Event()

    def broken(now: datetime) -> None:
        calls.append(now)
        if len(calls) >= 2:
            ran.set()
        raise RuntimeError("GitHub is down")

    scheduler = AuditScheduler("* * * * *", broken, Metrics(), clock=fake.clock, sleep=fake.sleep)

    async def main() -> None:
        scheduler.start()
        await asyncio.wait_for(fake.done.wait(), 5)
        await asyncio.to_thread(ran.wait, 5)
        await scheduler.stop()

    asyncio.run(main())
    assert len(calls) >= 2


def test_the_server_starts_and_stops_the_scheduler_with_its_lifespan(tmp_path: Path) -> None:
    fake = FakeTime(START, limit=3)
    fired = threading.Event()
    metrics = Metrics()

    def tick(now: datetime) -> None:
        metrics.audits.labels("run").inc()
        fired.set()

    scheduler = AuditScheduler("0 0 * * *", tick, metrics, clock=fake.clock, sleep=fake.sleep)
    settings = AppConfig(webhook_secret=b"s", state_dir=tmp_path)
    app = create_app(settings, router=None, metrics=metrics, audit=scheduler)  # type: ignore[arg-type]
    assert scheduler._task is None  # building the app starts nothing
    with serve(app) as url:
        assert fired.wait(10)
        text = httpx.get(url + "/metrics", timeout=5).text
        assert 'changebot_audits_total{outcome="run"} 1.0' in text
    assert scheduler._task is not None and scheduler._task.done()  # stopped on shutdown
