"""What ``changebot serve`` and ``changebot worker`` build from the settings: the GitHub parts, the router, the
durable queue, the metrics and the scheduled tasks. Building connects to GitHub once (the App's login) and
opens the queue; it starts nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from changebot.adapters.queue import Queue, open_queue
from changebot.app.config import AppConfig, queue_url
from changebot.app.deployments import DEPLOYMENT, QueueDeployments, deployment_task
from changebot.app.github import AppParts, from_config
from changebot.app.jobs import Task
from changebot.app.metrics import Metrics
from changebot.app.refresh import (
    REBUILD,
    REFRESH,
    QueueSchedule,
    installed_pull_requests,
    rebuild_task,
    refresh_task,
)
from changebot.app.scheduler import AuditCron
from changebot.github.handlers import Handlers
from changebot.github.router import GitHubRouter, Repo

log = logging.getLogger("changebot.app")


@dataclass(frozen=True)
class Runtime:
    """The App's long-lived parts."""

    config: AppConfig
    parts: AppParts
    router: GitHubRouter
    queue: Queue
    metrics: Metrics
    audit: AuditCron | None
    tasks: dict[str, Task]


def queue_tasks(
    handlers: Handlers,
    schedule: QueueSchedule,
    open_prs: Callable[[], list[tuple[Repo, int]]],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Task]:
    """The tasks the queue runs for pull requests and deployments: a due refresh, a waiting deployment's
    review, and the rebuild that plans every pull request ``open_prs`` lists (``changebot serve`` schedules it
    at start-up)."""
    return {
        REFRESH: refresh_task(handlers),
        DEPLOYMENT: deployment_task(handlers),
        REBUILD: rebuild_task(schedule.plan, open_prs, clock),
    }


def build(config: AppConfig) -> Runtime:
    """The parts ``config`` describes: the refresh schedule in the queue with its two tasks (a due refresh, and
    the start-up rebuild from the installations' open PRs); waiting deployments in the queue with their task;
    with ``CHANGEBOT_AUDIT_CRON``, the audit cron and its task."""
    from changebot.app.audit import AppAuditor  # noqa: PLC0415 - lists the installations' repositories

    queue = open_queue(queue_url(config), config.dedupe_ttl_seconds)
    schedule = QueueSchedule(queue)
    parts = from_config(config, schedule, QueueDeployments(queue))
    router = GitHubRouter(parts.handlers, bot_login=parts.bot_login)
    metrics = Metrics()
    audit = None
    lister = AppAuditor(parts.auth, parts.clones, config.api_url, parts.bot_login, metrics)
    tasks = queue_tasks(
        parts.handlers,
        schedule,
        lambda: installed_pull_requests(parts.auth, config.api_url, parts.bot_login, lister.repositories),
    )
    if config.audit_cron is not None:
        auditor = AppAuditor(
            parts.auth, parts.clones, config.api_url, parts.bot_login, metrics, publish=config.audit_publish
        )
        audit = AuditCron(queue, config.audit_cron, auditor.tick, metrics, on_stop=auditor.stopping.set)
        tasks[AuditCron.TASK] = audit.run
    return Runtime(config, parts, router, queue, metrics, audit, tasks)
