"""Which webhook deliveries become work, and what that work is told. Fast and free of I/O.

``GitHubRouter.route`` runs before the webhook answers GitHub, so it only reads the payload:

- ``pull_request`` ``opened``/``synchronize``/``reopened``/``ready_for_review``: one job that plans the PR and
  publishes the result, ordered by the PR's ``updated_at`` so an older head never overwrites a newer one;
- ``issue_comment`` ``created`` on a pull request, whose first non-blank line is a ``/changebot`` command,
  written by a person: one job that answers the command. Edited and deleted comments, comments by bots
  (``user.type == "Bot"`` or a login ending in ``[bot]``) and the App's own comments are ignored;
- everything else: nothing.

A payload missing what a job needs is logged and ignored (it was signed by GitHub, so this is a format
change, not an attack).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from changebot.app.jobs import Job, JobControl
from changebot.core.commands import Command, Invalid, parse

log = logging.getLogger("changebot.router")

PR_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})


@dataclass(frozen=True)
class Repo:
    """The repository a delivery is about, and the installation that may act on it."""

    full_name: str
    clone_url: str
    installation_id: int | None


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
    """A ``/changebot`` command in a pull-request comment."""

    repo: Repo
    number: int
    comment_id: int
    actor: str
    command: Command | Invalid
    delivery: str


class Handlers(Protocol):
    """The work itself (``changebot.github.handlers`` for GitHub; tests pass recorders)."""

    def pull_request(self, event: PullRequestEvent, control: JobControl) -> None: ...

    def command(self, event: CommentEvent, control: JobControl) -> None: ...


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _str(data: Any, *keys: str) -> str:
    value = _get(data, *keys)
    if not isinstance(value, str) or not value:
        raise KeyError(".".join(keys))
    return value


def _int(data: Any, *keys: str) -> int:
    value = _get(data, *keys)
    if not isinstance(value, int) or isinstance(value, bool):
        raise KeyError(".".join(keys))
    return value


def _repo(payload: Mapping[str, Any]) -> Repo:
    installation = _get(payload, "installation", "id")
    return Repo(
        full_name=_str(payload, "repository", "full_name"),
        clone_url=_str(payload, "repository", "clone_url"),
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


class GitHubRouter:
    """Routes deliveries to ``handlers``. ``bot_login`` is the App's own login (``slug[bot]``), when known."""

    def __init__(self, handlers: Handlers, bot_login: str | None = None) -> None:
        self.handlers = handlers
        self.bot_login = bot_login

    def route(self, event: str, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        """The jobs ``event`` needs; ``[]`` for events changebot does not act on."""
        try:
            if event == "pull_request":
                return self._pull_request(delivery, payload)
            if event == "issue_comment":
                return self._comment(delivery, payload)
        except KeyError as exc:
            log.warning("delivery %s (%s) lacks %s; ignored", delivery, event, exc)
        return []

    def _pull_request(self, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        action = payload.get("action")
        if action not in PR_ACTIONS:
            return []
        pr = payload.get("pull_request")
        head_repo = _get(pr, "head", "repo", "full_name")
        ev = PullRequestEvent(
            repo=_repo(payload),
            number=_int(pr, "number"),
            action=str(action),
            base_ref=_str(pr, "base", "ref"),
            base_sha=_str(pr, "base", "sha"),
            head_ref=_str(pr, "head", "ref"),
            head_sha=_str(pr, "head", "sha"),
            head_repo=head_repo if isinstance(head_repo, str) else None,
            updated_at=_str(pr, "updated_at"),
            delivery=delivery,
        )
        handlers = self.handlers
        return [
            Job(
                key=f"{ev.repo.full_name}#{ev.number}",
                name=f"pull_request.{ev.action}",
                run=lambda control: handlers.pull_request(ev, control),
                order=(ev.updated_at,),
            )
        ]

    def _comment(self, delivery: str, payload: Mapping[str, Any]) -> list[Job]:
        if payload.get("action") != "created" or _get(payload, "issue", "pull_request") is None:
            return []
        comment = payload.get("comment")
        if is_bot(_get(comment, "user"), self.bot_login):
            return []
        body = _get(comment, "body")
        command = parse(body) if isinstance(body, str) else None
        if command is None:
            return []
        ev = CommentEvent(
            repo=_repo(payload),
            number=_int(payload, "issue", "number"),
            comment_id=_int(comment, "id"),
            actor=_str(comment, "user", "login"),
            command=command,
            delivery=delivery,
        )
        handlers = self.handlers
        return [
            Job(
                key=f"{ev.repo.full_name}#{ev.number}",
                name="issue_comment.command",
                run=lambda control: handlers.command(ev, control),
            )
        ]
