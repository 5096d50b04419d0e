"""The App's refresh schedule: one entry per PR, the latest plan wins, each due entry is taken once, and a
refresh the dispatcher cannot take yet is never dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from changebot.app.refresh import MemorySchedule, RefreshLoop
from changebot.github.jobs import Job
from changebot.github.router import Repo

REPO = Repo("octo/app", "file:///nowhere", 42)
T0 = datetime(2026, 12, 4, 17, tzinfo=UTC)


def test_the_latest_plan_wins_and_each_due_entry_is_taken_once() -> None:
    schedule = MemorySchedule()
    schedule.plan(REPO, 7, T0 + timedelta(hours=1))
    schedule.plan(REPO, 7, T0)  # replaces the first plan
    schedule.plan(REPO, 8, T0 + timedelta(minutes=30))
    schedule.plan(REPO, 9, T0 - timedelta(minutes=1))
    schedule.drop(REPO, 9)
    assert [(d.number, d.at) for d in schedule.due(T0 + timedelta(hours=2))] == [
        (7, T0),
        (8, T0 + timedelta(minutes=30)),
    ]
    assert schedule.due(T0 + timedelta(days=1)) == []
    assert len(schedule) == 0


def test_an_entry_is_not_due_before_its_instant() -> None:
    schedule = MemorySchedule()
    schedule.plan(REPO, 7, T0)
    assert schedule.due(T0 - timedelta(microseconds=1)) == []
    assert [d.number for d in schedule.due(T0)] == [7]


class _Handlers:
    def refresh(self, event: object, control: object) -> None:
        raise AssertionError("not run here")


def test_a_refresh_the_queue_cannot_take_is_planned_again_not_dropped() -> None:
    schedule = MemorySchedule()
    schedule.plan(REPO, 7, T0)
    taken: list[Job] = []

    async def scenario() -> tuple[int, int]:
        loop = RefreshLoop(schedule, _Handlers(), clock=lambda: T0)  # type: ignore[arg-type]
        loop.start(lambda job: "full")
        refused = loop.tick()
        await loop.stop()
        loop.start(lambda job: taken.append(job) or "queued")
        queued = loop.tick()
        await loop.stop()
        return refused, queued

    assert asyncio.run(scenario()) == (1, 1)
    assert [j.name for j in taken] == ["refresh.schedule"]
    assert schedule.due(T0 + timedelta(days=1)) == []
