"""The App's refresh schedule lives in the durable queue (SQLite and a real PostgreSQL): one pending refresh per PR,
the latest plan wins, nothing is due before its instant, the plan survives the process, and the task a due
refresh runs is a quiet refresh of that PR."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from changebot.adapters.queue import open_queue
from changebot.app.refresh import REBUILD, REFRESH, QueueSchedule, rebuild_task, refresh_task, schedule_rebuild
from changebot.github.jobs import JobControl
from changebot.github.router import RefreshEvent, Repo

REPO = Repo("octo/app", "file:///nowhere", 42)
T0 = datetime(2026, 12, 4, 17, tzinfo=UTC)
CONTROL = JobControl(lambda: True)


def test_the_latest_plan_wins_and_nothing_is_due_before_its_instant(queue_url: str) -> None:
    queue = open_queue(queue_url)
    try:
        schedule = QueueSchedule(queue)
        schedule.plan(REPO, 7, T0 + timedelta(hours=1))
        schedule.plan(REPO, 7, T0)  # replaces the first plan
        schedule.plan(REPO, 8, T0 + timedelta(minutes=30))
        assert queue.claim("w", (T0 - timedelta(seconds=1)).timestamp(), 30) is None
        first = queue.claim("w", T0.timestamp(), 30)
        assert first is not None and first.name == REFRESH and first.key == "octo/app#7"
        assert json.loads(first.payload)["number"] == 7
        queue.complete(first)
        assert queue.claim("w", (T0 + timedelta(minutes=29)).timestamp(), 30) is None
        second = queue.claim("w", (T0 + timedelta(hours=2)).timestamp(), 30)
        assert second is not None and json.loads(second.payload)["number"] == 8
        queue.complete(second)
        assert queue.claim("w", (T0 + timedelta(days=1)).timestamp(), 30) is None  # the replaced plan is gone
    finally:
        queue.close()


def test_a_plan_survives_the_process(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/queue.db"
    first = open_queue(url)
    QueueSchedule(first).plan(REPO, 7, T0)
    first.close()
    again = open_queue(url)
    try:
        job = again.claim("w", T0.timestamp(), 30)
        assert job is not None and job.name == REFRESH and json.loads(job.payload)["repo"] == "octo/app"
    finally:
        again.close()


class Recorder:
    """Stands in for the handlers: records the refresh event a task builds (the handlers run end to end in
    tests/app/test_mergetime_e2e.py)."""

    def __init__(self) -> None:
        self.events: list[RefreshEvent] = []

    def refresh(self, event: RefreshEvent, control: JobControl) -> str:
        self.events.append(event)
        return "done"


def test_a_due_refresh_runs_a_quiet_refresh_of_its_pull_request(tmp_path: object) -> None:
    queue = open_queue(f"sqlite:///{tmp_path}/queue.db")
    try:
        QueueSchedule(queue).plan(REPO, 7, T0)
        job = queue.claim("w", T0.timestamp(), 30)
        assert job is not None
        handlers = Recorder()
        assert refresh_task(handlers)(job.payload, CONTROL) == "done"  # type: ignore[arg-type]
        (event,) = handlers.events
        assert (event.repo, event.number, event.quiet, event.reason) == (REPO, 7, True, "schedule")
    finally:
        queue.close()


def test_the_rebuild_plans_every_open_pull_request_for_now(tmp_path: object) -> None:
    queue = open_queue(f"sqlite:///{tmp_path}/queue.db")
    try:
        schedule = QueueSchedule(queue)
        schedule_rebuild(queue, T0.timestamp())
        schedule_rebuild(queue, T0.timestamp())  # a second replica starting: still one rebuild
        job = queue.claim("w", T0.timestamp(), 30)
        assert job is not None and job.name == REBUILD
        assert queue.claim("w2", T0.timestamp(), 30) is None
        rebuild_task(schedule.plan, lambda: [(REPO, 7), (REPO, 9)], clock=lambda: T0)(job.payload, CONTROL)
        queue.complete(job)
        due = [queue.claim(f"w{n}", T0.timestamp(), 30) for n in range(3)]
        assert sorted(json.loads(j.payload)["number"] for j in due if j is not None) == [7, 9]
    finally:
        queue.close()
