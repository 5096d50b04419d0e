"""App JWTs and installation tokens against a loopback token endpoint that verifies the JWT for real."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from changebot.adapters.github.app_auth import AppAuth, AppAuthError, Unauthorized
from tests.support.app_token_server import APP_ID, KEY_PEM, PUBLIC_KEY, Clock, TokenServer, make_key
from tests.support.asgi_server import serve


@pytest.fixture
def app_api() -> Iterator[tuple[str, TokenServer, Clock]]:
    clock = Clock()
    server = TokenServer(clock)
    with serve(server.app()) as url:
        yield url, server, clock


def test_jwt_is_backdated_and_short_lived() -> None:
    with AppAuth(APP_ID, KEY_PEM, clock=lambda: 1_700_000_000.0) as auth:
        token = auth.jwt()
    claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"], options={"verify_exp": False})
    assert claims == {"iat": 1_700_000_000 - 60, "exp": 1_700_000_000 - 60 + 540, "iss": APP_ID}
    assert "ghs_" not in repr(auth) and "PRIVATE" not in repr(auth)


def test_installation_tokens_are_cached_per_installation_until_near_expiry(
    app_api: tuple[str, TokenServer, Clock], request: pytest.FixtureRequest
) -> None:
    url, server, clock = app_api
    auth = AppAuth(APP_ID, KEY_PEM, url, clock=clock)
    request.addfinalizer(auth.close)
    assert auth.token(1) == "ghs_1_1"
    assert auth.token(1) == "ghs_1_1"
    assert auth.token(2) == "ghs_2_2"
    clock.offset = 54 * 60  # 6 minutes left: still cached
    assert auth.token(1) == "ghs_1_1"
    clock.offset = 56 * 60  # 4 minutes left: renewed
    assert auth.token(1) == "ghs_1_3"
    assert len(server.issued) == 3


def test_a_401_refreshes_the_token_once_and_retries(
    app_api: tuple[str, TokenServer, Clock], request: pytest.FixtureRequest
) -> None:
    url, server, clock = app_api
    auth = AppAuth(APP_ID, KEY_PEM, url, clock=clock)
    request.addfinalizer(auth.close)
    calls: list[str] = []

    def whoami(token: str) -> str:
        calls.append(token)
        response = httpx.get(url + "/whoami", headers={"Authorization": f"token {token}"})
        if response.status_code == 401:
            raise Unauthorized
        return str(response.json()["token_used"])

    assert auth.call(7, whoami) == "ghs_7_1"
    server.revoked.add("ghs_7_1")
    assert auth.call(7, whoami) == "ghs_7_2"
    assert calls == ["ghs_7_1", "ghs_7_1", "ghs_7_2"]
    server.revoked.add("ghs_7_2")
    server.refuse_all = True  # every token is refused: one retry with a new token, then the 401 surfaces
    with pytest.raises(Unauthorized):
        auth.call(7, whoami)
    assert len(calls) == 5


def test_wrong_app_id_and_bad_key_are_clear_errors(app_api: tuple[str, TokenServer, Clock]) -> None:
    url, _, clock = app_api
    with pytest.raises(AppAuthError) as wrong, AppAuth("999", KEY_PEM, url, clock=clock) as auth:
        auth.token(1)
    assert str(wrong.value) == "GitHub answered 404 to the installation token request for installation 1"
    assert wrong.value.hint == "the App is not installed there any more, or CHANGEBOT_APP_ID is wrong"
    other_pem, _ = make_key()
    with pytest.raises(AppAuthError) as refused, AppAuth(APP_ID, other_pem, url, clock=clock) as auth:
        auth.token(1)
    assert "answered 401" in str(refused.value)
    with pytest.raises(AppAuthError) as bad, AppAuth(APP_ID, "not a key", url, clock=clock) as auth:
        auth.token(1)
    assert str(bad.value) == "the App's private key cannot sign a JWT"


def test_a_host_clock_far_ahead_is_refused_by_github(app_api: tuple[str, TokenServer, Clock]) -> None:
    url, _, _clock = app_api
    ahead = Clock()
    ahead.offset = 3600
    with pytest.raises(AppAuthError) as exc, AppAuth(APP_ID, KEY_PEM, url, clock=ahead) as auth:
        auth.token(1)
    assert exc.value.hint is not None and "clock" in exc.value.hint


def test_unreachable_api_is_a_clear_error() -> None:
    auth = AppAuth(APP_ID, KEY_PEM, "http://127.0.0.1:9", clock=time.time)
    with pytest.raises(AppAuthError) as exc, auth:
        auth.token(1)
    assert str(exc.value) == "could not reach http://127.0.0.1:9 for an installation token (ConnectError)"
