"""Waiting deployments in the durable queue: a deployment held during a freeze is reviewed again when the
window ends.

``QueueDeployments`` implements ``github.deploy.DeploymentSchedule`` with a scheduled job per workflow run and
environment (``app.jobs.schedule``), so the wait survives a restart and every replica shares it.
``deployment_task`` is the queue task that runs it: the same review as the delivery had, at the new instant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from changebot.adapters.queue import Queue
from changebot.app.jobs import Task, schedule
from changebot.github.jobs import JobControl
from changebot.github.router import DeploymentEvent, Handlers, Repo

#: The queue task that reviews a waiting deployment again.
DEPLOYMENT = "deployment-review"


def deployment_key(event: DeploymentEvent) -> str:
    """The queue key of a deployment's jobs (``router.deployment_job`` uses the same)."""
    return f"{event.repo.full_name}/runs/{event.run_id}/{event.environment}"


class QueueDeployments:
    """Waiting deployments in the durable queue (``DeploymentSchedule``)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def wait(self, event: DeploymentEvent, at: datetime) -> None:
        """Review ``event`` again at ``at`` (replaces a pending review of the same run and environment)."""
        payload = {
            "repo": event.repo.full_name,
            "clone_url": event.repo.clone_url,
            "installation": event.repo.installation_id,
            "environment": event.environment,
            "sha": event.sha,
            "ref": event.ref,
            "run_id": event.run_id,
            "default_branch": event.default_branch,
            "at": at.astimezone(UTC).isoformat(),
        }
        schedule(self.queue, DEPLOYMENT, deployment_key(event), at.timestamp(), json.dumps(payload).encode())


def deployment_task(handlers: Handlers) -> Task:
    """The queue task for a waiting deployment: review it again now."""

    def run(payload: bytes, control: JobControl) -> object:
        doc = json.loads(payload)
        event = DeploymentEvent(
            repo=Repo(str(doc["repo"]), str(doc["clone_url"]), doc.get("installation")),
            environment=str(doc["environment"]),
            sha=str(doc["sha"]),
            ref=str(doc["ref"]),
            run_id=int(doc["run_id"]),
            default_branch=str(doc["default_branch"]),
            delivery=f"deployment-{doc.get('at', '')}",
        )
        return handlers.deployment(event, control)

    return run
