"""A loopback stand-in for GitHub's App endpoints that verifies the App JWT for real (RS256, PyJWT).

``POST /app/installations/{id}/access_tokens`` issues installation tokens (``ghs_<installation>_<n>``, or one
fixed token when given), ``GET /app`` names the App, ``GET /whoami`` answers 401 for revoked tokens.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

APP_ID = "12345"


def make_key() -> tuple[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


KEY_PEM, PUBLIC_KEY = make_key()


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class TokenServer:
    """``POST /app/installations/{id}/access_tokens`` and ``GET /whoami`` as GitHub answers them."""

    def __init__(self, clock: Clock, fixed_token: str | None = None, slug: str = "changebot") -> None:
        self.clock = clock
        self.fixed_token = fixed_token
        self.queue: list[str] = []  # tokens handed out first, in order (e.g. one GitHub will refuse)
        self.slug = slug
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.refuse_all = False
        self.claims: list[dict[str, Any]] = []
        self.counter = itertools.count(1)

    async def access_tokens(self, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return JSONResponse({"message": "A JSON web token could not be decoded"}, 401)
        now = self.clock()
        try:
            claims = jwt.decode(
                auth.removeprefix("Bearer "),
                PUBLIC_KEY,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iat": False, "verify_exp": False},
            )
        except jwt.PyJWTError:
            return JSONResponse({"message": "A JSON web token could not be decoded"}, 401)
        if not (claims["iat"] <= now < claims["exp"]) or claims["exp"] - claims["iat"] > 600:
            return JSONResponse({"message": "'Expiration time' claim ('exp') is too far in the future"}, 401)
        if claims["iss"] != APP_ID:
            return JSONResponse({"message": "Integration not found"}, 404)
        self.claims.append(claims)
        token = (
            self.queue.pop(0)
            if self.queue
            else self.fixed_token or f"ghs_{request.path_params['installation']}_{next(self.counter)}"
        )
        self.issued.append(token)
        expires = datetime.fromtimestamp(int(now) + 3600, tz=UTC).isoformat().replace("+00:00", "Z")
        return JSONResponse({"token": token, "expires_at": expires}, 201)

    async def app_info(self, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            jwt.decode(auth, PUBLIC_KEY, algorithms=["RS256"], options={"verify_iat": False, "verify_exp": False})
        except jwt.PyJWTError:
            return JSONResponse({"message": "A JSON web token could not be decoded"}, 401)
        return JSONResponse({"id": int(APP_ID), "slug": self.slug, "name": self.slug})

    async def whoami(self, request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("token ")
        if self.refuse_all or token not in self.issued or token in self.revoked:
            return JSONResponse({"message": "Bad credentials"}, 401)
        return JSONResponse({"token_used": token})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/app/installations/{installation:int}/access_tokens", self.access_tokens, methods=["POST"]),
                Route("/whoami", self.whoami),
                Route("/app", self.app_info),
            ]
        )
