"""The App's time-driven refreshes: each open pull request is evaluated again when its verdict can change.

* ``MemorySchedule`` implements the ``github.schedule.RefreshSchedule`` port in process: one entry per pull
  request, earliest first (a heap with lazy deletion). The handlers plan an entry after every evaluation.
* ``RefreshLoop`` lives on the server's event loop (started and stopped with the app's lifespan): on start it
  rebuilds the schedule (``rebuild``, in a worker thread: every open pull request of every installation is
  planned for *now*, so after a restart no pull request stays stale; each refresh then plans its own next
  instant), then every ``interval`` seconds (at most 60) it takes the entries that are due and queues a quiet
  refresh job for each (``router.refresh_job``): a pull request is re-evaluated within ``interval`` seconds
  of its instant plus the queue's wait, and written to only when its verdict changed.

A durable store replaces ``MemorySchedule`` by implementing the same port; the loop does not change.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from changebot.adapters.github.app_auth import AppAuth
from changebot.adapters.github.client import GitHubClient
from changebot.app.audit import InstalledRepo
from changebot.github.jobs import Job
from changebot.github.router import Handlers, RefreshEvent, Repo, refresh_job
from changebot.github.schedule import Due

log = logging.getLogger("changebot.app.refresh")

#: The longest the loop waits between two looks at the schedule (seconds).
MAX_INTERVAL = 60.0


class MemorySchedule:
    """The refresh schedule in process memory (thread-safe: the handlers plan from worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heap: list[tuple[datetime, int, str]] = []
        self._entries: dict[str, tuple[Repo, int, datetime, int]] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._entries)

    def plan(self, repo: Repo, number: int, at: datetime) -> None:
        """Refresh ``repo``#``number`` at ``at`` (replaces any earlier plan for it)."""
        key = f"{repo.full_name}#{number}"
        with self._lock:
            self._seq += 1
            self._entries[key] = (repo, number, at.astimezone(UTC), self._seq)
            heapq.heappush(self._heap, (at.astimezone(UTC), self._seq, key))

    def drop(self, repo: Repo, number: int) -> None:
        """Forget ``repo``#``number``."""
        with self._lock:
            self._entries.pop(f"{repo.full_name}#{number}", None)

    def due(self, now: datetime) -> list[Due]:
        """Take the entries planned at or before ``now``, earliest first."""
        out: list[Due] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                at, seq, key = heapq.heappop(self._heap)
                entry = self._entries.get(key)
                if entry is None or entry[3] != seq:
                    continue  # replaced by a later plan, or dropped
                del self._entries[key]
                out.append(Due(entry[0], entry[1], at))
        return out

    def planned(self, repo: Repo, number: int) -> datetime | None:
        """When ``repo``#``number`` is planned (``None``: not planned)."""
        with self._lock:
            entry = self._entries.get(f"{repo.full_name}#{number}")
        return entry[2] if entry is not None else None


class RefreshLoop:
    """Queues a quiet refresh for every due entry of ``schedule``, looking every ``interval`` seconds.

    ``rebuild()`` lists the open pull requests to plan at start (blocking: it runs in a worker thread);
    ``submit`` is the dispatcher's, handed to ``start`` once the dispatcher exists.
    """

    def __init__(
        self,
        schedule: MemorySchedule,
        handlers: Handlers,
        *,
        rebuild: Callable[[], Iterable[tuple[Repo, int]]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        interval: float = MAX_INTERVAL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.schedule = schedule
        self.handlers = handlers
        self.rebuild = rebuild
        self.clock = clock
        self.interval = min(interval, MAX_INTERVAL)
        self.sleep = sleep
        self._submit: Callable[[Job], object] | None = None
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.rebuilt = asyncio.Event()

    def start(self, submit: Callable[[Job], object]) -> None:
        """Start the loop on the running event loop (ASGI lifespan startup)."""
        self._submit = submit
        self.rebuilt = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop (entries stay planned; a restart rebuilds them from GitHub)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _rebuild(self) -> None:
        if self.rebuild is None:
            return
        rebuild = self.rebuild
        try:
            found = await asyncio.get_running_loop().run_in_executor(None, lambda: list(rebuild()))
        except Exception:
            log.exception("could not rebuild the refresh schedule from the open pull requests")
            return
        now = self.clock()
        for repo, number in found:
            self.schedule.plan(repo, number, now)
        log.info("refresh schedule rebuilt: %d open pull request(s)", len(found))

    async def _loop(self) -> None:
        await self._rebuild()
        self.rebuilt.set()
        while True:
            self.tick()
            await self.sleep(self.interval)

    def tick(self) -> int:
        """Queue a refresh for each due entry now; returns how many."""
        if self._submit is None:
            raise RuntimeError("the refresh loop is not started")
        now = self.clock()
        due = self.schedule.due(now)
        for entry in due:
            event = RefreshEvent(entry.repo, entry.number, "schedule", f"schedule-{entry.at.isoformat()}", quiet=True)
            if self._submit(refresh_job(self.handlers, event)) == "full":
                self.schedule.plan(entry.repo, entry.number, entry.at)  # never dropped: due again next look
        self.ticks += 1
        return len(due)


def installed_pull_requests(
    auth: AppAuth, api_url: str, bot_login: str, repositories: Callable[[int], list[InstalledRepo]]
) -> list[tuple[Repo, int]]:
    """Every open pull request of every repository of every installation (1 call per installation, 1 per
    repository and 100 pull requests). A repository that cannot be listed is logged and skipped."""
    found: list[tuple[Repo, int]] = []
    for installation in auth.installation_ids():
        try:
            repos = repositories(installation)
        except Exception:
            log.exception("could not list the repositories of installation %d", installation)
            continue
        for installed in repos:
            repo = Repo(installed.full_name, installed.clone_url, installation)

            def work(token: str, name: str = installed.full_name) -> tuple[int, ...]:
                client = GitHubClient(token, api_url, bot_login=bot_login)
                try:
                    return client.open_pulls(name)
                finally:
                    client.close()

            try:
                found.extend((repo, number) for number in auth.call(installation, work))
            except Exception:
                log.exception("could not list the open pull requests of %s", installed.full_name)
    return found
