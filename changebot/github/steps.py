"""The steps of one job on one pull request, kept apart: read from GitHub, evaluate, decide, post.

``Steps`` holds a job's tools (the GitHub client for the repository, the token, where the commits come from,
the instant); each method is one step. Only ``show`` and ``post`` write to GitHub, and only by executing a
``Decision`` (``changebot.github.decide``) with ``changebot.github.publish``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from changebot.adapters.git import reader as gitio
from changebot.adapters.git.clones import CloneAuthError
from changebot.adapters.github.actions_spend import ActionsSpend
from changebot.adapters.github.calls import GitHubError
from changebot.adapters.github.client import Comment, GitHubClient, PullSnapshot
from changebot.core.budget.gate import BudgetDetail
from changebot.core.context import Context
from changebot.core.next_change import DEFAULT_HORIZON as NEXT_CHANGE_HORIZON
from changebot.core.next_change import Clockwork, next_change
from changebot.core.overrides import rules as override_rules
from changebot.core.policy.gate import policy_settings
from changebot.core.policy.input import governance_changes
from changebot.core.settings import DEFAULT_SETTINGS, Settings
from changebot.core.whatif.replay import Merge
from changebot.errors import ChangebotError
from changebot.github import decide as decisions
from changebot.github.decide import Decision, Evaluated, Existing, Reply
from changebot.github.publish import Published, existing_state, publish, read_check_runs
from changebot.github.router import Repo
from changebot.github.schedule import RefreshSchedule
from changebot.model import Override
from changebot.render import replies
from changebot.usecases import plan as planning
from changebot.usecases import whatif

log = logging.getLogger("changebot.github")

#: Open pull requests the what-if of a governance change replays (each costs a fetch and an API call).
MAX_OPEN_PRS = 20


def is_refused(exc: BaseException) -> bool:
    """Whether GitHub (or its git server) refused the token: the ``Clients`` renew it, nothing else is done."""
    return isinstance(exc, CloneAuthError) or (isinstance(exc, GitHubError) and exc.status == 401)


def describe(exc: BaseException) -> tuple[str, str]:
    """``(message, details)`` of an error that stopped an evaluation, for a failing check run or a reply."""
    if isinstance(exc, ChangebotError):
        return str(exc), exc.diagnostics()
    text = f"unexpected {type(exc).__name__}: {exc}"
    return text, text


class CommitSource(Protocol):
    """Where the commits come from: brings ``base_sha`` and ``head_sha`` into a git repository, returns its path.
    The App's is a cache of bare clones; the Action's is the workflow's checkout (missing commits fetched)."""

    def prepare(self, repo: Repo, token: str, base_sha: str, head_sha: str, number: int | None) -> Path: ...

    def at_hand(self, repo: Repo) -> Path | None:
        """The repository as it is, nothing fetched (``None`` when there is none yet)."""
        ...


def settings_at(path: Path, sha: str) -> Settings | None:
    """changebot's settings at commit ``sha`` of the repository at ``path``, if that commit is there (nothing is
    fetched on purpose; a blobless clone may still fetch the settings blob lazily)."""
    try:
        repo = gitio.open_repo(path)
        return planning.settings_from(gitio.read_commit(repo, sha, DEFAULT_SETTINGS.limits))
    except Exception:  # only used to name a failure's check run: any problem means "not known"
        log.info("could not read the settings at %s", sha[:12], exc_info=True)
        return None


@dataclass(frozen=True)
class Tools:
    """What every job of a handler set shares; ``schedule`` (the App's) learns each PR's next refresh."""

    commits: CommitSource
    clock: Callable[[], datetime]
    check_name: str
    spend_from_actions: bool
    schedule: RefreshSchedule | None = None


class Steps:
    """One job's steps on ``repo`` with ``client``. ``settings`` is the base branch's settings once read (so a
    failure after that point is reported under the configured check name)."""

    def __init__(self, tools: Tools, repo: Repo, client: GitHubClient, token: str) -> None:
        self.tools = tools
        self.repo = repo
        self.client = client
        self.token = token
        self.settings: Settings | None = None
        self.checkout: Path | None = None
        self.now = tools.clock()
        # Month-to-date CI spend for the budget gate, from the Actions API (cached in process per repository
        # and month, so only a long-lived App asks for it).
        self.spend = ActionsSpend(client, repo.full_name) if tools.spend_from_actions else None

    @property
    def check_name(self) -> str:
        """The check run's name for this job (``decide.check_name``)."""
        return decisions.check_name(self.settings, self.tools.check_name)

    def snapshot(self, number: int, event: str = "pull_request", files: bool = True) -> PullSnapshot:
        """Read: the pull request as GitHub has it now (its changed files from git when ``files`` is false)."""
        return self.client.pull_request(self.repo.full_name, number, event, files)

    def context(self, snapshot: PullSnapshot) -> Context:
        """Bring the commits, read both sides, build the evaluation context (once; approvals are read only when
        the base's governance owners must approve a governance edit)."""
        pr = snapshot.pr
        if not pr.base_sha or not pr.head_sha:
            raise GitHubError(f"pull request {self.repo.full_name}#{pr.number} has no base or head SHA")
        path = self.tools.commits.prepare(self.repo, self.token, pr.base_sha, pr.head_sha, pr.number)
        co = planning.checkout(path, pr.base_sha, pr.head_sha)
        self.checkout, self.settings = path, co.settings
        if not snapshot.files_complete:
            # GitHub lists at most 3,000 files: the changed files come from git, which has both commits
            # (``planning.checkout`` failed above, and the job with it, when git could not compute them).
            log.info(
                "%s#%s: GitHub listed %d of %s changed files; using git's %d",
                self.repo.full_name,
                pr.number,
                len(pr.files),
                snapshot.changed_files,
                len(co.changed),
            )
            if len(co.changed) < len(pr.files):
                raise GitHubError(
                    f"pull request {self.repo.full_name}#{pr.number} changes {snapshot.changed_files} files; GitHub "
                    f"lists only {len(pr.files)} and git found {len(co.changed)}, so changebot cannot tell which "
                    "files it changes"
                )
            pr = replace(pr, files=co.changed)
        ctx = planning.context(co, pr, self.now)
        if policy_settings(ctx.settings.section("policy")).governance_owners and governance_changes(ctx):
            approvals = self.client.approvals(self.repo.full_name, pr.number or 0)
            ctx = replace(ctx, pr=replace(ctx.pr, approvals=approvals))
        return ctx

    def committed_after(self, snapshot: PullSnapshot, instant: datetime) -> list[str]:
        """Commits of the pull request (after ``context`` brought them) committed after ``instant``, newest first."""
        pr = snapshot.pr
        if self.checkout is None or not pr.base_sha or not pr.head_sha:
            raise GitHubError(f"the commits of {self.repo.full_name}#{pr.number} are not at hand")
        return gitio.committed_after(gitio.open_repo(self.checkout), pr.base_sha, pr.head_sha, instant)

    def comments(self, snapshot: PullSnapshot) -> tuple[Comment, ...]:
        """Read: every comment on the PR (1 call per 100)."""
        return self.client.comments(self.repo.full_name, snapshot.pr.number or 0)

    def read(self, snapshot: PullSnapshot) -> tuple[Context, Existing]:
        """Read both sides (``context``) and what GitHub shows on the PR (``existing``)."""
        ctx = self.context(snapshot)
        return ctx, self.existing(snapshot, self.comments(snapshot))

    def existing(self, snapshot: PullSnapshot, comments: Sequence[Comment]) -> Existing:
        """What GitHub shows, before deciding (check runs are read in ``show``, once the name is known)."""
        number = snapshot.pr.number or 0
        return existing_state(self.client, self.repo.full_name, number, comments, snapshot, None, self.check_name)

    def evaluate(
        self, ctx: Context, stored: Sequence[Override], in_force: Sequence[Override] | None = None
    ) -> Evaluated:
        """Evaluate: plan the PR with the stored overrides that are in force under the base branch's rules (or
        with ``in_force`` when the caller decided them, as for a merge group), and find when the verdict can
        next change from time alone."""
        pr = ctx.pr
        if in_force is None:
            policies = override_rules.policies(ctx)
            in_force = override_rules.effective(stored, policies, ctx.now, pr.head_sha)
        plan = planning.plan(ctx, pr.base_sha, pr.head_sha, overrides=in_force, spend=self.spend)
        if whatif.touches_governance(ctx):
            plan = whatif.attach(plan, ctx, pr.base_sha, open_prs=self.open_prs(ctx))
        budget = next((g.detail for g in plan.gates if isinstance(g.detail, BudgetDetail)), None)
        monthly = budget is not None and budget.month is not None and budget.month.spent_usd is not None
        change = next_change(Clockwork.of(ctx, tuple(in_force), monthly), ctx.now)
        name = decisions.check_name(ctx.settings, self.tools.check_name)
        return Evaluated(plan, name, tuple(stored), tuple(in_force), change)

    def open_prs(self, ctx: Context) -> tuple[Merge, ...]:
        """Read, for the what-if of a governance change: the other open PRs into the same branch (at most
        ``MAX_OPEN_PRS``, most recently updated first), each with its changed files and its head commit fetched
        into the clone (1 call per 100 PRs, 1 per PR for its files). One that cannot be read is left out."""
        branch = ctx.pr.base_branch
        if not branch:
            return ()
        out: list[Merge] = []
        for other in self.client.open_pulls_into(self.repo.full_name, branch, MAX_OPEN_PRS + 1):
            if other.number == ctx.pr.number or not other.head_sha or not other.base_sha or other.number is None:
                continue
            try:
                self.tools.commits.prepare(self.repo, self.token, other.base_sha, other.head_sha, other.number)
                files = self.client.changed_files(self.repo.full_name, other.number)
            except ChangebotError as exc:
                log.info("what-if: open pull request #%s left out: %s", other.number, exc)
                continue
            out.append(Merge(other.head_sha, ctx.now, other.title, files, other.number))
        return tuple(out[:MAX_OPEN_PRS])

    def show(
        self, ev: Evaluated, existing: Existing, replies_: Sequence[Reply] = (), *, quiet: bool = False
    ) -> Published:
        """Decide and post: the check run, the sticky comment, the rule actions (and ``replies_``). ``quiet``:
        nothing at all when the sticky comment shows the same verdict for this head (no read either)."""
        head_sha = ev.plan.pr.head_sha or ""
        self.plan_refresh(ev)
        if quiet and decisions.shows_same(existing, head_sha, ev):
            return Published(None, None, unchanged=True)
        if not decisions.shows_later(existing, head_sha, ev.plan.now):
            existing = replace(existing, check_runs=read_check_runs(self.client, existing, head_sha, ev.check_name))
        decision = decisions.decide(ev, existing)
        return self.post(replace(decision, replies=decision.replies + tuple(replies_)))

    def plan_refresh(self, ev: Evaluated) -> None:
        """Tell the schedule (if any) when this PR's verdict can next change from time alone (at the latest,
        the end of ``next_change``'s horizon)."""
        number = ev.plan.pr.number
        if self.tools.schedule is None or number is None:
            return
        at = ev.next_change.at if ev.next_change is not None else ev.plan.now + NEXT_CHANGE_HORIZON
        self.tools.schedule.plan(self.repo, number, at)

    def drop_refresh(self, number: int) -> None:
        """Forget the schedule's entry for a closed PR."""
        if self.tools.schedule is not None:
            self.tools.schedule.drop(self.repo, number)

    def post(self, decision: Decision) -> Published:
        """Post: execute ``decision``."""
        return publish(self.client, decision)

    def fail(self, number: int, base_sha: str, head_sha: str, message: str, details: str) -> Published:
        """Decide and post a failing check run saying why changebot could not evaluate ``head_sha``, named by the
        base's settings (read now from the commits at hand when the evaluation stopped before reading them)."""
        if self.settings is None:
            path = self.tools.commits.at_hand(self.repo)
            self.settings = settings_at(path, base_sha) if path is not None else None
        name = self.check_name
        existing = Existing(self.repo.full_name, number, head_sha)
        runs = read_check_runs(self.client, existing, head_sha, name)
        existing = replace(existing, check_runs=runs)
        return self.post(decisions.decide_failure(existing, name, head_sha, message, details, self.now))

    def reply(self, number: int, comment_id: int, actor: str, body: str) -> Reply:
        """changebot's answer to comment ``comment_id`` (posted once: found again by its marker)."""
        return Reply(replies.reply_marker(comment_id), replies.with_marker(body, comment_id, actor))
