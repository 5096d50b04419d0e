"""The GitHub App as an ASGI application (Starlette): verify, deduplicate, queue, answer.

``POST /webhook`` does, in this order and nothing more before answering:

1. refuse a body over the cap (413) from ``Content-Length`` or while streaming, never holding more than the
   cap in memory;
2. check ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the webhook secret) in constant time,
   before the body is parsed (401 otherwise);
3. answer a redelivered ``X-GitHub-Delivery`` id without a second effect (200, ``duplicate``);
4. parse the JSON, ask the router which jobs the event needs and queue them (202).

The work runs in ``changebot.app.jobs.Dispatcher``; the scheduled freeze audit, when configured, in
``changebot.app.scheduler.AuditScheduler`` (both start and stop with the app's lifespan). ``GET /healthz``
answers ``ok``; ``GET /metrics`` is the Prometheus text format. ``create_app`` builds everything when called:
importing this module starts nothing (only ``changebot serve`` imports it, so the CLI never pays for Starlette).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from cachetools import TTLCache
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from changebot.app.config import AppConfig
from changebot.app.jobs import Dispatcher
from changebot.app.metrics import Metrics
from changebot.app.refresh import RefreshLoop
from changebot.app.scheduler import AuditScheduler
from changebot.github.jobs import Job

log = logging.getLogger("changebot.app.webhook")


class Router(Protocol):
    """Turns one verified delivery into the jobs it needs (fast, no I/O: it runs before the answer)."""

    def route(self, event: str, delivery: str, payload: Mapping[str, Any]) -> list[Job]: ...


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """True when ``header`` is ``sha256=<hex HMAC of body>``; compared in constant time."""
    if not header:
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("utf-8", "replace"))


class _TooLarge(Exception):
    pass


class WebhookApp:
    """State shared by the routes: config, router, metrics, dedupe cache and (once started) the dispatcher."""

    def __init__(
        self,
        config: AppConfig,
        router: Router,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.router = router
        self.metrics = metrics or Metrics()
        self.seen: TTLCache[str, bool] = TTLCache(
            maxsize=config.dedupe_size, ttl=config.dedupe_ttl_seconds, timer=clock
        )
        self.dispatcher: Dispatcher | None = None

    async def read_body(self, request: Request) -> bytes:
        cap = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def webhook(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await self._webhook(request)
        finally:
            self.metrics.ack_seconds.observe(time.perf_counter() - started)

    def _refuse(self, status: int, reason: str, message: str) -> Response:
        self.metrics.refused.labels(reason).inc()
        headers = {"Connection": "close"} if status == 413 else None
        return JSONResponse({"error": message}, status, headers=headers)

    async def _webhook(self, request: Request) -> Response:
        try:
            body = await self.read_body(request)
        except _TooLarge:
            return self._refuse(413, "too_large", f"body larger than {self.config.max_body_bytes} bytes")
        if not signature_ok(self.config.webhook_secret, body, request.headers.get("x-hub-signature-256")):
            return self._refuse(401, "signature", "missing or wrong X-Hub-Signature-256")
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        if not event or not delivery or len(delivery) > 100:
            return self._refuse(400, "bad_request", "X-GitHub-Event and X-GitHub-Delivery are required")
        if delivery in self.seen:
            self.metrics.deduplicated.inc()
            return JSONResponse({"status": "duplicate", "delivery": delivery}, 200)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return self._refuse(400, "bad_request", "body is not JSON (or nests too deeply)")
        if not isinstance(payload, dict):
            return self._refuse(400, "bad_request", "body is not a JSON object")
        dispatcher = self.dispatcher
        if dispatcher is None:
            return self._refuse(503, "overloaded", "not started")
        jobs = self.router.route(event, delivery, payload) if event != "ping" else []
        if dispatcher.pending + len(jobs) > dispatcher.max_pending:
            return self._refuse(503, "overloaded", "too many jobs pending; redeliver later")
        self.seen[delivery] = True
        self.metrics.received.labels(event).inc()
        outcomes = [dispatcher.submit(job) for job in jobs]
        status = "pong" if event == "ping" else "queued"
        return JSONResponse(
            {
                "status": status,
                "delivery": delivery,
                "queued": outcomes.count("queued"),
                "stale": outcomes.count("stale"),
            },
            202,
        )

    async def healthz(self, request: Request) -> Response:
        pending = self.dispatcher.pending if self.dispatcher else 0
        return JSONResponse({"status": "ok", "pending": pending})

    async def metrics_route(self, request: Request) -> Response:
        return Response(self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(
    config: AppConfig,
    router: Router,
    metrics: Metrics | None = None,
    clock: Callable[[], float] = time.monotonic,
    audit: AuditScheduler | None = None,
    refresh: RefreshLoop | None = None,
) -> Starlette:
    """The ASGI app. The dispatcher (and the audit scheduler and the refresh loop, if any) start with the app's
    lifespan and stop on shutdown. ``audit`` should count into the same ``metrics``."""
    state = WebhookApp(config, router, metrics, clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.dispatcher = Dispatcher(state.metrics, config.workers, config.max_pending)
        if audit is not None:
            audit.start()
        if refresh is not None:
            refresh.start(state.dispatcher.submit)
        try:
            yield
        finally:
            if refresh is not None:
                await refresh.stop()
            if audit is not None:
                await audit.stop()
            await state.dispatcher.close()

    app = Starlette(
        routes=[
            Route("/webhook", state.webhook, methods=["POST"]),
            Route("/healthz", state.healthz, methods=["GET"]),
            Route("/metrics", state.metrics_route, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.changebot = state
    return app
