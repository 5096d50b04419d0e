"""``changebot serve``: run the GitHub App (the webhook server) with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os

from changebot.cli.common import env
from changebot.errors import UsageError

HELP = "run the GitHub App: an HTTP server for GitHub webhooks"
DESCRIPTION = """\
Run the changebot GitHub App. GitHub sends webhooks to POST /webhook; GET
/healthz answers 'ok' and GET /metrics serves Prometheus metrics. Settings come
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
  CHANGEBOT_WORKERS         background jobs run at once (default 4)
  CHANGEBOT_MAX_BODY_BYTES  largest webhook body accepted
                            (default 26214400, GitHub's 25 MiB cap)
  CHANGEBOT_AUDIT_CRON      run the freeze audit on every installed repository
                            at these times: a five-field cron expression in
                            UTC, e.g. '0 6 * * 1' (unset: never)
  CHANGEBOT_AUDIT_PUBLISH   true (default): keep one audit issue per week;
                            false: log the audit only

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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read the settings, build the app, serve until interrupted."""
    from changebot.app.config import from_env  # noqa: PLC0415 - the CLI starts fast; only serve needs these

    config = from_env(os.environ)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a TCP port")
    if config.app_id is None or config.private_key is None:
        raise UsageError(
            "CHANGEBOT_APP_ID and CHANGEBOT_PRIVATE_KEY (or CHANGEBOT_PRIVATE_KEY_PATH) are required to call GitHub",
            "copy the App ID and a generated private key from the GitHub App's settings page",
        )
    import uvicorn  # noqa: PLC0415 - heavy: imported only when serving

    from changebot.app.audit import AppAuditor  # noqa: PLC0415
    from changebot.app.github import from_config  # noqa: PLC0415
    from changebot.app.metrics import Metrics  # noqa: PLC0415
    from changebot.app.refresh import RefreshLoop, installed_pull_requests  # noqa: PLC0415
    from changebot.app.webhook import create_app  # noqa: PLC0415
    from changebot.github.router import GitHubRouter  # noqa: PLC0415

    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    parts = from_config(config)
    metrics = Metrics()
    scheduler = None
    if config.audit_cron is not None:
        from changebot.app.scheduler import AuditScheduler  # noqa: PLC0415

        auditor = AppAuditor(
            parts.auth, parts.clones, config.api_url, parts.bot_login, metrics, publish=config.audit_publish
        )
        scheduler = AuditScheduler(config.audit_cron, auditor.tick, metrics, on_stop=auditor.stopping.set)
    refresh = RefreshLoop(
        parts.schedule,
        parts.handlers,
        rebuild=lambda: installed_pull_requests(
            parts.auth,
            config.api_url,
            parts.bot_login,
            AppAuditor(parts.auth, parts.clones, config.api_url, parts.bot_login, metrics).repositories,
        ),
    )
    router = GitHubRouter(parts.handlers, bot_login=parts.bot_login)
    app = create_app(config, router, metrics, audit=scheduler, refresh=refresh)
    logging.getLogger("changebot").info("listening on %s:%d", args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", server_header=False, proxy_headers=False)
    return 0
