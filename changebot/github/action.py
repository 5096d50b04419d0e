"""The Action's side of the App's machinery: the same evaluation, publishing and slash commands, with the
workflow's checkout instead of a clone cache and the workflow's token instead of an App installation.

``ActionHandlers`` is a ``GitHubHandlers`` (``app_handlers``) whose "clone" is ``GITHUB_WORKSPACE`` (missing
commits are fetched into it, nothing is checked out) and whose session uses the token it was given. So a
``pull_request`` event in the Action and a webhook to the App produce the same check run and comment, and
``issue_comment`` slash commands are answered by the very code the App runs (``changebot.github.commands``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from changebot.adapters.git.clones import CloneCache
from changebot.adapters.github import actions
from changebot.github.handlers import GitHubHandlers, Session
from changebot.github.router import Repo


class WorkspaceClones(CloneCache):
    """``CloneCache`` over the workflow's checkout: ``prepare`` fetches missing commits and returns it."""

    def __init__(self, workspace: Path) -> None:
        super().__init__(workspace)
        self.workspace = workspace

    def prepare(
        self, repo: str, clone_url: str, token: str | None, base_sha: str, head_sha: str, number: int | None = None
    ) -> Path:
        """The checkout, holding ``base_sha`` and ``head_sha`` (fetched when missing; never checked out)."""
        actions.ensure_commits(self.workspace, [base_sha, head_sha], number)
        return self.workspace


class ActionHandlers(GitHubHandlers):
    """``GitHubHandlers`` for one Actions job: one token, one checkout, one instant.

    Month-to-date spend is not read from the Actions API here (no cache survives the job; see
    ``GitHubHandlers.spend_from_actions``): the budget gate's month check uses ``--ledger`` data or says unknown.
    """

    spend_from_actions = False

    def __init__(
        self,
        workspace: Path,
        api_url: str,
        token: str,
        bot_login: str,
        now: datetime,
        *,
        check_name: str = "changebot",
    ) -> None:
        self.clones = WorkspaceClones(workspace)
        self.api_url = api_url.rstrip("/")
        self.bot_login = bot_login
        self.check_name = check_name
        self.token = token
        self.now: Callable[[], datetime] = lambda: now

    def session(self, repo: str) -> Session:
        """A session on ``repo`` with the job's token (close it when done)."""
        return Session(self, Repo(repo, "", None), self.token)

    def _with_session(self, repo: Repo, work: Callable[[Session], None]) -> None:
        session = Session(self, repo, self.token)
        try:
            work(session)
        finally:
            session.close()


def check_name_from(settings_section: Mapping[str, Any], default: str) -> str:
    """The ``github.check_name`` setting, or ``default``."""
    value = settings_section.get("check_name")
    return value if isinstance(value, str) and value.strip() else default
