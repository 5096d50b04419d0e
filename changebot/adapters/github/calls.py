"""How changebot calls GitHub: one retry policy, rate limits honoured, POSTs never blindly repeated.

PyGithub's own retry is switched off (``retry=None``): its default repeats POSTs on 5xx, and GitHub sometimes
creates the object *before* answering 5xx, so a blind retry posts a second comment. Every call goes through
``CallPolicy.run`` instead::

    429 / 403 with Retry-After          wait that long (bounded), then try again (nothing was done)
    403 / 429 with x-ratelimit-remaining: 0
                                        wait until x-ratelimit-reset (bounded), then try again
    403 / 429 "secondary rate limit"    wait a minute (bounded), then try again
    5xx or a broken connection
        on a read or an idempotent write    back off and try again
        on a create (POST)                  call ``recover()`` to look for the object; try again only if it is
                                            not there
    anything else                       ``GitHubError`` at once

Waits are bounded (``max_wait`` per wait, ``max_total_wait`` overall) and use the injected ``sleep`` and
``clock``, so tests never sleep for real. Errors from PyGithub and requests are wrapped into ``GitHubError``
here and nowhere else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from changebot.errors import ChangebotError

#: GitHub's REST root on github.com; GitHub Enterprise Server's is ``https://HOST/api/v3``. (This module is light,
#: so the CLI and the App's settings import the constant from here without loading PyGithub.)
DEFAULT_API_URL = "https://api.github.com"

log = logging.getLogger("changebot.github")

T = TypeVar("T")


class GitHubError(ChangebotError):
    """A GitHub API call failed. ``status`` is the HTTP status (``None`` when no response came back)."""

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class RateLimitedError(GitHubError):
    """GitHub asked changebot to wait longer than it is allowed to."""


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _hint(status: int | None) -> str | None:
    return {
        401: "the token is missing, expired or revoked: check the 'token' input or GITHUB_TOKEN",
        403: "the token lacks a permission; in the workflow, give the job:\n  permissions:\n    contents: read\n"
        "    checks: write\n    pull-requests: write\n    issues: write",
        404: "the repository, pull request or object does not exist, or the token cannot see it",
        422: "GitHub refused the request body; this is a changebot bug, please report it",
    }.get(status or 0)


@dataclass
class CallPolicy:
    """Retry and wait rules for GitHub calls. ``sleep`` and ``clock`` are injectable for tests."""

    attempts: int = 4
    max_wait: float = 120.0
    max_total_wait: float = 300.0
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    waited: float = field(default=0.0, init=False)

    def rate_limit_wait(self, status: int, headers: Mapping[str, str] | None, message: str) -> float | None:
        """Seconds GitHub asks to wait before trying again, or ``None`` when this is not a rate limit."""
        if status not in (403, 429):
            return None
        retry_after = _header(headers, "retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return 60.0
        if _header(headers, "x-ratelimit-remaining") == "0":
            reset = _header(headers, "x-ratelimit-reset")
            try:
                return max(0.0, float(reset or "") - self.clock()) + 1.0
            except ValueError:
                return 60.0
        if "rate limit" in message.lower():
            return 60.0  # GitHub: "wait at least one minute" when no header says how long
        return None

    def _wait(self, seconds: float, what: str) -> None:
        if seconds > self.max_wait or self.waited + seconds > self.max_total_wait:
            raise RateLimitedError(
                f"{what}: GitHub rate limit asks to wait {seconds:.0f} s, more than changebot waits "
                f"({self.max_wait:.0f} s per wait, {self.max_total_wait:.0f} s in all)",
                "run again later, or use a token with a higher rate limit (a GitHub App installation token)",
                status=429,
            )
        log.warning("%s: rate limited; waiting %.1f s as GitHub asks", what, seconds)
        self.sleep(seconds)
        self.waited += seconds

    def run(
        self,
        what: str,
        call: Callable[[], T],
        *,
        idempotent: bool,
        recover: Callable[[], T | None] | None = None,
    ) -> T:
        """Run ``call`` under the policy. ``what`` names the call in logs and errors (never a token)."""
        import requests  # noqa: PLC0415 - loaded with PyGithub, on first use
        from github import GithubException  # noqa: PLC0415 - PyGithub is heavy: loaded on first use

        last: GitHubError | None = None
        for attempt in range(self.attempts):
            try:
                return call()
            except GithubException as exc:
                status = exc.status
                message = str(exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else "") or "")
                wait = self.rate_limit_wait(status, exc.headers, message)
                if wait is not None:
                    self._wait(wait, what)
                    continue
                last = GitHubError(f"{what}: GitHub answered {status} {message}".rstrip(), _hint(status), status)
                if status < 500:
                    raise last from exc
            except requests.RequestException as exc:
                last = GitHubError(f"{what}: no answer from GitHub ({type(exc).__name__}: {exc})", status=None)
            # 5xx or transport failure: the request may or may not have taken effect.
            if not idempotent:
                if recover is not None:
                    found = recover()
                    if found is not None:
                        log.warning("%s: GitHub failed but had done it; using the existing object", what)
                        return found
                else:
                    raise last
            if attempt + 1 < self.attempts:
                pause = min(self.backoff * 2**attempt, self.max_wait)
                log.warning("%s; trying again in %.1f s", last, pause)
                self.sleep(pause)
        raise last or GitHubError(f"{what}: no attempt was made (attempts={self.attempts})")
