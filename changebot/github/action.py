"""The Action's parts for ``changebot.github.handlers``: the workflow's checkout as the commit source and the
job's token as the only GitHub client. So a ``pull_request`` event in the Action and a webhook to the App run the
same handlers and produce the same check run and comment, and ``issue_comment`` slash commands are answered by
the very code the App runs (``changebot.github.commands``).

Month-to-date spend is not read from the Actions API here (no cache survives the job; a one-shot job would pay
one call per workflow run of the month on every event): the budget gate's month check uses ``--ledger`` data or
says unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from changebot.adapters.github import actions
from changebot.adapters.github.client import GitHubClient
from changebot.github.handlers import Handlers
from changebot.github.router import Repo

T = TypeVar("T")


class WorkspaceCommits:
    """The workflow's checkout: missing commits are fetched into it (once, both together), nothing is checked
    out."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace

    def prepare(self, repo: Repo, token: str, base_sha: str, head_sha: str, number: int | None) -> Path:
        """The checkout, holding ``base_sha`` and ``head_sha``."""
        actions.ensure_commits(self.workspace, [base_sha, head_sha], number)
        return self.workspace

    def at_hand(self, repo: Repo) -> Path | None:
        """The checkout."""
        return self.workspace


class TokenClients:
    """The job's token: one client per job, no renewal (a 401 fails the step with what to fix)."""

    def __init__(self, token: str, api_url: str, bot_login: str) -> None:
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.bot_login = bot_login

    def run(self, repo: Repo, work: Callable[[GitHubClient, str], T]) -> T | None:
        client = GitHubClient(self.token, self.api_url, bot_login=self.bot_login)
        try:
            return work(client, self.token)
        finally:
            client.close()


def action_handlers(workspace: Path, api_url: str, token: str, bot_login: str, now: datetime) -> Handlers:
    """The handlers of one Actions job: one checkout, one token, one instant (``workspace`` must be a checkout)."""
    actions.require_checkout(workspace)
    handlers = Handlers(
        WorkspaceCommits(workspace),
        TokenClients(token, api_url, bot_login),
        clock=lambda: now,
        spend_from_actions=False,
    )
    handlers.lag_retries = 0  # the job runs for its event's head; a newer head has a run of its own
    return handlers
