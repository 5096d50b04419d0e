"""The App's workers: threads that claim jobs from the durable queue (``changebot.adapters.queue``) and run them.

A job in the queue is a stored delivery (its event, id and raw body) and the index of the job the router makes
of it, or a scheduled task by name. A worker rebuilds the work from that (``Router.route`` is pure and fast),
runs it, and only then removes it from the queue. So:

- a worker killed mid-job (``kill -9``, an out-of-memory kill, a deploy) loses nothing: its lease on the pull
  request's key is no longer extended, expires after ``lease`` seconds, and another worker runs the job again.
  Every write to GitHub is keyed and looked up first (``changebot.github.publish``), so the second run has no
  second effect;
- work for one pull request runs one job at a time, in order, across every worker of every replica (the queue
  leases the key); a job superseded by a newer head is dropped, and a running one learns it through
  ``JobControl.is_current``;
- a job that fails on something transient (GitHub 5xx, rate limits, timeouts, the queue itself) is returned to
  the queue with exponential backoff; after ``max_attempts`` it goes to the dead letters
  (``changebot queue ls|retry|purge``). A pull request's handler has left a failing "could not evaluate" check
  run on the head on every failed attempt, so the last one stays visible.

``stop`` is graceful: workers take no new job, the running ones get ``grace`` seconds to finish, and the jobs
still running after that are returned to the queue for another worker.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from changebot.adapters.github.calls import GitHubError
from changebot.adapters.queue import Claimed, NewJob, Queue, QueueUnavailable
from changebot.app.metrics import Metrics
from changebot.errors import ChangebotError
from changebot.github.jobs import Job, JobControl

log = logging.getLogger("changebot.app.jobs")

#: The ``event`` of a scheduled task's job (its ``name`` says which task).
SCHEDULED = "changebot.scheduled"

Task = Callable[[bytes, JobControl], object]


class Router(Protocol):
    """Turns one verified delivery into the jobs it needs (fast, no I/O: it runs before the answer)."""

    def route(self, event: str, delivery: str, payload: Mapping[str, Any]) -> list[Job]: ...


def schedule(queue: Queue, task: str, key: str, at: float, payload: bytes = b"") -> int:
    """Run the scheduled task ``task`` for ``key`` at ``at`` (Unix seconds), replacing any earlier schedule of
    the same task for the same key that has not started. Runs under ``key``'s lease like any job."""
    slot = f"{task}:{key}"
    job = NewJob(key=key, name=task, event=SCHEDULED, delivery=slot, payload=payload, due=at, slot=slot)
    return queue.schedule(job)


def transient(exc: BaseException) -> bool:
    """Whether running the job again later may succeed: GitHub 5xx, 429/403 rate limits, no answer, the queue."""
    if isinstance(exc, GitHubError):
        return exc.status is None or exc.status >= 500 or exc.status in (403, 429)
    return isinstance(exc, QueueUnavailable | TimeoutError | ConnectionError)


def _failure(result: object) -> BaseException | None:
    """The transient error a handler reported in its result (``Outcome.error``), if any."""
    error = getattr(result, "error", None)
    return error if isinstance(error, BaseException) and transient(error) else None


class Workers:
    """``count`` threads running the queue's jobs through ``router`` (deliveries) and ``tasks`` (scheduled)."""

    def __init__(
        self,
        queue: Queue,
        router: Router,
        metrics: Metrics,
        count: int = 4,
        *,
        tasks: Mapping[str, Task] | None = None,
        lease: float = 60.0,
        poll: float = 0.25,
        max_attempts: int = 5,
        backoff: float = 5.0,
        max_backoff: float = 600.0,
        grace: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.router = router
        self.metrics = metrics
        self.count = count
        self.tasks = dict(tasks or {})
        self.lease = lease
        self.poll = poll
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.grace = grace
        self.clock = clock
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[int, Claimed] = {}
        self._lock = threading.Lock()

    @property
    def running(self) -> int:
        """Jobs running in this process now."""
        with self._lock:
            return len(self._running)

    def start(self) -> None:
        """Start the worker threads and the lease keeper."""
        for n in range(self.count):
            thread = threading.Thread(target=self._loop, args=(n,), name=f"changebot-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        keeper = threading.Thread(target=self._keep_leases, name="changebot-leases", daemon=True)
        keeper.start()
        self._threads.append(keeper)

    def wake(self) -> None:
        """A job was just stored: let an idle worker look now instead of at its next poll."""
        with self._wake:
            self._wake.notify()

    def stop(self, grace: float | None = None) -> list[Claimed]:
        """Take no new job; wait up to ``grace`` seconds for running ones; return the rest to the queue (and
        return them, for logs and tests)."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + (self.grace if grace is None else grace)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = list(self._running.values())
        for job in left:
            try:
                self.queue.release(job, "returned at shutdown", self.clock())
                log.warning("returned job %d (%s for %s) to the queue at shutdown", job.id, job.name, job.key)
            except QueueUnavailable:
                log.warning("could not return job %d at shutdown; its lease will expire", job.id)
        return left

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is due in the queue and nothing runs here (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running == 0 and self.queue.stats(self.clock()).depth == 0:
                return True
            time.sleep(0.02)
        return False

    def _loop(self, n: int) -> None:
        owner = f"{self.name}/{n}"
        while not self._stopping.is_set():
            try:
                job = self.queue.claim(owner, self.clock(), self.lease)
            except QueueUnavailable as exc:
                log.warning("queue unavailable: %s", exc)
                self._stopping.wait(min(5.0, self.poll * 10))
                continue
            if job is None:
                with self._wake:
                    self._wake.wait(self.poll)
                continue
            with self._lock:
                self._running[job.id] = job
            try:
                self._run(job)
            finally:
                with self._lock:
                    self._running.pop(job.id, None)

    def _keep_leases(self) -> None:
        while not self._stopping.wait(self.lease / 3):
            with self._lock:
                running = list(self._running.values())
            for job in running:
                try:
                    self.queue.extend(job, self.clock(), self.lease)
                except QueueUnavailable:
                    log.warning("could not extend the lease of job %d", job.id)

    def _work(self, job: Claimed) -> Callable[[JobControl], object] | None:
        if job.event == SCHEDULED:
            task = self.tasks.get(job.name)
            if task is None:
                raise LookupError(f"no scheduled task named {job.name!r} in this process")
            payload = job.payload
            return lambda control: task(payload, control)
        jobs = self.router.route(job.event, job.delivery, json.loads(job.payload))
        return jobs[job.index].run if job.index < len(jobs) else None

    def _control(self, job: Claimed) -> JobControl:
        def current() -> bool:
            try:
                return not self.queue.superseded(job)
            except QueueUnavailable:
                return True

        return JobControl(current)

    def _run(self, job: Claimed) -> None:
        started = time.perf_counter()
        try:
            work = self._work(job)
            result = work(self._control(job)) if work is not None else None
            error = _failure(result)
        except ChangebotError as exc:  # expected (a refused installation token, ...): the reason is enough
            error = exc
            log.warning("job %d (%s for %s) failed on attempt %d: %s", job.id, job.name, job.key, job.attempt, exc)
        except Exception as exc:
            error = exc
            log.exception("job %d (%s for %s) failed on attempt %d", job.id, job.name, job.key, job.attempt)
        finally:
            self.metrics.job_seconds.observe(time.perf_counter() - started)
        try:
            if error is None:
                self.queue.complete(job)
                self.metrics.jobs.labels("run").inc()
            elif job.attempt >= self.max_attempts:
                self.queue.bury(job, _describe(error, job.attempt), self.clock())
                self.metrics.jobs.labels("dead").inc()
                log.error("job %d (%s for %s) is dead after %d attempts: %s", job.id, job.name, job.key,
                          job.attempt, error)  # fmt: skip
            else:
                delay = min(self.max_backoff, self.backoff * 2 ** (job.attempt - 1))
                self.queue.release(job, _describe(error, job.attempt), self.clock() + delay)
                self.metrics.jobs.labels("retried").inc()
                log.warning("job %d (%s for %s) will be retried in %.0f s: %s", job.id, job.name, job.key, delay,
                            error)  # fmt: skip
        except QueueUnavailable as exc:
            log.warning("job %d: the queue is unavailable (%s); its lease will expire and it runs again", job.id, exc)


def _describe(error: BaseException, attempt: int) -> str:
    return f"attempt {attempt}: {type(error).__name__}: {error}"
