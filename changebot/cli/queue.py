"""``changebot queue ls|retry|purge``: look into the App's durable queue and replay its dead letters."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime

HELP = "inspect the GitHub App's queue; replay or drop dead jobs"
DESCRIPTION = """\
Inspect the durable queue that `changebot serve` and `changebot worker` share
(CHANGEBOT_QUEUE_URL; default: queue.db in CHANGEBOT_STATE_DIR, itself
~/.local/state/changebot by default).

  changebot queue ls [--dead] [--json]   jobs waiting, running, scheduled, dead
  changebot queue retry ID | --all       put dead jobs back in the queue
  changebot queue purge ID | --all       delete dead jobs

A job is dead after CHANGEBOT_MAX_ATTEMPTS failed runs (default 5); its error
says why. Only dead jobs can be retried or purged.

exit status: 0 done, 1 no dead job matched, 2 bad arguments or the queue
cannot be reached
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``queue`` subcommand."""
    parser = sub.add_parser(
        "queue", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("ls", help="list jobs")
    ls.add_argument("--dead", action="store_true", help="only dead jobs")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    for name, what in (("retry", "put dead jobs back in the queue"), ("purge", "delete dead jobs")):
        action = actions.add_parser(name, help=what)
        target = action.add_mutually_exclusive_group(required=True)
        target.add_argument("id", nargs="?", type=int, help="the job's id (from `changebot queue ls`)")
        target.add_argument("--all", action="store_true", help="every dead job")
    parser.set_defaults(run=run)


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    """Do the action on the queue the environment names."""
    from changebot.adapters.queue import check_url, open_queue  # noqa: PLC0415
    from changebot.app.config import default_state_dir  # noqa: PLC0415

    url = os.environ.get("CHANGEBOT_QUEUE_URL", "").strip()
    url = check_url(url) if url else f"sqlite:///{default_state_dir(os.environ) / 'queue.db'}"
    queue = open_queue(url)
    now = time.time()
    try:
        if args.action == "ls":
            entries = queue.entries(now, "dead" if args.dead else None, args.limit)
            for e in entries:
                if args.json:
                    print(json.dumps({**e.__dict__, "due": _stamp(e.due), "created": _stamp(e.created)}))
                else:
                    state = "scheduled" if e.state == "ready" and e.due > now else e.state
                    line = f"{e.id:>8}  {state:<9}  {e.key}  {e.name}  delivery {e.delivery}  attempts {e.attempts}"
                    line += f"  due {_stamp(e.due)}"
                    print(line + (f"\n          error: {e.error}" if e.error else ""))
            if not args.json:
                stats = queue.stats(now)
                print(f"{stats.depth} due, {stats.scheduled} scheduled, {stats.dead} dead", file=sys.stderr)
            return 0
        target = None if args.all else args.id
        count = queue.revive(target, now) if args.action == "retry" else queue.purge(target)
        verb = "returned to the queue" if args.action == "retry" else "purged"
        print(f"{count} dead job(s) {verb}")
        return 0 if count else 1
    finally:
        queue.close()
