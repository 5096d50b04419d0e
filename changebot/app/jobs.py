"""Background work for the App: bounded concurrency, one queue per pull request, stale work dropped.

The webhook answers GitHub as soon as a delivery is verified and its jobs are queued; the work (git, the
GitHub API) runs here, on a fixed pool of worker threads. Jobs with the same ``key`` (``owner/repo#number``)
run one at a time, in arrival order. A job may carry an ``order`` token (for a ``pull_request`` event: the
PR's ``updated_at`` and head SHA) so that freshness is decided by GitHub's clock, not by arrival:

- a job older than one already seen for its key is dropped on arrival (an older head never runs after a
  newer one);
- a queued job is dropped when a newer or equally fresh job for its key arrived after it (it would redo or
  undo that work);
- a running job asks ``control.is_current()`` before publishing, and stays silent once it is superseded.

Jobs without an ``order`` (slash commands) always run, in order. The dispatcher lives on the event loop;
``submit`` is called from it, ``run`` functions run in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from cachetools import LRUCache

from changebot.app.metrics import Metrics
from changebot.errors import ChangebotError
from changebot.github.jobs import Job, JobControl

log = logging.getLogger("changebot.app.jobs")


@dataclass
class _Key:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    generation: int = 0
    pending: int = 0


Submitted = Literal["queued", "stale", "full"]


class Dispatcher:
    """Runs jobs in the background. Create it inside the running event loop (the app's lifespan)."""

    def __init__(self, metrics: Metrics, concurrency: int = 4, max_pending: int = 1000) -> None:
        self.metrics = metrics
        self.max_pending = max_pending
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="changebot-job")
        self._keys: dict[str, _Key] = {}
        self._newest: LRUCache[str, tuple[str, ...]] = LRUCache(maxsize=100_000)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._idle = threading.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        """Jobs waiting or running."""
        return self._pending

    def submit(self, job: Job) -> Submitted:
        """Queue ``job``; ``stale`` if a newer job for its key was already seen, ``full`` at capacity."""
        if self._pending >= self.max_pending:
            return "full"
        if job.order is not None:
            newest = self._newest.get(job.key)
            if newest is not None and job.order < newest:
                self.metrics.jobs.labels("stale").inc()
                log.info("dropped %s for %s: a newer head was already seen", job.name, job.key)
                return "stale"
            self._newest[job.key] = job.order
        state = self._keys.setdefault(job.key, _Key())
        if job.order is not None:
            state.generation += 1
        generation = state.generation
        state.pending += 1
        self._pending += 1
        self._idle.clear()
        self.metrics.queue_depth.set(self._pending)
        task = asyncio.get_running_loop().create_task(self._run(job, state, generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return "queued"

    async def _run(self, job: Job, state: _Key, generation: int) -> None:
        def current() -> bool:
            return job.order is None or state.generation == generation

        try:
            async with state.lock:
                if not current():
                    self.metrics.jobs.labels("stale").inc()
                    log.info("dropped %s for %s: superseded before it started", job.name, job.key)
                    return
                started = time.perf_counter()
                loop = asyncio.get_running_loop()
                try:
                    await loop.run_in_executor(self._executor, job.run, JobControl(current))
                except ChangebotError as exc:  # expected (a refused installation token, ...): the reason is enough
                    self.metrics.jobs.labels("failed").inc()
                    log.warning("job %s for %s failed: %s", job.name, job.key, exc)
                except Exception:
                    self.metrics.jobs.labels("failed").inc()
                    log.exception("job %s for %s failed", job.name, job.key)
                else:
                    self.metrics.jobs.labels("run").inc()
                finally:
                    self.metrics.job_seconds.observe(time.perf_counter() - started)
        finally:
            state.pending -= 1
            if state.pending == 0 and self._keys.get(job.key) is state:
                del self._keys[job.key]
            self._pending -= 1
            self.metrics.queue_depth.set(self._pending)
            if self._pending == 0:
                self._idle.set()

    async def join(self, timeout: float | None = None) -> bool:
        """Wait until no job is pending; False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    def wait_idle(self, timeout: float) -> bool:
        """From another thread: block until no job is pending (tests and benchmarks)."""
        return self._idle.wait(timeout)

    async def close(self, timeout: float = 30.0) -> None:
        """Let running jobs finish (up to ``timeout``), cancel the rest, stop the worker threads."""
        if not await self.join(timeout):
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=True, cancel_futures=True)
