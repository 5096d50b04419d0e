"""The App's scheduled freeze audit: every repository of every installation, one repository at a time.

One ``AppAuditor.tick(now)``:

1. lists the App's installations (``GET /app/installations`` with the App JWT);
2. lists each installation's repositories (``GET /installation/repositories`` with its installation token);
3. for each repository, fetches the default branch into the cached bare clone (``CloneCache.prepare_branch``:
   the branch head and the governed blobs, so the calendar is read offline), runs ``audits.run_audit`` at that
   commit and, unless publishing is off, ``audits.publish_audit`` (one issue per ISO week, edited in place).
   A calendar or settings file that cannot be read is a failed audit: the week's issue says so (when
   publishing) and the repository counts as failed. changebot's own comments are the App's ``slug[bot]``
   ones, whatever the repository's settings say.

A repository that fails is logged and counted (``changebot_audits_total{outcome="failed"}``) and the next one
runs. A 401 from GitHub or the git server renews the installation token once (``AppAuth.call``). The cron
loop that calls ``tick`` is ``changebot.app.scheduler.AuditCron`` (a scheduled job in the queue).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from changebot.adapters.git.clones import CloneAuthError, CloneCache
from changebot.adapters.github.app_auth import AppAuth, Unauthorized, api_headers
from changebot.adapters.github.audit import AuditSource
from changebot.adapters.github.calls import GitHubError
from changebot.adapters.github.client import GitHubClient
from changebot.app.metrics import Metrics
from changebot.usecases.audit import (
    AuditFailed,
    publish_audit,
    publish_failure,
    read_governance,
    run_audit,
    week_period,
)

log = logging.getLogger("changebot.app.audit")

#: Pages of 100 read per listing at most (10,000 installations or repositories per installation).
MAX_PAGES = 100


@dataclass(frozen=True)
class InstalledRepo:
    """One repository the App can reach, as ``GET /installation/repositories`` describes it."""

    installation_id: int
    full_name: str
    clone_url: str
    default_branch: str


@dataclass(frozen=True)
class TickReport:
    """What one tick did: the repositories audited and the ones (or installations) that failed."""

    audited: tuple[str, ...]
    failed: tuple[str, ...]


class AppAuditor:
    """Runs the freeze audit over everything the App is installed on (blocking; call from a worker thread)."""

    def __init__(
        self,
        auth: AppAuth,
        clones: CloneCache,
        api_url: str,
        bot_login: str,
        metrics: Metrics,
        *,
        publish: bool = True,
        days: int = 14,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        http: httpx.Client | None = None,
    ) -> None:
        self.auth = auth
        self.clones = clones
        self.api_url = api_url.rstrip("/")
        self.bot_login = bot_login
        self.metrics = metrics
        self.publish = publish
        self.days = days
        self.clock = clock
        self._http = http or httpx.Client(timeout=30, follow_redirects=False)
        #: Set on shutdown: the running tick finishes the repository it is on and audits no more.
        self.stopping = threading.Event()

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._http.close()

    def repositories(self, installation_id: int) -> list[InstalledRepo]:
        """The repositories of one installation (100 per page, at most ``MAX_PAGES`` pages)."""

        def fetch(token: str) -> list[InstalledRepo]:
            headers = api_headers(f"token {token}")
            found: list[InstalledRepo] = []
            url: str | None = f"{self.api_url}/installation/repositories?per_page=100"
            for _ in range(MAX_PAGES):
                if url is None:
                    break
                try:
                    response = self._http.get(url, headers=headers)
                except httpx.HTTPError as exc:
                    raise GitHubError(f"could not list the repositories of installation {installation_id}") from exc
                if response.status_code == 401:
                    raise Unauthorized
                if response.status_code != 200:
                    raise GitHubError(
                        f"GitHub answered {response.status_code} when listing the repositories of installation "
                        f"{installation_id}",
                        status=response.status_code,
                    )
                try:
                    found.extend(
                        InstalledRepo(
                            installation_id,
                            str(raw["full_name"]),
                            str(raw["clone_url"]),
                            str(raw.get("default_branch") or "main"),
                        )
                        for raw in response.json()["repositories"]
                        if not raw.get("archived")
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    raise GitHubError("GitHub's answer to GET /installation/repositories could not be read") from exc
                url = response.links.get("next", {}).get("url")
            return found

        return self.auth.call(installation_id, fetch)

    def audit_repository(self, repo: InstalledRepo, now: datetime) -> str:
        """Audit one repository at its default branch's head and publish; returns what was done, for the log."""

        def attempt(token: str) -> str:
            client = GitHubClient(token, self.api_url, bot_login=self.bot_login)
            try:
                path, sha = self.clones.prepare_branch(repo.full_name, repo.clone_url, token, repo.default_branch)
                source = AuditSource(client, repo.full_name, self.bot_login)
                period = week_period(now)
                try:
                    gov = read_governance(path, sha, now)
                except AuditFailed as exc:
                    if self.publish:
                        publish_failure(source, period, exc)
                    raise
                run = run_audit(source, gov, period, now, self.days)
                unauthorised = len(run.report.unauthorised)
                if not self.publish:
                    return f"{unauthorised} unauthorised merge(s); not published (CHANGEBOT_AUDIT_PUBLISH=false)"
                published = publish_audit(source, period, run)
                return f"{unauthorised} unauthorised merge(s); audit issue #{published.number} {published.action}"
            except GitHubError as exc:
                if exc.status == 401:
                    raise Unauthorized from exc
                raise
            except CloneAuthError as exc:
                raise Unauthorized from exc
            finally:
                client.close()

        return self.auth.call(repo.installation_id, attempt)

    def tick(self, now: datetime) -> TickReport:
        """Audit every repository of every installation, one at a time; failures are logged and counted."""
        audited: list[str] = []
        failed: list[str] = []
        try:
            installations = self.auth.installation_ids()
        except Exception:
            log.exception("scheduled audit: could not list the App's installations")
            self.metrics.audits.labels("failed").inc()
            return TickReport((), ("installations",))
        for installation in installations:
            try:
                repos = self.repositories(installation)
            except Exception:
                log.exception("scheduled audit: could not list the repositories of installation %d", installation)
                self.metrics.audits.labels("failed").inc()
                failed.append(f"installation {installation}")
                continue
            for repo in repos:
                if self.stopping.is_set():
                    log.info("scheduled audit interrupted by shutdown before %s", repo.full_name)
                    return TickReport(tuple(audited), tuple(failed))
                try:
                    outcome = self.audit_repository(repo, now)
                except Exception:
                    log.exception("scheduled audit of %s failed", repo.full_name)
                    self.metrics.audits.labels("failed").inc()
                    failed.append(repo.full_name)
                    continue
                self.metrics.audits.labels("run").inc()
                self.metrics.audit_last_success.set(self.clock().timestamp())
                audited.append(repo.full_name)
                log.info("scheduled audit of %s: %s", repo.full_name, outcome)
        log.info("scheduled audit done: %d repositories audited, %d failed", len(audited), len(failed))
        return TickReport(tuple(audited), tuple(failed))
