"""Deployment protection: changebot as a custom deployment protection rule on a GitHub environment.

For a ``deployment_protection_rule`` ``requested`` delivery (``router.DeploymentEvent``):

1. read governance from the newest commit of the repository's default branch (a deployment of another ref
   cannot bring its own calendar or settings);
2. decide with ``core.freeze.deployments.review`` at this instant; only when the branch is frozen, look for a
   freeze override: the pull requests that carried the deployed commit (``GET
   /repos/{owner}/{repo}/commits/{commit_sha}/pulls``), each one's overrides read only from changebot's own
   sticky comment (``core.sticky`` trust rules) and checked against the default branch's override rules;
3. answer through ``POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule``: ``approved``
   or ``rejected`` with a comment saying why, or, to wait, a status report (a comment, no ``state``) and a
   review of the same deployment scheduled at the window's end (``DeploymentSchedule``), which decides again
   then (and approves, unless another window has begun).

An error leaves the deployment pending (GitHub keeps it waiting; the queue retries transient errors): nothing
is approved that was not reviewed. Calls: 1 to answer when open; plus 1 and 2 per pull request when frozen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from changebot.core.freeze.deployments import Approve, Reject, Review, Wait, refused, review
from changebot.core.overrides import rules as override_rules
from changebot.core.overrides.stored import in_force
from changebot.github.router import DeploymentEvent, Repo
from changebot.github.steps import Steps
from changebot.model import GateId, Override, PullRequest
from changebot.usecases import plan as planning

log = logging.getLogger("changebot.github.deploy")


class BranchSource(Protocol):
    """Brings a branch's newest commit (and its governance files) into a repository: ``(path, sha)``."""

    def prepare_branch(self, repo: Repo, token: str, branch: str) -> tuple[Path, str]: ...


class DeploymentSchedule(Protocol):
    """Where a waiting deployment's next review is kept (the App's durable queue)."""

    def wait(self, event: DeploymentEvent, at: datetime) -> None:
        """Review ``event`` again at ``at``."""
        ...


@dataclass(frozen=True)
class Deployments:
    """What the deployment handler needs besides the GitHub client: the default branch, and the schedule."""

    branches: BranchSource
    schedule: DeploymentSchedule | None = None


@dataclass(frozen=True)
class Reviewed:
    """What one review did: the decision posted, or the error that left the deployment pending."""

    review: Review | None = None
    error: BaseException | None = None


def _overrides(
    steps: Steps, event: DeploymentEvent, policies: dict[GateId, override_rules.OverridePolicy]
) -> list[tuple[int, Override]]:
    found: list[tuple[int, Override]] = []
    for number in steps.client.commit_pulls(event.repo.full_name, event.sha):
        snapshot = steps.snapshot(number, "deployment", files=False)
        stored = steps.existing(snapshot, steps.comments(snapshot)).stored
        head = snapshot.pr.head_sha
        effective = override_rules.effective(stored, policies, steps.now, head)
        found.extend((number, o) for o in in_force(effective, GateId.FREEZE, steps.now, head))
    return found


def decide(steps: Steps, event: DeploymentEvent, branches: BranchSource) -> Review:
    """Review the deployment now (reads git and, when frozen, the deployed commit's pull requests)."""
    path, sha = branches.prepare_branch(event.repo, steps.token, event.default_branch)
    co = planning.checkout(path, sha, sha)
    steps.settings = co.settings
    pr = PullRequest(event="deployment", base_branch=event.default_branch, base_sha=sha, head_sha=event.sha)
    ctx = planning.context(co, pr, steps.now)
    decision = review(ctx, event.environment)
    if isinstance(decision, Reject | Wait) and decision.window is not None:
        overrides = _overrides(steps, event, override_rules.policies(ctx))
        if overrides:
            decision = review(ctx, event.environment, overrides)
    return decision


def answer(steps: Steps, event: DeploymentEvent, deployments: Deployments) -> Review:
    """Decide and post the answer; a wait is scheduled (without a schedule, a wait is a rejection)."""
    decision = decide(steps, event, deployments.branches)
    if isinstance(decision, Wait) and deployments.schedule is None:
        decision = refused(decision, "nothing here can hold a deployment until then, so it is rejected")
    state = "approved" if isinstance(decision, Approve) else "rejected" if isinstance(decision, Reject) else None
    comment = f"changebot: {decision.comment}"
    steps.client.review_deployment(event.repo.full_name, event.run_id, event.environment, comment, state)
    if isinstance(decision, Wait) and deployments.schedule is not None:
        deployments.schedule.wait(event, decision.ends)
    log.info(
        "%s: deployment of %s to %s (run %d): %s",
        event.repo.full_name,
        event.sha[:12],
        event.environment,
        event.run_id,
        state or f"waiting until {decision.ends.isoformat() if isinstance(decision, Wait) else '?'}",
    )
    return decision
