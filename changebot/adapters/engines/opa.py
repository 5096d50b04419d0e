"""An OPA server as the policy engine: httpx against OPA's REST Data API.

``POST {url}/v1/data/{package path}`` with ``{"input": ...}`` for every package; ``GET {url}/health`` first.
The server holds its own policies (load the same files into it, e.g. ``opa run --server .maestro/policies``).
Every way this can go wrong is a policy error with its own finding code, never a pass (fail closed)::

    policy-unreachable   nothing listens at the URL (connection refused, DNS) after the retries
    policy-timeout       no complete answer within policy.timeout_seconds (a *total* deadline per request,
                         checked while the body streams in, not only the connect and read timeouts)
    policy-http-status   an answer other than 200 (5xx are retried with backoff first)
    policy-not-json      a 200 whose body is not JSON (an HTML error page from a proxy)
    policy-bad-result    JSON of the wrong shape
    policy-undefined     ``{}``: OPA's answer for an undefined document

Transport errors are translated here, at the boundary, into ``QueryResult`` values.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from changebot.core.policy.decisions import Evaluation, Module, QueryResult, package_segments

if TYPE_CHECKING:
    import httpx

#: Largest response body accepted.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: First retry delay for 5xx and refused connections; doubles each time.
BACKOFF_SECONDS = 0.1


@cache
def _server_version(url: str, timeout_seconds: float) -> str:
    import httpx  # noqa: PLC0415

    try:
        answer = httpx.get(f"{url}/v1/config", timeout=timeout_seconds, follow_redirects=False)
        version = answer.json()["result"]["labels"]["version"] if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return ""
    return f"OPA {version}" if isinstance(version, str) and len(version) <= 40 else ""


class _Failure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class OpaServer:
    """A ``PolicyEngine`` (see ``changebot.core.policy.gate``) backed by the OPA server at ``url``."""

    url: str
    timeout_seconds: float = 5.0
    retries: int = 2
    name: str = "opa-server"

    @property
    def version(self) -> str:
        """``OPA <version>`` from the server's ``GET /v1/config`` (``labels.version``), asked once per URL;
        ``""`` when the server does not say."""
        return _server_version(self.url.rstrip("/"), self.timeout_seconds)

    def library(self) -> Sequence[Module]:
        """Nothing: the server has its own policies."""
        return ()

    def evaluate(self, modules: Sequence[Module], packages: Sequence[str], data_input: Mapping[str, Any]) -> Evaluation:
        """Query ``data.<package>`` for each package; ``modules`` only chose the packages (the server has them)."""
        del modules
        import httpx  # noqa: PLC0415 - only plans that use an OPA server pay for importing httpx

        with httpx.Client(base_url=self.url.rstrip("/"), follow_redirects=False) as client:
            unhealthy = self._health(client)
            if unhealthy is not None:
                return Evaluation(tuple(unhealthy for _ in packages))
            return Evaluation(tuple(self._query(client, p, data_input) for p in packages))

    def health(self) -> str | None:
        """``None`` when the server answers ``GET /health`` with 200; otherwise what is wrong."""
        import httpx  # noqa: PLC0415

        with httpx.Client(base_url=self.url.rstrip("/")) as client:
            found = self._health(client)
        return None if found is None else found.message

    def _health(self, client: httpx.Client) -> QueryResult | None:
        try:
            status, _, _ = self._request(client, "GET", "/health", None)
        except _Failure as exc:
            return QueryResult(
                "unavailable", message=f"OPA health check at {self.url}/health failed: {exc}", code=exc.code
            )
        if status != 200:
            message = f"OPA health check at {self.url}/health answered HTTP {status}"
            return QueryResult("unavailable", message=message, code="policy-http-status")
        return None

    def _query(self, client: httpx.Client, package: str, data_input: Mapping[str, Any]) -> QueryResult:
        path = "/v1/data/" + "/".join(quote(segment, safe="") for segment in package_segments(package))
        where = f"POST {self.url}{path}"
        try:
            status, content_type, body = self._request(client, "POST", path, {"input": data_input})
        except _Failure as exc:
            return QueryResult("error", message=f"{where}: {exc}", code=exc.code)
        if status != 200:
            snippet = body[:200].decode("utf-8", "replace")
            return QueryResult("error", message=f"{where} answered HTTP {status}: {snippet}", code="policy-http-status")
        try:
            document = json.loads(body)
        except ValueError:
            snippet = body[:80].decode("utf-8", "replace")
            message = f"{where} answered {content_type or 'no content type'}, not JSON: {snippet!r}"
            return QueryResult("error", message=message, code="policy-not-json")
        if not isinstance(document, dict):
            message = f"{where} answered JSON {type(document).__name__}, expected an object"
            return QueryResult("error", message=message, code="policy-bad-result")
        if "result" not in document:
            return QueryResult("undefined", message=f"{where} answered {{}} (undefined)")
        return QueryResult("ok", document["result"])

    def _request(self, client: httpx.Client, method: str, path: str, payload: Any) -> tuple[int, str, bytes]:
        """(status, content type, body) within the total deadline, retrying 5xx and refused connections."""
        import httpx  # noqa: PLC0415

        deadline = time.monotonic() + self.timeout_seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                status, content_type, body = self._once(client, method, path, payload, deadline)
                if status < 500:
                    return status, content_type, body
                snippet = body[:200].decode("utf-8", "replace")
                failure = _Failure("policy-http-status", f"answered HTTP {status}: {snippet}")
            except httpx.TimeoutException as exc:
                raise _Failure("policy-timeout", f"no answer within {self.timeout_seconds:g} s") from exc
            except httpx.ConnectError as exc:
                failure = _Failure("policy-unreachable", f"cannot connect ({exc})")
            except httpx.HTTPError as exc:
                raise _Failure("policy-unreachable", f"{type(exc).__name__}: {exc}") from exc
            delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            if attempt > self.retries or time.monotonic() + delay >= deadline:
                raise _Failure(failure.code, f"{failure} (after {attempt} attempt(s))")
            time.sleep(delay)

    def _once(
        self, client: httpx.Client, method: str, path: str, payload: Any, deadline: float
    ) -> tuple[int, str, bytes]:
        import httpx  # noqa: PLC0415

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise httpx.TimeoutException("deadline passed")
        with client.stream(method, path, json=payload, timeout=httpx.Timeout(remaining)) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _Failure("policy-bad-result", f"answer larger than {MAX_BODY_BYTES:,} bytes")
                if time.monotonic() > deadline:
                    raise httpx.TimeoutException("deadline passed while reading")
                chunks.append(chunk)
            return response.status_code, response.headers.get("content-type", ""), b"".join(chunks)
