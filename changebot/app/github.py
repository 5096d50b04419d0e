"""The App's parts for ``changebot.github.handlers``: a cache of bare clones as the commit source, and GitHub
clients on installation tokens (a 401 from GitHub or its git server renews the token once and runs the job
again: every step is idempotent)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from changebot.adapters.git.clones import CloneCache, git_hosts
from changebot.adapters.github.app_auth import AppAuth, Unauthorized
from changebot.adapters.github.calls import GitHubError
from changebot.adapters.github.client import GitHubClient
from changebot.app.config import AppConfig
from changebot.errors import RepositoryError
from changebot.github.deploy import Deployments, DeploymentSchedule
from changebot.github.handlers import Handlers
from changebot.github.router import Repo
from changebot.github.schedule import RefreshSchedule
from changebot.github.steps import is_refused

log = logging.getLogger("changebot.app")

T = TypeVar("T")


class CloneCommits:
    """Commits from the App's cache of bare clones, fetched with the installation token."""

    def __init__(self, clones: CloneCache) -> None:
        self.clones = clones

    def prepare(self, repo: Repo, token: str, base_sha: str, head_sha: str, number: int | None) -> Path:
        return self.clones.prepare(repo.full_name, repo.clone_url, token, base_sha, head_sha, number)

    def prepare_branch(self, repo: Repo, token: str, branch: str) -> tuple[Path, str]:
        """The clone with ``branch``'s newest commit (``deploy.BranchSource``, for deployment reviews)."""
        return self.clones.prepare_branch(repo.full_name, repo.clone_url, token, branch)

    def at_hand(self, repo: Repo) -> Path | None:
        """The cached clone of ``repo``, if there is one."""
        try:
            path = self.clones.path(repo.full_name)
        except RepositoryError:
            return None
        return path if (path / "HEAD").is_file() else None


class InstallationClients:
    """Clients on the installation's token; a refused token is renewed once and the work run again."""

    def __init__(self, auth: AppAuth, api_url: str, bot_login: str) -> None:
        self.auth = auth
        self.api_url = api_url.rstrip("/")
        self.bot_login = bot_login

    def run(self, repo: Repo, work: Callable[[GitHubClient, str], T]) -> T | None:
        if repo.installation_id is None:
            log.warning("delivery for %s has no installation; ignored", repo.full_name)
            return None

        def attempt(token: str) -> T:
            client = GitHubClient(token, self.api_url, bot_login=self.bot_login)
            try:
                return work(client, token)
            except Exception as exc:
                if is_refused(exc):
                    raise Unauthorized from exc
                raise
            finally:
                client.close()

        return self.auth.call(repo.installation_id, attempt)


@dataclass(frozen=True)
class AppParts:
    """What ``changebot serve`` builds once: the handlers, and the parts the scheduled audit shares."""

    handlers: Handlers
    auth: AppAuth
    clones: CloneCache
    bot_login: str
    schedule: RefreshSchedule | None


def app_handlers(
    auth: AppAuth,
    clones: CloneCache,
    api_url: str,
    bot_login: str,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    schedule: RefreshSchedule | None = None,
    waiting: DeploymentSchedule | None = None,
) -> Handlers:
    """The App's handlers over ``auth``'s installations and the clone cache ``clones``; each evaluation plans
    the PR's next refresh in ``schedule``; a deployment held during a freeze is reviewed again through
    ``waiting`` (without it, such a deployment is rejected)."""
    commits = CloneCommits(clones)
    return Handlers(
        commits,
        InstallationClients(auth, api_url, bot_login),
        clock=clock,
        schedule=schedule,
        deployments=Deployments(commits, waiting),
    )


def from_config(
    config: AppConfig, schedule: RefreshSchedule | None = None, waiting: DeploymentSchedule | None = None
) -> AppParts:
    """The App's parts for ``changebot serve`` (asks GitHub for the App's login once, at start-up); each
    evaluation plans the PR's next refresh in ``schedule``."""
    if config.app_id is None or config.private_key is None:
        raise GitHubError("the App ID and private key are required")
    auth = AppAuth(config.app_id, config.private_key, config.api_url)
    clones = CloneCache(Path(config.clone_dir), hosts=git_hosts(config.api_url))
    login = auth.bot_login()
    handlers = app_handlers(auth, clones, config.api_url, login, schedule=schedule, waiting=waiting)
    return AppParts(handlers, auth, clones, login, schedule)
