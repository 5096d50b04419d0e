"""The handlers the App and the Action share: one per event (a pull request to plan, a slash command to answer).

``Handlers`` is composed, not subclassed, from three parts:

* a ``CommitSource`` (``changebot.github.steps``): where base and head come from (the App's clone cache, the
  Action's workflow checkout);
* a ``Clients`` factory: a GitHub client for the repository and the token it uses (the App's installation
  tokens, renewed once on a 401; the Action's job token);
* a clock.

For a pull request: read the PR (a job whose head is no longer the PR's head publishes nothing; GitHub's API
may lag its webhooks, so the PR is read again ``lag_retries`` times first), evaluate, decide, post. A job that
the dispatcher reports superseded (``control.is_current()``) posts nothing. An evaluation that cannot finish
(git, GitHub, or an unexpected error) leaves a failing check run on the head saying why, under the configured
check name, whenever GitHub still accepts writes; a 401 is left to the ``Clients`` to renew the token.
Slash commands are in ``changebot.github.commands``; merge groups in ``changebot.github.merge_group``;
deployment protection rules in ``changebot.github.deploy`` (the App's only: it needs ``deploy.Deployments``).

``refresh`` evaluates a PR again at whatever its head is now (a re-run, a governance push, the App's schedule;
a ``quiet`` refresh writes only when the verdict changed). ``branch`` refreshes every open PR targeting a branch
whose governance files changed. With a ``RefreshSchedule``, every evaluation plans the PR's next time-driven
refresh (``Steps.plan_refresh``); a closed PR is dropped, and a refresh that cannot finish is tried again
``retry_after`` later. A quiet refresh reads the PR and its comments only (2 calls): the changed files come
from git, which holds both commits anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from changebot.adapters.github.client import GitHubClient
from changebot.errors import ChangebotError
from changebot.github import commands, deploy, merge_group
from changebot.github.jobs import JobControl
from changebot.github.publish import Published
from changebot.github.router import (
    BranchEvent,
    CommentEvent,
    DeploymentEvent,
    MergeGroupEvent,
    PullRequestEvent,
    RefreshEvent,
    Repo,
)
from changebot.github.schedule import RefreshSchedule
from changebot.github.steps import CommitSource, Steps, Tools, describe, is_refused
from changebot.model import Plan

log = logging.getLogger("changebot.github")

T = TypeVar("T")


class Clients(Protocol):
    """GitHub clients for jobs. ``run`` calls ``work(client, token)`` and closes the client; it may call it again
    with a renewed token after a 401 (every step is idempotent). ``None`` when there is no way to act."""

    def run(self, repo: Repo, work: Callable[[GitHubClient, str], T]) -> T | None: ...


@dataclass(frozen=True)
class Outcome:
    """What a pull-request job did: the plan and what was published, or the error that stopped it (after a
    failing check run was left on the head when GitHub accepted it). All ``None``: nothing to do."""

    plan: Plan | None = None
    published: Published | None = None
    error: BaseException | None = None


class Handlers:
    """Handlers for ``GitHubRouter``: one per event, over a commit source, GitHub clients and a clock."""

    lag_retries: int = 2
    lag_pause: float = 1.0
    retry_after: timedelta = timedelta(minutes=5)

    def __init__(
        self,
        commits: CommitSource,
        clients: Clients,
        *,
        check_name: str = "changebot",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        spend_from_actions: bool = True,
        schedule: RefreshSchedule | None = None,
        deployments: deploy.Deployments | None = None,
    ) -> None:
        self.clients = clients
        self.deployments = deployments
        self.tools = Tools(commits, clock, check_name, spend_from_actions, schedule)

    def pull_request(self, event: PullRequestEvent, control: JobControl) -> Outcome:
        """Plan the PR and publish the result, unless a newer head has arrived meanwhile."""
        outcome = self.clients.run(event.repo, lambda client, token: self._pull_request(event, control, client, token))
        return outcome or Outcome()

    def _pull_request(self, event: PullRequestEvent, control: JobControl, client: GitHubClient, token: str) -> Outcome:
        started = time.perf_counter()
        steps = Steps(self.tools, event.repo, client, token)
        try:
            snapshot = steps.snapshot(event.number)
            for _ in range(self.lag_retries):
                if snapshot.pr.head_sha == event.head_sha or not control.is_current():
                    break
                time.sleep(self.lag_pause)
                snapshot = steps.snapshot(event.number)
            if snapshot.pr.head_sha != event.head_sha:
                log.info("%s#%d: head moved to %s; skipping", event.repo.full_name, event.number, snapshot.pr.head_sha)
                return Outcome()
            if snapshot.state != "open":
                steps.drop_refresh(event.number)
                return Outcome()
            ctx, existing = steps.read(snapshot)
            ev = steps.evaluate(ctx, existing.stored)
            if not control.is_current():
                log.info("%s#%d: superseded while planning; not publishing", event.repo.full_name, event.number)
                return Outcome(ev.plan)
            published = steps.show(ev, existing)
        except Exception as exc:
            if is_refused(exc):
                raise
            self._failed(steps, event.repo, event.number, event.base_sha, event.head_sha, control, exc)
            return Outcome(error=exc)
        log.info(
            "%s#%d %s: %s in %.2f s",
            event.repo.full_name,
            event.number,
            event.head_sha[:12],
            ev.plan.verdict,
            time.perf_counter() - started,
        )
        return Outcome(ev.plan, published)

    def _failed(
        self, steps: Steps, repo: Repo, number: int, base_sha: str, head_sha: str, control: JobControl, exc: Exception
    ) -> None:
        where = f"{repo.full_name}#{number}"
        if isinstance(exc, ChangebotError):
            log.warning("%s: could not evaluate: %s", where, exc)
        else:
            log.error("%s: could not evaluate", where, exc_info=exc)
        if not control.is_current():
            return
        message, details = describe(exc)
        try:
            steps.fail(number, base_sha, head_sha, message, details)
        except Exception as again:
            if is_refused(again):
                raise
            log.error("%s: could not report the failure on %s either", where, head_sha[:12], exc_info=again)

    def command(self, event: CommentEvent, control: JobControl) -> None:
        """Answer a slash command (see ``changebot.github.commands``)."""

        def work(client: GitHubClient, token: str) -> None:
            commands.answer(Steps(self.tools, event.repo, client, token), event, control)

        self.clients.run(event.repo, work)

    def refresh(self, event: RefreshEvent, control: JobControl) -> Outcome:
        """Evaluate the PR again at its current head and publish (only what changed, when ``quiet``)."""
        outcome = self.clients.run(event.repo, lambda client, token: self._refresh(event, control, client, token))
        return outcome or Outcome()

    def _refresh(self, event: RefreshEvent, control: JobControl, client: GitHubClient, token: str) -> Outcome:
        steps = Steps(self.tools, event.repo, client, token)
        head: tuple[str, str] | None = None
        try:
            snapshot = steps.snapshot(event.number, files=not event.quiet)
            if snapshot.state != "open":
                steps.drop_refresh(event.number)
                return Outcome()
            head = (snapshot.pr.base_sha or "", snapshot.pr.head_sha or "")
            ctx, existing = steps.read(snapshot)
            ev = steps.evaluate(ctx, existing.stored)
            if not control.is_current():
                return Outcome(ev.plan)
            published = steps.show(ev, existing, quiet=event.quiet)
        except Exception as exc:
            if is_refused(exc):
                raise
            if self.tools.schedule is not None:
                self.tools.schedule.plan(event.repo, event.number, steps.now + self.retry_after)
            if head is not None and head[1]:
                self._failed(steps, event.repo, event.number, head[0], head[1], control, exc)
            else:
                log.warning("%s#%d: refresh failed: %s", event.repo.full_name, event.number, exc)
            return Outcome(error=exc)
        log.info(
            "%s#%d refresh (%s): %s%s",
            event.repo.full_name,
            event.number,
            event.reason,
            ev.plan.verdict,
            " (unchanged)" if published.unchanged else "",
        )
        return Outcome(ev.plan, published)

    def branch(self, event: BranchEvent, control: JobControl) -> list[Outcome]:
        """Refresh every open PR targeting ``event.branch`` (its governance files changed)."""
        return self.refresh_open(event.repo, event.branch, "governance", event.delivery, control)

    def refresh_open(
        self, repo: Repo, base: str | None, reason: str, delivery: str, control: JobControl, *, quiet: bool = False
    ) -> list[Outcome]:
        """Refresh every open PR of ``repo`` (targeting ``base`` when given), one after the other."""

        def work(client: GitHubClient, token: str) -> list[Outcome]:
            numbers = client.open_pulls(repo.full_name, base)
            log.info("%s: refreshing %d open PR(s) (%s)", repo.full_name, len(numbers), reason)
            return [
                self._refresh(RefreshEvent(repo, n, reason, delivery, quiet), control, client, token) for n in numbers
            ]

        return self.clients.run(repo, work) or []

    def merge_group(self, event: MergeGroupEvent, control: JobControl) -> Outcome:
        """Evaluate the merge group's head SHA now and post its check run (``changebot.github.merge_group``)."""

        def work(client: GitHubClient, token: str) -> Outcome:
            steps = Steps(self.tools, event.repo, client, token)
            try:
                ev, published = merge_group.evaluate(steps, event)
            except Exception as exc:
                if is_refused(exc):
                    raise
                self._failed(steps, event.repo, 0, event.base_sha, event.head_sha, control, exc)
                return Outcome(error=exc)
            return Outcome(ev.plan, published)

        return self.clients.run(event.repo, work) or Outcome()

    def deployment(self, event: DeploymentEvent, control: JobControl) -> deploy.Reviewed:
        """Approve, reject or hold a deployment (``changebot.github.deploy``); without ``deployments`` (the
        Action) nothing is answered and GitHub keeps the deployment pending."""
        deployments = self.deployments
        if deployments is None:
            log.warning("%s: deployment protection rule not handled here", event.repo.full_name)
            return deploy.Reviewed()

        def work(client: GitHubClient, token: str) -> deploy.Reviewed:
            steps = Steps(self.tools, event.repo, client, token)
            try:
                return deploy.Reviewed(deploy.answer(steps, event, deployments))
            except Exception as exc:
                if is_refused(exc):
                    raise
                log.warning("%s: deployment of %s left pending: %s", event.repo.full_name, event.sha[:12], exc)
                return deploy.Reviewed(error=exc)

        return self.clients.run(event.repo, work) or deploy.Reviewed()
