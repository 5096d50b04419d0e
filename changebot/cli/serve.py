"""``changebot serve``: run the GitHub App (the webhook server) with uvicorn."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from changebot.cli.common import env
from changebot.errors import UsageError

if TYPE_CHECKING:
    from changebot.app.config import AppConfig

HELP = "run the GitHub App: an HTTP server for GitHub webhooks"
DESCRIPTION = """\
Run the changebot GitHub App. GitHub sends webhooks to POST /webhook; each
delivery is stored in the durable queue before it is acknowledged (202; 503
when the queue cannot be reached). GET /healthz answers while the process
lives, GET /healthz/ready while the queue is reachable, GET /metrics serves
Prometheus metrics. --workers N worker threads run the queued jobs here; with
--workers 0 this process only accepts deliveries and `changebot worker`
processes run them (any number, on any host sharing the queue). Settings come
from the environment:

  CHANGEBOT_WEBHOOK_SECRET  required: the App's webhook secret (the server
                            refuses to start without it)
  CHANGEBOT_APP_ID          the App's ID
  CHANGEBOT_PRIVATE_KEY     the App's private key (PEM), or
                            CHANGEBOT_PRIVATE_KEY_PATH: a file holding it
  CHANGEBOT_GITHUB_API_URL  default https://api.github.com
                            (GitHub Enterprise: https://HOST/api/v3)
  CHANGEBOT_CLONE_DIR       where bare clones are cached
                            (default ~/.cache/changebot/clones)
  CHANGEBOT_WORKERS         worker threads (default 4; same as --workers)
  CHANGEBOT_QUEUE_URL       the durable queue: sqlite:///PATH (one node) or
                            postgresql://USER@HOST:PORT/DB (replicas on one
                            PostgreSQL; pip install 'changebot[postgres]')
                            (default: queue.db in the state directory)
  CHANGEBOT_STATE_DIR       default ~/.local/state/changebot
  CHANGEBOT_DEDUPE_DAYS     how long delivery ids are remembered (default 7)
  CHANGEBOT_MAX_ATTEMPTS    runs of a failing job before it is dead (default 5)
  CHANGEBOT_BODY_TIMEOUT    seconds a client may take to send a body
                            (default 10; then 408)
  CHANGEBOT_MAX_READING     request bodies read at once (default 64)
  CHANGEBOT_MAX_BODY_BYTES  largest webhook body accepted
                            (default 26214400, GitHub's 25 MiB cap)
  CHANGEBOT_AUDIT_CRON      run the freeze audit on every installed repository
                            at these times: a five-field cron expression in
                            UTC, e.g. '0 6 * * 1' (unset: never)
  CHANGEBOT_AUDIT_PUBLISH   true (default): keep one audit issue per week;
                            false: log the audit only

On SIGTERM or SIGINT the server stops accepting, running jobs get 30 s to
finish, and the rest go back to the queue for another worker.

exit status: 0 after a clean shutdown, 2 when a setting is missing or wrong

example:
  CHANGEBOT_WEBHOOK_SECRET=... CHANGEBOT_APP_ID=12345 \\
  CHANGEBOT_PRIVATE_KEY_PATH=app.pem changebot serve --host 0.0.0.0 --port 8080
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` subcommand."""
    parser = sub.add_parser(
        "serve", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--host",
        default=env("--host", "127.0.0.1"),
        help="address to listen on (default 127.0.0.1; env CHANGEBOT_HOST)",
    )
    parser.add_argument(
        "--port", type=int, default=env("--port", "8080"), help="port (default 8080; env CHANGEBOT_PORT)"
    )
    add_workers(parser)
    parser.set_defaults(run=run)


def add_workers(parser: argparse.ArgumentParser) -> None:
    """``--workers N``."""
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker threads in this process (default: CHANGEBOT_WORKERS, else 4; 0: accept deliveries only)",
    )


def with_workers(config: AppConfig, workers: int | None) -> AppConfig:
    """``config`` with ``--workers`` applied (a negative count is a ``UsageError``)."""
    if workers is None:
        return config
    if workers < 0:
        raise UsageError(f"--workers {workers} is not a whole number")
    return replace(config, workers=workers)


def run(args: argparse.Namespace) -> int:
    """Read the settings, build the app, serve until interrupted."""
    from changebot.app.config import from_env  # noqa: PLC0415 - the CLI starts fast; only serve needs these

    config = with_workers(from_env(os.environ), args.workers)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a TCP port")
    if config.app_id is None or config.private_key is None:
        raise UsageError(
            "CHANGEBOT_APP_ID and CHANGEBOT_PRIVATE_KEY (or CHANGEBOT_PRIVATE_KEY_PATH) are required to call GitHub",
            "copy the App ID and a generated private key from the GitHub App's settings page",
        )
    import uvicorn  # noqa: PLC0415 - heavy: imported only when serving

    from changebot.app import logs  # noqa: PLC0415
    from changebot.app.refresh import schedule_rebuild  # noqa: PLC0415
    from changebot.app.runtime import build  # noqa: PLC0415
    from changebot.app.webhook import create_app  # noqa: PLC0415

    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    runtime = build(config)
    app = create_app(
        config,
        runtime.router,
        runtime.metrics,
        audit=runtime.audit,
        queue=runtime.queue,
        tasks=runtime.tasks,
        startup=(lambda: schedule_rebuild(runtime.queue, time.time()),),
    )
    server_config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="info", server_header=False, proxy_headers=False
    )
    logs.install()
    logging.getLogger("changebot").info("listening on %s:%d with %d worker(s)", args.host, args.port, config.workers)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it handled gracefully
        uvicorn.Server(server_config).run()
    return 0
