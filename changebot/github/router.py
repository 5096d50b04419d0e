"""Which webhook deliveries become work, and what that work is told. Fast and free of I/O.

``GitHubRouter.route`` runs before the webhook answers GitHub, so it only reads the payload:

- ``pull_request`` ``opened``/``synchronize``/``reopened``/``ready_for_review`` and, since each changes what the
  gates read, ``edited`` (title, base), ``labeled``/``unlabeled`` and ``converted_to_draft``; and
  ``pull_request_review`` ``submitted``/``dismissed`` (governance owners' approvals): one job that plans the PR
  and publishes the result, ordered by the PR's ``updated_at`` so an older head never overwrites a newer one;
- ``issue_comment`` ``created`` on a pull request, whose first non-blank line is a ``/changebot`` command,
  written by a person: one job that answers the command. Edited and deleted comments, comments by bots
  (``user.type == "Bot"`` or a login ending in ``[bot]``) and the App's own comments are ignored;
- ``check_run``/``check_suite`` ``rerequested`` (GitHub's "Re-run" button): one refresh job per pull request
  the suite belongs to (the PR's current head is evaluated again);
- ``push`` to a branch that changes a governance file (``core.documents.layout.is_governance``; a push whose
  commits are not listed counts as changing one): one job that re-evaluates the open PRs targeting the branch;
- ``merge_group`` ``checks_requested``: one job that evaluates the group's ``head_sha`` at that moment;
- ``deployment_protection_rule`` ``requested`` (the App registered as a custom deployment protection rule on an
  environment): one job that approves, rejects or holds the deployment (``changebot.github.deploy``);
- everything else: nothing.

Payloads become typed events here and only here (``pull_request_event``, ``comment_event``, ``refresh_events``,
``branch_event``, ``merge_group_event``, ``deployment_event``), for the App and the Action alike. A payload
missing what a job needs raises ``EventError`` naming the field: the App logs and ignores the delivery (it was
signed by GitHub, so this is a format change, not an attack); the Action fails the step with that message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from changebot.core.commands import Command, Invalid, parse
from changebot.core.documents.layout import is_governance
from changebot.errors import ChangebotError
from changebot.github.jobs import Job, JobControl

log = logging.getLogger("changebot.router")

PR_ACTIONS = frozenset(
    {
        "opened",
        "synchronize",
        "reopened",
        "ready_for_review",
        "edited",
        "labeled",
        "unlabeled",
        "converted_to_draft",
    }
)
REVIEW_ACTIONS = frozenset({"submitted", "dismissed"})


@dataclass(frozen=True)
class Repo:
    """The repository a delivery is about, and the installation that may act on it."""

    full_name: str
    clone_url: str
    installation_id: int | None


def pr_key(repo: Repo, number: int) -> str:
    """The queue key of one pull request's jobs: its events, commands and refreshes run one at a time, in order."""
    return f"{repo.full_name}#{number}"


@dataclass(frozen=True)
class PullRequestEvent:
    """A pull request to plan. ``head_repo`` differs from ``repo.full_name`` for a fork."""

    repo: Repo
    number: int
    action: str
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    head_repo: str | None
    updated_at: str
    delivery: str


@dataclass(frozen=True)
class CommentEvent:
    """A ``/changebot`` command in a pull-request comment. ``created_at`` is when GitHub says the comment was
    written (``None`` when the payload lacks it or it does not parse): an override binds to the head of then."""

    repo: Repo
    number: int
    comment_id: int
    actor: str
    command: Command | Invalid
    delivery: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class RefreshEvent:
    """Evaluate pull request ``number`` again at its current head (a re-run, a scheduled refresh, a governance
    push). ``quiet``: write to GitHub only when the verdict changed (the time-driven refreshes)."""

    repo: Repo
    number: int
    reason: str
    delivery: str
    quiet: bool = False


@dataclass(frozen=True)
class BranchEvent:
    """A push that changed governance files on ``branch``: the open PRs targeting it are evaluated again."""

    repo: Repo
    branch: str
    after: str
    paths: tuple[str, ...]
    delivery: str


@dataclass(frozen=True)
class MergeGroupEvent:
    """GitHub's merge queue asks for checks on a merge group: ``head_sha`` is base plus the queued PRs."""

    repo: Repo
    head_sha: str
    head_ref: str
    base_sha: str
    base_ref: str
    delivery: str

    @property
    def base_branch(self) -> str:
        """``main`` for ``refs/heads/main``."""
        return self.base_ref.removeprefix("refs/heads/")


@dataclass(frozen=True)
class DeploymentEvent:
    """GitHub asks whether a deployment of ``sha`` to ``environment`` may go ahead; the answer goes to workflow
    run ``run_id``. Governance is read from ``default_branch``."""

    repo: Repo
    environment: str
    sha: str
    ref: str
    run_id: int
    default_branch: str
    delivery: str


class Handlers(Protocol):
    """The work itself (``changebot.github.handlers`` for GitHub; tests pass recorders)."""

    def pull_request(self, event: PullRequestEvent, control: JobControl) -> object: ...

    def command(self, event: CommentEvent, control: JobControl) -> object: ...

    def refresh(self, event: RefreshEvent, control: JobControl) -> object: ...

    def branch(self, event: BranchEvent, control: JobControl) -> object: ...

    def merge_group(self, event: MergeGroupEvent, control: JobControl) -> object: ...

    def deployment(self, event: DeploymentEvent, control: JobControl) -> object: ...


class EventError(ChangebotError):
    """An event payload lacks a field changebot needs, or has it with the wrong type."""

    def __init__(self, field: str, problem: str = "is missing or not a non-empty string") -> None:
        super().__init__(
            f"the event payload's {field} {problem}",
            "the event file does not look like a GitHub webhook payload for this event",
        )
        self.field = field


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _str(data: Any, *keys: str) -> str:
    value = _get(data, *keys)
    if not isinstance(value, str) or not value:
        raise EventError(".".join(keys))
    return value


def _int(data: Any, *keys: str) -> int:
    value = _get(data, *keys)
    if not isinstance(value, int) or isinstance(value, bool):
        raise EventError(".".join(keys), "is missing or not a whole number")
    return value


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with an offset (GitHub writes ``2025-12-20T09:00:00Z``), or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _repo(payload: Mapping[str, Any], name: str | None = None) -> Repo:
    installation = _get(payload, "installation", "id")
    clone_url = _get(payload, "repository", "clone_url")
    return Repo(
        full_name=name or _str(payload, "repository", "full_name"),
        clone_url=clone_url if isinstance(clone_url, str) else "",
        installation_id=installation if isinstance(installation, int) and not isinstance(installation, bool) else None,
    )


def is_bot(user: Any, bot_login: str | None = None) -> bool:
    """True for GitHub Apps and other bots, and for changebot's own account."""
    login = _get(user, "login")
    if _get(user, "type") == "Bot":
        return True
    if not isinstance(login, str):
        return True
    return login.lower().endswith("[bot]") or (bot_login is not None and login.lower() == bot_login.lower())


def pull_request_event(payload: Mapping[str, Any], delivery: str, repo: str | None = None) -> PullRequestEvent:
    """The pull request a ``pull_request`` (or ``pull_request_target``) payload is about; ``repo`` overrides the
    payload's repository name (the Action's ``GITHUB_REPOSITORY``). Raises ``EventError`` naming a bad field."""
    if not isinstance(payload, Mapping):
        raise EventError("payload", "is not a JSON object")
    pr = payload.get("pull_request")
    if not isinstance(pr, Mapping):
        raise EventError("pull_request", "is missing or not an object")
    head_repo = _get(pr, "head", "repo", "full_name")
    return PullRequestEvent(
        repo=_repo(payload, repo),
        number=_int(payload, "pull_request", "number"),
        action=str(payload.get("action") or ""),
        base_ref=_str(payload, "pull_request", "base", "ref"),
        base_sha=_str(payload, "pull_request", "base", "sha"),
        head_ref=_str(payload, "pull_request", "head", "ref"),
        head_sha=_str(payload, "pull_request", "head", "sha"),
        head_repo=head_repo if isinstance(head_repo, str) else None,
        updated_at=str(_get(pr, "updated_at") or ""),
        delivery=delivery,
    )


def comment_event(
    payload: Mapping[str, Any], delivery: str, bot_login: str | None = None, repo: str | None = None
) -> CommentEvent | None:
    """The ``/changebot`` command an ``issue_comment`` payload carries, or ``None`` when it is not one to answer
    (not created, not on a pull request, written by a bot, not a command). Raises ``EventError``."""
    if not isinstance(payload, Mapping):
        raise EventError("payload", "is not a JSON object")
    if payload.get("action") != "created" or _get(payload, "issue", "pull_request") is None:
        return None
    comment = payload.get("comment")
    if is_bot(_get(comment, "user"), bot_login):
        return None
    body = _get(comment, "body")
    command = parse(body) if isinstance(body, str) else None
    if command is None:
        return None
    return CommentEvent(
        repo=_repo(payload, repo),
        number=_int(payload, "issue", "number"),
        comment_id=_int(payload, "comment", "id"),
        actor=_str(payload, "comment", "user", "login"),
        command=command,
        delivery=delivery,
        created_at=_instant(_get(comment, "created_at")),
    )


def refresh_events(payload: Mapping[str, Any], delivery: str, repo: str | None = None) -> list[RefreshEvent]:
    """One refresh per pull request of a ``check_run``/``check_suite`` ``rerequested`` payload (the suite's
    ``pull_requests``; a suite of a fork's PR lists none, and then nothing is refreshed). Raises ``EventError``."""
    if not isinstance(payload, Mapping):
        raise EventError("payload", "is not a JSON object")
    suite = _get(payload, "check_run", "check_suite") if "check_run" in payload else payload.get("check_suite")
    where = "check_run.check_suite" if "check_run" in payload else "check_suite"
    pulls = _get(suite, "pull_requests")
    if not isinstance(pulls, list):
        raise EventError(f"{where}.pull_requests", "is missing or not a list")
    numbers = [_int(p, "number") for p in pulls]
    return [RefreshEvent(_repo(payload, repo), n, "rerequested", delivery) for n in dict.fromkeys(numbers)]


def branch_event(payload: Mapping[str, Any], delivery: str, repo: str | None = None) -> BranchEvent | None:
    """The governance push a ``push`` payload is, or ``None`` (a tag, a deleted branch, no governance file
    changed). Commits the payload does not list (``commits`` empty on a forced push) count as changing one."""
    if not isinstance(payload, Mapping):
        raise EventError("payload", "is not a JSON object")
    ref = _str(payload, "ref")
    if not ref.startswith("refs/heads/") or payload.get("deleted") is True:
        return None
    commits = payload.get("commits")
    if not isinstance(commits, list):
        raise EventError("commits", "is missing or not a list")
    paths = [
        path
        for commit in commits
        for key in ("added", "modified", "removed")
        for path in (_get(commit, key) or [])
        if isinstance(path, str)
    ]
    governance = tuple(dict.fromkeys(p for p in paths if is_governance(p)))
    if commits and not governance:
        return None
    return BranchEvent(
        _repo(payload, repo), ref.removeprefix("refs/heads/"), _str(payload, "after"), governance, delivery
    )


def merge_group_event(payload: Mapping[str, Any], delivery: str, repo: str | None = None) -> MergeGroupEvent | None:
    """The merge group of a ``merge_group`` ``checks_requested`` payload (``None`` for other actions)."""
    if not isinstance(payload, Mapping):
        raise EventError("payload", "is not a JSON object")
    if payload.get("action") != "checks_requested":
        return None
    return MergeGroupEvent(
        repo=_repo(payload, repo),
        head_sha=_str(payload, "merge_group", "head_sha"),
        head_ref=_str(payload, "merge_group", "head_ref"),
        base_sha=_str(payload, "merge_group", "base_sha"),
        base_ref=_str(payload, "merge_group", "base_ref"),
        delivery=delivery,
    )


_CALLBACK = re.compile(r"/repos/[^/]+/[^/]+/actions/runs/(\d+)/deployment_protection_rule$")


def deployment_event(payload: Mapping[str, Any], delivery: str) -> DeploymentEvent | None:
    """The deployment a ``deployment_protection_rule`` ``requested`` payload asks about (``None`` for other
    actions). The workflow run comes from ``deployment_callback_url``; the answer is posted to the configured
    API, never to that URL. Raises ``EventError``."""
    if not isinstance(payload, Mapping):
        raise EventError("payload", "is not a JSON object")
    if payload.get("action") != "requested":
        return None
    found = _CALLBACK.search(_str(payload, "deployment_callback_url"))
    if found is None:
        raise EventError("deployment_callback_url", "does not name a workflow run")
    return DeploymentEvent(
        repo=_repo(payload),
        environment=_str(payload, "environment"),
        sha=_str(payload, "deployment", "sha"),
        ref=_str(payload, "deployment", "ref"),
        run_id=int(found.group(1)),
        default_branch=_str(payload, "repository", "default_branch"),
        delivery=delivery,
    )


def _needs_server_fields(repo: Repo, updated_at: str | None = None) -> None:
    """The App clones from ``repository.clone_url`` and orders a PR's jobs by ``pull_request.updated_at``."""
    if not repo.clone_url:
        raise EventError("repository.clone_url")
    if updated_at == "":
        raise EventError("pull_request.updated_at")


class GitHubRouter:
    """Routes deliveries to ``handlers``. ``bot_login`` is the App's own login (``slug[bot]``), when known."""

    def __init__(self, handlers: Handlers, bot_login: str | None = None) -> None:
        self.handlers = handlers
        self.bot_login = bot_login

    def route(self, event: str, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        """The jobs ``event`` needs; ``[]`` for events changebot does not act on."""
        try:
            if event in ("pull_request", "pull_request_review"):
                return self._pull_request(event, delivery, payload)
            if event == "issue_comment":
                return self._comment(delivery, payload)
            if event in ("check_run", "check_suite") and payload.get("action") == "rerequested":
                return self._rerequested(delivery, payload)
            if event == "push":
                return self._push(delivery, payload)
            if event == "merge_group":
                return self._merge_group(delivery, payload)
            if event == "deployment_protection_rule":
                return self._deployment(delivery, payload)
        except EventError as exc:
            log.warning("delivery %s (%s) ignored: %s", delivery, event, exc)
        return []

    def _pull_request(self, event: str, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        if payload.get("action") not in (PR_ACTIONS if event == "pull_request" else REVIEW_ACTIONS):
            return []
        ev = pull_request_event(payload, delivery)
        _needs_server_fields(ev.repo, ev.updated_at)
        handlers = self.handlers
        return [
            Job(
                key=pr_key(ev.repo, ev.number),
                name=f"{event}.{ev.action}",
                run=lambda control: handlers.pull_request(ev, control),
                order=(ev.updated_at,),
            )
        ]

    def _comment(self, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        ev = comment_event(payload, delivery, self.bot_login)
        if ev is None:
            return []
        _needs_server_fields(ev.repo)
        handlers = self.handlers
        return [
            Job(
                key=pr_key(ev.repo, ev.number),
                name="issue_comment.command",
                run=lambda control: handlers.command(ev, control),
            )
        ]

    def _rerequested(self, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        events = refresh_events(payload, delivery)
        handlers = self.handlers
        jobs = []
        for ev in events:
            _needs_server_fields(ev.repo)
            jobs.append(refresh_job(handlers, ev))
        return jobs

    def _push(self, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        ev = branch_event(payload, delivery)
        if ev is None:
            return []
        _needs_server_fields(ev.repo)
        handlers = self.handlers
        return [
            Job(key=f"{ev.repo.full_name}@{ev.branch}", name="push.governance", run=lambda c: handlers.branch(ev, c))
        ]

    def _merge_group(self, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        ev = merge_group_event(payload, delivery)
        if ev is None:
            return []
        _needs_server_fields(ev.repo)
        handlers = self.handlers
        return [
            Job(
                key=f"{ev.repo.full_name}@{ev.head_sha}",
                name="merge_group.checks_requested",
                run=lambda c: handlers.merge_group(ev, c),
            )
        ]

    def _deployment(self, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        ev = deployment_event(payload, delivery)
        if ev is None:
            return []
        _needs_server_fields(ev.repo)
        return [deployment_job(self.handlers, ev)]


def deployment_job(handlers: Handlers, ev: DeploymentEvent) -> Job:
    """The job that reviews one deployment (serialised per workflow run and environment)."""
    return Job(
        key=f"{ev.repo.full_name}/runs/{ev.run_id}/{ev.environment}",
        name="deployment_protection_rule.requested",
        run=lambda c: handlers.deployment(ev, c),
    )


def refresh_job(handlers: Handlers, ev: RefreshEvent) -> Job:
    """The job that refreshes one pull request (serialised with the PR's other jobs by its key)."""
    return Job(key=pr_key(ev.repo, ev.number), name=f"refresh.{ev.reason}", run=lambda c: handlers.refresh(ev, c))
