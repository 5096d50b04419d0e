"""GitHub App authentication: a JWT for the App, installation access tokens for its installations.

The App proves who it is with a JWT signed RS256 with its private key (PyJWT + cryptography): ``iat`` 60 s in
the past to absorb clock skew between this host and GitHub, ``exp`` at most 10 minutes after ``iat`` (GitHub's
limit; 9 minutes here). It trades the JWT for an installation access token
(``POST /app/installations/{id}/access_tokens``), valid one hour; tokens are cached per installation and
renewed five minutes before they expire. When GitHub answers 401 to a call made with a cached token (revoked,
or the clocks disagree), ``call`` drops it, fetches a new one and retries that call once.

The clock is injectable (``clock`` returns epoch seconds) so tests can move time. Tokens never appear in
``repr``, logs or exception messages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import httpx

from changebot.errors import ChangebotError

log = logging.getLogger("changebot.app_auth")

T = TypeVar("T")

JWT_BACKDATE = 60
JWT_LIFETIME = 540
REFRESH_MARGIN = 300
API_VERSION = "2022-11-28"


def api_headers(authorization: str) -> dict[str, str]:
    """The headers of every REST call the App makes itself (``authorization``: ``Bearer JWT`` or ``token T``)."""
    return {
        "Authorization": authorization,
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "changebot",
    }


class AppAuthError(ChangebotError):
    """The App could not authenticate (bad key, wrong App ID, installation gone, GitHub unreachable)."""


class Unauthorized(Exception):
    """Raised by a caller's function when GitHub answered 401 to a call made with an installation token."""


@dataclass(frozen=True)
class InstallationToken:
    """An installation access token and the epoch second it expires."""

    token: str = field(repr=False)
    expires_at: float


class AppAuth:
    """Signs JWTs and hands out installation tokens, thread-safely."""

    def __init__(
        self,
        app_id: str,
        private_key: str,
        api_url: str = "https://api.github.com",
        *,
        clock: Callable[[], float] = time.time,
        http: httpx.Client | None = None,
    ) -> None:
        self.app_id = app_id
        self._key = private_key
        self.api_url = api_url.rstrip("/")
        self.clock = clock
        self._http = http or httpx.Client(timeout=30, follow_redirects=False)
        self._tokens: dict[int, InstallationToken] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> AppAuth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AppAuth(app_id={self.app_id!r}, api_url={self.api_url!r})"

    def jwt(self) -> str:
        """A fresh App JWT: ``iat`` 60 s ago, ``exp`` 9 minutes after that, ``iss`` the App ID."""
        import jwt  # noqa: PLC0415 - PyJWT and cryptography load only when the App signs

        now = int(self.clock())
        claims = {"iat": now - JWT_BACKDATE, "exp": now - JWT_BACKDATE + JWT_LIFETIME, "iss": self.app_id}
        try:
            return jwt.encode(claims, self._key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise AppAuthError(
                "the App's private key cannot sign a JWT",
                "CHANGEBOT_PRIVATE_KEY must be the PEM key generated on the App's settings page",
            ) from exc

    def token(self, installation_id: int) -> str:
        """A valid installation token, from the cache unless it expires within five minutes."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and cached.expires_at - self.clock() > REFRESH_MARGIN:
                return cached.token
            fresh = self._fetch(installation_id)
            self._tokens[installation_id] = fresh
            return fresh.token

    def invalidate(self, installation_id: int, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when given)."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and (token is None or cached.token == token):
                del self._tokens[installation_id]

    def call(self, installation_id: int, fn: Callable[[str], T]) -> T:
        """``fn(token)``; on ``Unauthorized`` get a new token and call ``fn`` once more."""
        token = self.token(installation_id)
        try:
            return fn(token)
        except Unauthorized:
            log.info("installation %d: token refused (401); fetching a new one", installation_id)
            self.invalidate(installation_id, token)
            return fn(self.token(installation_id))

    def bot_login(self) -> str:
        """The login the App posts as, ``<slug>[bot]`` (``GET /app`` with the JWT)."""
        try:
            response = self._http.get(f"{self.api_url}/app", headers=self._jwt_headers())
        except httpx.HTTPError as exc:
            raise AppAuthError(f"could not reach {self.api_url} to identify the App ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise AppAuthError(
                f"GitHub answered {response.status_code} when asked which App this is",
                "check CHANGEBOT_APP_ID, the private key and this host's clock",
            )
        try:
            slug = str(response.json()["slug"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AppAuthError("GitHub's answer to GET /app could not be read") from exc
        return f"{slug}[bot]"

    def installation_ids(self, max_pages: int = 100) -> list[int]:
        """The IDs of the App's installations, suspended ones left out (``GET /app/installations``, the JWT)."""
        ids: list[int] = []
        url: str | None = f"{self.api_url}/app/installations?per_page=100"
        for _ in range(max_pages):
            if url is None:
                break
            try:
                response = self._http.get(url, headers=self._jwt_headers())
            except httpx.HTTPError as exc:
                raise AppAuthError(
                    f"could not reach {self.api_url} to list the App's installations ({type(exc).__name__})"
                ) from exc
            if response.status_code != 200:
                raise AppAuthError(
                    f"GitHub answered {response.status_code} when asked for the App's installations",
                    "check CHANGEBOT_APP_ID, the private key and this host's clock",
                )
            try:
                ids.extend(int(item["id"]) for item in response.json() if not item.get("suspended_at"))
            except (ValueError, KeyError, TypeError) as exc:
                raise AppAuthError("GitHub's answer to GET /app/installations could not be read") from exc
            url = response.links.get("next", {}).get("url")
        return ids

    def _jwt_headers(self) -> dict[str, str]:
        return api_headers(f"Bearer {self.jwt()}")

    def _fetch(self, installation_id: int) -> InstallationToken:
        url = f"{self.api_url}/app/installations/{int(installation_id)}/access_tokens"
        try:
            response = self._http.post(url, headers=self._jwt_headers())
        except httpx.HTTPError as exc:
            raise AppAuthError(
                f"could not reach {self.api_url} for an installation token ({type(exc).__name__})"
            ) from exc
        if response.status_code != 201:
            hint = {
                401: "GitHub refused the App JWT: check CHANGEBOT_APP_ID, the private key and this host's clock",
                404: "the App is not installed there any more, or CHANGEBOT_APP_ID is wrong",
            }.get(response.status_code)
            raise AppAuthError(
                f"GitHub answered {response.status_code} to the installation token request for installation "
                f"{installation_id}",
                hint,
            )
        try:
            data = response.json()
            token = str(data["token"])
            expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00")).timestamp()
        except (ValueError, KeyError, TypeError) as exc:
            raise AppAuthError("GitHub's installation token answer could not be read") from exc
        return InstallationToken(token, expires)
