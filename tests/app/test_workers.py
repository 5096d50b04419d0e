"""``changebot.app.jobs.Workers`` on each queue backend: graceful shutdown returns unfinished jobs to the queue."""

from __future__ import annotations

import json
import threading
import time

from changebot.adapters.queue import NewJob, open_queue
from changebot.app.jobs import Workers, schedule, transient
from changebot.app.metrics import Metrics
from changebot.github.jobs import JobControl
from changebot.github.router import CommentEvent, GitHubRouter, PullRequestEvent
from tests.support.chaos_app import command_payload


class Stuck:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def pull_request(self, event: PullRequestEvent, control: JobControl) -> None:
        raise AssertionError

    def command(self, event: CommentEvent, control: JobControl) -> None:
        self.started.set()
        self.release.wait(10)


def test_stop_returns_a_job_still_running_after_the_grace_period(queue_url: str) -> None:
    queue = open_queue(queue_url)
    payload = json.dumps(command_payload(7, 1)).encode()
    queue.accept("d-1", [NewJob("octo/chaos#7", "issue_comment.command", "issue_comment", "d-1", payload)], time.time())
    handler = Stuck()
    workers = Workers(queue, GitHubRouter(handler), Metrics(), 1, poll=0.01)
    workers.start()
    try:
        assert handler.started.wait(10)
        [running] = queue.entries(time.time())
        assert running.state == "running"
        returned = workers.stop(grace=0.2)
    finally:
        handler.release.set()
    assert [job.delivery for job in returned] == ["d-1"]
    [back] = queue.entries(time.time())
    assert (back.state, back.error) == ("ready", "returned at shutdown")
    again = queue.claim("another-replica", time.time(), 30)
    assert again is not None and again.delivery == "d-1" and again.attempt == 2


def test_a_scheduled_task_runs_once_at_its_time_under_its_key(queue_url: str) -> None:
    queue = open_queue(queue_url)
    ran: list[bytes] = []
    now = [1_000.0]
    schedule(queue, "refresh", "octo/app#7", 1_060.0, b"first")
    schedule(queue, "refresh", "octo/app#7", 1_120.0, b"second")  # replaces the first
    workers = Workers(queue, GitHubRouter(Stuck()), Metrics(), 1, poll=0.01, clock=lambda: now[0],
                      tasks={"refresh": lambda payload, control: ran.append(payload)})  # fmt: skip
    workers.start()
    try:
        time.sleep(0.2)
        assert ran == []
        now[0] = 1_120.0
        workers.wake()
        assert workers.wait_idle(10)
    finally:
        workers.stop(grace=1)
    assert ran == [b"second"]


def test_what_counts_as_transient() -> None:
    from changebot.adapters.github.calls import GitHubError, RateLimitedError  # noqa: PLC0415

    assert transient(GitHubError("x", status=502))
    assert transient(GitHubError("x", status=None))
    assert transient(RateLimitedError("x", status=429))
    assert not transient(GitHubError("x", status=404))
    assert not transient(ValueError("bad settings"))
