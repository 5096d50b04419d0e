"""``changebot worker``: run the App's queued jobs, without a web server (scale workers apart from the web)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from changebot.cli.serve import add_workers, with_workers
from changebot.errors import UsageError

HELP = "run the GitHub App's queued jobs (no web server)"
DESCRIPTION = """\
Run the jobs that `changebot serve` stored in the durable queue, on --workers N
threads, until SIGTERM or SIGINT. Start any number of these, on any host that
reaches the same queue (CHANGEBOT_QUEUE_URL): work for one pull request still
runs one job at a time, in order. It reads the same settings as `changebot
serve` (see `changebot serve --help`), including CHANGEBOT_WEBHOOK_SECRET,
CHANGEBOT_APP_ID and the private key.

On SIGTERM or SIGINT it takes no new job, running jobs get 30 s to finish, and
the rest go back to the queue.

exit status: 0 after a clean shutdown, 2 when a setting is missing or wrong

example:
  CHANGEBOT_QUEUE_URL=postgresql://changebot@queue.internal:5432/changebot \\
    changebot worker --workers 8
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``worker`` subcommand."""
    parser = sub.add_parser(
        "worker", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_workers(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run workers until a signal asks to stop."""
    from changebot.app.config import from_env  # noqa: PLC0415 - only the worker needs these

    config = with_workers(from_env(os.environ), args.workers)
    if config.workers < 1:
        raise UsageError("changebot worker needs --workers 1 or more")
    if config.app_id is None or config.private_key is None:
        raise UsageError(
            "CHANGEBOT_APP_ID and CHANGEBOT_PRIVATE_KEY (or CHANGEBOT_PRIVATE_KEY_PATH) are required to call GitHub"
        )
    from changebot.app import logs  # noqa: PLC0415
    from changebot.app.jobs import Workers  # noqa: PLC0415
    from changebot.app.runtime import build  # noqa: PLC0415

    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    logs.install()
    runtime = build(config)
    workers = Workers(
        runtime.queue,
        runtime.router,
        runtime.metrics,
        config.workers,
        tasks=runtime.tasks,
        lease=config.lease_seconds,
        max_attempts=config.max_attempts,
        backoff=config.retry_backoff_seconds,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    workers.start()
    logging.getLogger("changebot").info("worker %s running %d thread(s)", workers.name, config.workers)
    stop.wait()
    if runtime.audit is not None:
        runtime.audit.stop()
    returned = workers.stop()
    logging.getLogger("changebot").info("worker stopped; %d job(s) returned to the queue", len(returned))
    runtime.queue.close()
    return 0
