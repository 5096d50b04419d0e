"""The App's time-driven refreshes, kept in the durable queue: each open pull request is evaluated again when its
verdict can change from time alone.

* ``QueueSchedule`` implements the ``github.schedule.RefreshSchedule`` port with the queue's scheduled jobs
  (``app.jobs.schedule``): one pending refresh per pull request, in the pull request's own slot, so a later plan
  replaces an earlier one, the plan survives a restart and every replica shares it. No in-process timer holds
  state: the workers run a refresh when it falls due, serialised with the pull request's other jobs (its key).
* ``refresh_task`` is the queue task a due refresh runs: a quiet ``RefreshEvent`` (it reads the pull request
  and writes only when the verdict changed). A closed pull request plans nothing more.
* ``rebuild_task`` plans every open pull request of every installation for *now*. ``changebot serve`` schedules
  it once at start-up, so pull requests planned before this version, or lost with a queue that was wiped, do
  not stay stale; each refresh then plans its own next instant.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from changebot.adapters.github.app_auth import AppAuth
from changebot.adapters.github.client import GitHubClient
from changebot.adapters.queue import Queue
from changebot.app.audit import InstalledRepo
from changebot.app.jobs import Task, schedule
from changebot.github.jobs import JobControl
from changebot.github.router import Handlers, RefreshEvent, Repo, pr_key

log = logging.getLogger("changebot.app.refresh")

#: The queue task that refreshes one pull request, and the one that plans every open pull request.
REFRESH = "refresh"
REBUILD = "refresh-rebuild"
REBUILD_KEY = "changebot/refresh-rebuild"


class QueueSchedule:
    """The refresh schedule in the durable queue (``RefreshSchedule``)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def plan(self, repo: Repo, number: int, at: datetime) -> None:
        """Refresh ``repo``#``number`` at ``at`` (replaces the pending refresh of that pull request, if any)."""
        payload = {
            "repo": repo.full_name,
            "clone_url": repo.clone_url,
            "installation": repo.installation_id,
            "number": number,
            "at": at.astimezone(UTC).isoformat(),
        }
        schedule(self.queue, REFRESH, pr_key(repo, number), at.timestamp(), json.dumps(payload).encode())

    def drop(self, repo: Repo, number: int) -> None:
        """Nothing to do: the pending refresh of a closed pull request runs once, finds it closed, and plans
        nothing more (the queue's slots are replaced, never deleted)."""


def refresh_task(handlers: Handlers) -> Task:
    """The queue task for a due refresh: a quiet refresh of the pull request its payload names."""

    def run(payload: bytes, control: JobControl) -> object:
        doc = json.loads(payload)
        repo = Repo(str(doc["repo"]), str(doc["clone_url"]), doc.get("installation"))
        event = RefreshEvent(repo, int(doc["number"]), "schedule", f"schedule-{doc.get('at', '')}", quiet=True)
        return handlers.refresh(event, control)

    return run


def rebuild_task(
    plan: Callable[[Repo, int, datetime], None],
    open_prs: Callable[[], list[tuple[Repo, int]]],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Task:
    """The queue task that plans every open pull request ``open_prs`` lists for now."""

    def run(payload: bytes, control: JobControl) -> None:
        found = open_prs()
        now = clock()
        for repo, number in found:
            plan(repo, number, now)
        log.info("refresh schedule rebuilt: %d open pull request(s)", len(found))

    return run


def schedule_rebuild(queue: Queue, at: float) -> int:
    """Schedule the rebuild task at ``at`` (Unix seconds), replacing a pending one (replicas starting together)."""
    return schedule(queue, REBUILD, REBUILD_KEY, at)


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
