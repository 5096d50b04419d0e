"""The GitHub App as an ASGI application (Starlette): verify, store durably, then answer.

``POST /webhook`` does, in this order and nothing more before answering:

1. read at most ``max_reading`` bodies at once: a new request beyond that cuts off the reader that has been
   waiting longest (408), so slow clients can neither pile up nor lock out GitHub, whose bodies arrive at
   once; a client that takes longer than ``body_timeout_seconds`` to send its body is cut off too (408), and
   one that hangs up is forgotten without a trace in the log;
2. refuse a body over the cap (413) from ``Content-Length`` or while streaming, never holding more than the
   cap in memory;
3. check ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the webhook secret) in constant time,
   before the body is parsed (401 otherwise);
4. parse the JSON, ask the router which jobs the event needs, and store the delivery id and those jobs in the
   durable queue in one atomic step. Only then answer 202. A delivery id the queue has seen within the dedupe
   window (shared by every replica, kept across restarts) is answered 200 ``duplicate`` with no second effect;
   a queue that cannot be reached is answered 503, so GitHub records a failed delivery that can be redelivered.

The work runs in ``changebot.app.jobs.Workers`` (in this process when ``workers`` > 0, and in any
``changebot worker``); the freeze audit's cron, when configured, is a scheduled job in the same queue
(``changebot.app.scheduler``).
``GET /healthz`` answers while the process lives; ``GET /healthz/ready`` answers 200 only while the queue is
reachable (503 otherwise); ``GET /metrics`` is the Prometheus text format, with the queue's numbers read at each
scrape. ``create_app`` builds everything when called: importing this module starts nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from changebot.adapters.queue import NewJob, Queue, QueueUnavailable, open_queue
from changebot.app.config import AppConfig, queue_url
from changebot.app.jobs import Router, Task, Workers
from changebot.app.metrics import Metrics
from changebot.app.scheduler import AuditCron

log = logging.getLogger("changebot.app.webhook")


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """True when ``header`` is ``sha256=<hex HMAC of body>``; compared in constant time."""
    if not header:
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("utf-8", "replace"))


class _TooLarge(Exception):
    pass


class _Evicted(Exception):
    pass


__all__ = ["Router", "WebhookApp", "create_app", "signature_ok"]


class WebhookApp:
    """State shared by the routes: config, router, metrics, the queue and (when this process runs jobs) the
    workers."""

    def __init__(
        self,
        config: AppConfig,
        router: Router,
        queue: Queue,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.router = router
        self.queue = queue
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.workers: Workers | None = None
        self.readers: dict[int, asyncio.Event] = {}
        self._next_reader = 0

    async def read_body(self, request: Request, evicted: asyncio.Event) -> bytes:
        """The body, within the size cap and the time limit; ``_Evicted`` once ``evicted`` is set."""
        cap = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        stream = request.stream().__aiter__()
        async with asyncio.timeout(self.config.body_timeout_seconds):
            while True:
                chunk_task = asyncio.ensure_future(anext(stream))
                evict_task = asyncio.ensure_future(evicted.wait())
                try:
                    done, _ = await asyncio.wait({chunk_task, evict_task}, return_when=asyncio.FIRST_COMPLETED)
                except BaseException:
                    chunk_task.cancel()
                    evict_task.cancel()
                    raise
                evict_task.cancel()
                if chunk_task not in done:
                    chunk_task.cancel()
                    raise _Evicted
                try:
                    chunk = chunk_task.result()
                except StopAsyncIteration:
                    break
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

    def _refuse(self, status: int, reason: str, message: str, close: bool = False) -> Response:
        self.metrics.refused.labels(reason).inc()
        headers = {"Connection": "close"} if close else None
        return JSONResponse({"error": message}, status, headers=headers)

    async def _read(self, request: Request) -> bytes | Response:
        while len(self.readers) >= self.config.max_reading:
            self.readers.pop(next(iter(self.readers))).set()
        evicted = asyncio.Event()
        token = self._next_reader
        self._next_reader += 1
        self.readers[token] = evicted
        try:
            return await self.read_body(request, evicted)
        except _TooLarge:
            return self._refuse(413, "too_large", f"body larger than {self.config.max_body_bytes} bytes", close=True)
        except TimeoutError:
            timeout = self.config.body_timeout_seconds
            return self._refuse(408, "slow_body", f"body not received within {timeout:g} s", close=True)
        except _Evicted:
            return self._refuse(408, "busy", "too many slow requests; the longest-waiting one is cut off", close=True)
        except ClientDisconnect:
            return self._refuse(400, "disconnected", "the client hung up", close=True)
        finally:
            self.readers.pop(token, None)

    async def _webhook(self, request: Request) -> Response:
        body = await self._read(request)
        if isinstance(body, Response):
            return body
        if not signature_ok(self.config.webhook_secret, body, request.headers.get("x-hub-signature-256")):
            return self._refuse(401, "signature", "missing or wrong X-Hub-Signature-256")
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        if not event or not delivery or len(delivery) > 100:
            return self._refuse(400, "bad_request", "X-GitHub-Event and X-GitHub-Delivery are required")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return self._refuse(400, "bad_request", "body is not JSON (or nests too deeply)")
        if not isinstance(payload, dict):
            return self._refuse(400, "bad_request", "body is not a JSON object")
        jobs = self.router.route(event, delivery, payload) if event != "ping" else []
        stored = [NewJob(job.key, job.name, event, delivery, body, index, job.order) for index, job in enumerate(jobs)]
        try:
            accepted = await run_in_threadpool(self.queue.accept, delivery, stored, self.clock())
        except QueueUnavailable as exc:
            log.warning("delivery %s not stored: %s", delivery, exc)
            return self._refuse(503, "queue_unavailable", "the queue cannot be reached; redeliver later")
        if accepted.status == "duplicate":
            self.metrics.deduplicated.inc()
            return JSONResponse({"status": "duplicate", "delivery": delivery}, 200)
        self.metrics.received.labels(event).inc()
        if accepted.stale:
            self.metrics.jobs.labels("stale").inc(accepted.stale)
        if accepted.queued and self.workers is not None:
            self.workers.wake()
        status = "pong" if event == "ping" else ("queued" if jobs else "ignored")
        return JSONResponse(
            {"status": status, "delivery": delivery, "queued": accepted.queued, "stale": accepted.stale}, 202
        )

    async def healthz(self, request: Request) -> Response:
        """Live: the process answers. ``running``: jobs running in this process."""
        running = self.workers.running if self.workers else 0
        return JSONResponse({"status": "ok", "running": running})

    async def ready(self, request: Request) -> Response:
        """Ready: the queue is reachable, so a delivery would be stored."""
        try:
            await run_in_threadpool(self.queue.ping)
        except QueueUnavailable as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc)}, 503)
        return JSONResponse({"status": "ready"})

    async def metrics_route(self, request: Request) -> Response:
        try:
            stats = await run_in_threadpool(self.queue.stats, self.clock())
        except QueueUnavailable:
            self.metrics.queue_up.set(0)
        else:
            self.metrics.queue_up.set(1)
            self.metrics.queue_depth.set(stats.depth)
            self.metrics.queue_oldest.set(stats.oldest_age)
            self.metrics.queue_dead.set(stats.dead)
            self.metrics.queue_scheduled.set(stats.scheduled)
        return Response(self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(
    config: AppConfig,
    router: Router,
    metrics: Metrics | None = None,
    clock: Callable[[], float] = time.time,
    audit: AuditCron | None = None,
    *,
    queue: Queue | None = None,
    tasks: Mapping[str, Task] | None = None,
    startup: Sequence[Callable[[], object]] = (),
) -> Starlette:
    """The ASGI app over ``queue`` (by default the one ``config`` names). ``config.workers`` worker threads (none
    when 0) start with the app's lifespan, and the audit cron, if any, is armed in the queue (its task runs in
    any worker that has it); on shutdown the workers finish or return their jobs. ``audit`` should use the same
    queue and count into the same ``metrics``. ``startup`` runs once in a thread when the app starts
    (scheduling the refresh rebuild, say); one the queue refuses is logged."""
    queue = queue or open_queue(queue_url(config), config.dedupe_ttl_seconds)
    state = WebhookApp(config, router, queue, metrics, clock)

    tasks = {**(tasks or {}), **({AuditCron.TASK: audit.run} if audit is not None else {})}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if config.workers > 0:
            state.workers = Workers(
                state.queue,
                router,
                state.metrics,
                config.workers,
                tasks=tasks,
                lease=config.lease_seconds,
                max_attempts=config.max_attempts,
                backoff=config.retry_backoff_seconds,
                clock=clock,
            )
            state.workers.start()
        if audit is not None:
            try:
                await run_in_threadpool(audit.arm)
            except QueueUnavailable as exc:
                log.warning("could not schedule the audit (%s); the next start or tick schedules it", exc)
        for step in startup:
            try:
                await run_in_threadpool(step)
            except QueueUnavailable as exc:
                log.warning("a start-up step could not reach the queue (%s); the next start runs it", exc)
        try:
            yield
        finally:
            if audit is not None:
                audit.stop()
            if state.workers is not None:
                await run_in_threadpool(state.workers.stop)

    app = Starlette(
        routes=[
            Route("/webhook", state.webhook, methods=["POST"]),
            Route("/healthz", state.healthz, methods=["GET"]),
            Route("/healthz/ready", state.ready, methods=["GET"]),
            Route("/metrics", state.metrics_route, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.changebot = state
    return app
