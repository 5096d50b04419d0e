"""The App's audit cron: fire times from croniter in UTC, an injected clock and sleep (no real waiting), ticks that
never overlap, start and stop with the server's lifespan, and an invalid setting refused at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from changebot.adapters.queue import Queue, open_queue
from changebot.app.config import AppConfig, from_env
from changebot.app.metrics import Metrics
from changebot.app.scheduler import AuditCron, next_fire, parse_cron
from changebot.app.webhook import create_app
from changebot.errors import UsageError
from changebot.github.jobs import ALWAYS_CURRENT
from tests.support.asgi_server import serve

START = datetime(2025, 11, 2, 23, 59, 30, tzinfo=UTC)  # a Sunday, 30 s before midnight UTC
MIDNIGHT = datetime(2025, 11, 3, 0, 0, tzinfo=UTC)


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


@pytest.fixture
def queue(queue_url: str) -> Iterator[Queue]:
    q = open_queue(queue_url)
    yield q
    q.close()


def test_the_cron_is_one_scheduled_job_in_the_queue_whatever_the_replicas(queue: Queue) -> None:
    fired: list[datetime] = []
    for _ in range(3):  # three replicas start and each arms the cron
        cron = AuditCron(queue, "0 * * * *", fired.append, Metrics(), clock=lambda: START)
        assert cron.arm() == datetime(2025, 11, 3, 0, 0, tzinfo=UTC)
    [entry] = queue.entries(START.timestamp())
    assert (entry.name, entry.key, entry.due) == ("freeze-audit", "changebot/freeze-audit", MIDNIGHT.timestamp())
    assert queue.claim("w", START.timestamp(), 30) is None  # not yet due
    assert fired == []


def test_a_tick_schedules_the_next_one_then_audits(queue: Queue) -> None:
    now = [START]
    fired: list[datetime] = []
    metrics = Metrics()
    cron = AuditCron(queue, "0 * * * *", fired.append, metrics, clock=lambda: now[0])
    cron.arm()
    now[0] = MIDNIGHT + timedelta(seconds=1)
    job = queue.claim("w", now[0].timestamp(), 30)
    assert job is not None
    cron.run(job.payload, ALWAYS_CURRENT)
    queue.complete(job)
    assert fired == [now[0]]
    [entry] = queue.entries(now[0].timestamp())
    assert entry.due == datetime(2025, 11, 3, 1, 0, tzinfo=UTC).timestamp()
    assert samples(metrics, "skipped") == 0


def test_a_tick_that_starts_after_the_next_cron_time_counts_a_skip(queue: Queue) -> None:
    now = [START]
    metrics = Metrics()
    cron = AuditCron(queue, "* * * * *", lambda _: None, metrics, clock=lambda: now[0])
    cron.arm()
    now[0] = MIDNIGHT + timedelta(minutes=2, seconds=5)  # no worker ran at 00:00 and 00:01
    job = queue.claim("w", now[0].timestamp(), 30)
    assert job is not None
    cron.run(job.payload, ALWAYS_CURRENT)
    assert samples(metrics, "skipped") == 1
    [entry] = [e for e in queue.entries(now[0].timestamp()) if e.id != job.id]
    assert entry.due == datetime(2025, 11, 3, 0, 3, tzinfo=UTC).timestamp()  # the missed times are not replayed


def test_a_failing_tick_does_not_stop_the_schedule(queue: Queue) -> None:
    def broken(now: datetime) -> None:
        raise RuntimeError("GitHub is down")

    cron = AuditCron(queue, "* * * * *", broken, Metrics(), clock=lambda: MIDNIGHT)
    cron.run(repr(MIDNIGHT.timestamp()).encode(), ALWAYS_CURRENT)
    [entry] = queue.entries(MIDNIGHT.timestamp())
    assert entry.due == datetime(2025, 11, 3, 0, 1, tzinfo=UTC).timestamp()


def test_the_server_arms_the_cron_and_its_workers_run_it(tmp_path: Path) -> None:
    fired = threading.Event()
    metrics = Metrics()
    stopped: list[bool] = []

    def tick(now: datetime) -> None:
        metrics.audits.labels("run").inc()
        fired.set()

    settings = AppConfig(webhook_secret=b"s", queue_url=f"sqlite:///{tmp_path / 'q.db'}")
    queue = open_queue(settings.queue_url)
    now = [START.timestamp()]
    clock = lambda: datetime.fromtimestamp(now[0], UTC)  # noqa: E731
    cron = AuditCron(queue, "0 0 * * *", tick, metrics, clock=clock, on_stop=lambda: stopped.append(True))
    app = create_app(
        settings,
        router=None,
        metrics=metrics,
        audit=cron,
        queue=queue,
        clock=lambda: now[0],  # type: ignore[arg-type]
    )
    assert queue.stats(START.timestamp()).scheduled == 0  # building the app starts nothing
    with serve(app) as url:
        assert queue.stats(START.timestamp()).scheduled == 1
        now[0] = MIDNIGHT.timestamp() + 1
        app.state.changebot.workers.wake()
        assert fired.wait(10)
        text = httpx.get(url + "/metrics", timeout=5).text
        assert 'changebot_audits_total{outcome="run"} 1.0' in text
    assert stopped == [True]  # shutdown told the auditor to stop
