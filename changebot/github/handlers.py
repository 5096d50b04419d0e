"""The App's work: plan a pull request and publish it; answer slash commands. Runs in worker threads.

``GitHubHandlers`` implements ``app_router.Handlers``. For each job it takes an installation token
(``AppAuth``; a 401 from GitHub refreshes the token once and runs the job again: every step is idempotent),
reads the pull request from GitHub, brings the base and head commits into the cached bare clone, evaluates
with ``changebot.usecases.plan`` and publishes with ``changebot.github.publish`` (one check run, one sticky comment).

Freshness: a job whose head is no longer the PR's head (GitHub says so) publishes nothing, and neither does a
job that the dispatcher reports superseded (``control.is_current()``) once it has its result.

Overrides live in the sticky comment (``core.overrides``), written only by the App; which of them are in force
is decided by ``core.override_rules`` under the base branch's settings. The command handling itself is in
``changebot.github.commands``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from changebot.adapters.git.clones import CloneAuthError, CloneCache, git_hosts
from changebot.adapters.github.actions_spend import ActionsSpend
from changebot.adapters.github.app_auth import AppAuth, Unauthorized
from changebot.adapters.github.calls import GitHubError
from changebot.adapters.github.client import GitHubClient, PullSnapshot
from changebot.app.config import AppConfig
from changebot.app.jobs import JobControl
from changebot.core.context import Context
from changebot.core.overrides import rules as override_rules
from changebot.core.policy.gate import policy_settings
from changebot.core.policy.input import governance_changes
from changebot.errors import ChangebotError
from changebot.github.publish import Published, Sticky, publish_plan, read_sticky
from changebot.github.router import CommentEvent, PullRequestEvent, Repo
from changebot.model import GateId, Override, Plan
from changebot.usecases import plan as planning

if TYPE_CHECKING:
    from changebot.adapters.github.client import Comment

log = logging.getLogger("changebot.app")


@dataclass(frozen=True)
class Evaluation:
    """A pull request evaluated at one instant, with what is needed to publish it."""

    snapshot: PullSnapshot
    ctx: Context
    sticky: Sticky
    comments: tuple[Comment, ...]
    policies: dict[GateId, override_rules.OverridePolicy]
    in_force: tuple[Override, ...]
    plan: Plan


class Session:
    """One job's view of GitHub: a client for the installation, the clone cache, the clock."""

    def __init__(self, handlers: GitHubHandlers, repo: Repo, token: str) -> None:
        self.handlers = handlers
        self.repo = repo
        self.token = token
        self.client = GitHubClient(token, handlers.api_url, bot_login=handlers.bot_login)
        # Month-to-date CI spend for the budget gate, from the Actions API (cached in process per repository
        # and month, so only a long-lived App asks for it; see ``GitHubHandlers.spend_from_actions``).
        self.spend = ActionsSpend(self.client, repo.full_name) if handlers.spend_from_actions else None

    def close(self) -> None:
        self.client.close()

    def snapshot(self, number: int, event: str = "pull_request") -> PullSnapshot:
        return self.client.pull_request(self.repo.full_name, number, event)

    def evaluate(self, snapshot: PullSnapshot, stored: Sequence[Override] | None = None) -> Evaluation:
        """Plan the PR as ``snapshot`` shows it, applying the stored overrides that are in force."""
        pr = snapshot.pr
        if not pr.base_sha or not pr.head_sha:
            raise GitHubError(f"pull request {self.repo.full_name}#{pr.number} has no base or head SHA")
        path = self.handlers.clones.prepare(
            self.repo.full_name, self.repo.clone_url, self.token, pr.base_sha, pr.head_sha, pr.number
        )
        now = self.handlers.now()
        co = planning.checkout(path, pr.base_sha, pr.head_sha)
        ctx = planning.context(co, pr, now)
        if policy_settings(ctx.settings.section("policy")).governance_owners and governance_changes(ctx):
            # Only a PR that edits governance config needs its approvals (one more call): the owners' policy.
            pr = replace(pr, approvals=self.client.approvals(self.repo.full_name, pr.number or 0))
            ctx = planning.context(co, pr, now)
        sticky, comments = read_sticky(self.client, self.repo.full_name, pr.number or 0)
        policies = override_rules.policies(ctx)
        kept = sticky.overrides if stored is None else tuple(stored)
        in_force = tuple(override_rules.effective(kept, policies, now, pr.head_sha))
        plan = planning.plan(ctx, pr.base_sha, pr.head_sha, overrides=in_force, spend=self.spend)
        return Evaluation(snapshot, ctx, sticky, comments, policies, in_force, plan)

    def replan(self, ev: Evaluation, stored: Sequence[Override]) -> Evaluation:
        """``ev`` evaluated again with ``stored`` as the overrides (after one was granted)."""
        pr = ev.snapshot.pr
        in_force = tuple(override_rules.effective(stored, ev.policies, ev.ctx.now, pr.head_sha))
        plan = planning.plan(ev.ctx, pr.base_sha, pr.head_sha, overrides=in_force, spend=self.spend)
        return Evaluation(ev.snapshot, ev.ctx, ev.sticky, ev.comments, ev.policies, in_force, plan)

    def report_failure(self, head_sha: str, error: ChangebotError) -> None:
        """Mark ``head_sha``'s check run failed with what went wrong: a PR changebot cannot judge never passes."""
        fields: dict[str, object] = {
            "status": "completed",
            "conclusion": "failure",
            "completed_at": self.handlers.now(),
            "output": {"title": "changebot could not evaluate this pull request", "summary": error.diagnostics()},
        }
        name = self.handlers.check_name
        existing = self.client.check_runs(self.repo.full_name, head_sha, name)
        if existing:
            self.client.update_check_run(self.repo.full_name, existing[0].id, fields)
        else:
            self.client.create_check_run(self.repo.full_name, name, head_sha, fields)

    def publish(self, ev: Evaluation, overrides: Sequence[Override] | None = None) -> Published:
        number = ev.snapshot.pr.number or 0
        configured = ev.ctx.settings.section("github").get("check_name")  # base branch's github.check_name
        return publish_plan(
            self.client,
            self.repo.full_name,
            number,
            ev.plan,
            check_name=configured if isinstance(configured, str) and configured.strip() else self.handlers.check_name,
            overrides=overrides,
            sticky=ev.sticky,
            comments=ev.comments,
            snapshot=ev.snapshot,
            latest_head_sha=ev.snapshot.pr.head_sha,
            in_force=ev.in_force,
        )


class GitHubHandlers:
    """Handlers for ``GitHubRouter`` that act on GitHub through the App's installations.

    GitHub's API can lag a moment behind its webhooks: when the PR's head is not yet the delivery's head, it
    is read again ``lag_retries`` times, ``lag_pause`` seconds apart, before the delivery is judged stale.
    """

    lag_retries: int = 2
    lag_pause: float = 1.0
    #: Read month-to-date CI spend from the Actions API. The App's cache makes that a few calls an hour; a
    #: one-shot Action job would pay one call per workflow run of the month on every event, so it does not.
    spend_from_actions: bool = True

    def __init__(
        self,
        auth: AppAuth,
        clones: CloneCache,
        api_url: str,
        bot_login: str,
        *,
        check_name: str = "changebot",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.auth = auth
        self.clones = clones
        self.api_url = api_url.rstrip("/")
        self.bot_login = bot_login
        self.check_name = check_name
        self.now = clock

    @classmethod
    def from_config(cls, config: AppConfig) -> GitHubHandlers:
        """Handlers for ``changebot serve`` (asks GitHub for the App's login once, at start-up)."""
        if config.app_id is None or config.private_key is None:
            raise GitHubError("the App ID and private key are required")
        auth = AppAuth(config.app_id, config.private_key, config.api_url)
        clones = CloneCache(Path(config.clone_dir), hosts=git_hosts(config.api_url))
        return cls(auth, clones, config.api_url, auth.bot_login())

    def _with_session(self, repo: Repo, work: Callable[[Session], None]) -> None:
        if repo.installation_id is None:
            log.warning("delivery for %s has no installation; ignored", repo.full_name)
            return

        def attempt(token: str) -> None:
            session = Session(self, repo, token)
            try:
                work(session)
            except GitHubError as exc:
                if exc.status == 401:
                    raise Unauthorized from exc
                raise
            except CloneAuthError as exc:
                raise Unauthorized from exc
            finally:
                session.close()

        self.auth.call(repo.installation_id, attempt)

    def pull_request(self, event: PullRequestEvent, control: JobControl) -> None:
        """Plan the PR and publish the result, unless a newer head has arrived meanwhile."""

        def work(session: Session) -> None:
            started = time.perf_counter()
            snapshot = session.snapshot(event.number)
            for _ in range(self.lag_retries):
                if snapshot.pr.head_sha == event.head_sha or not control.is_current():
                    break
                time.sleep(self.lag_pause)
                snapshot = session.snapshot(event.number)
            if snapshot.pr.head_sha != event.head_sha:
                log.info("%s#%d: head moved to %s; skipping", event.repo.full_name, event.number, snapshot.pr.head_sha)
                return
            if snapshot.state != "open":
                return
            try:
                ev = session.evaluate(snapshot)
            except (GitHubError, CloneAuthError):
                raise  # the App renews the token on a 401; other GitHub errors fail the job
            except ChangebotError as exc:
                log.warning("%s#%d: could not evaluate: %s", event.repo.full_name, event.number, exc)
                if control.is_current():
                    session.report_failure(event.head_sha, exc)
                return
            if not control.is_current():
                log.info("%s#%d: superseded while planning; not publishing", event.repo.full_name, event.number)
                return
            session.publish(ev)
            log.info(
                "%s#%d %s: %s in %.2f s",
                event.repo.full_name,
                event.number,
                event.head_sha[:12],
                ev.plan.verdict,
                time.perf_counter() - started,
            )

        self._with_session(event.repo, work)

    def command(self, event: CommentEvent, control: JobControl) -> None:
        """Answer a slash command (see ``changebot.github.commands``)."""
        from changebot.github.commands import answer  # noqa: PLC0415 - commands imports this module's Session

        self._with_session(event.repo, lambda session: answer(session, event, control))
