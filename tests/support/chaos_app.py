"""A changebot App in a process of its own, for chaos tests and benchmarks: the real webhook, queue and workers,
with handlers whose effect is a keyed write into a SQLite file (like every write changebot makes to GitHub: looked
up first, so a job run twice has one effect).

``python -m tests.support.chaos_app QUEUE_URL PORT EFFECTS_DB [--workers N] [--delay S] [--lease S]``

Each ``/changebot`` command's effect is the row of its comment id in ``effects`` (inserted once, in the order the
effects happened: ``rowid``); ``runs`` counts how often a job ran for it. A job sleeps ``delay`` seconds first.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from pathlib import Path

import uvicorn

from changebot.app.config import AppConfig
from changebot.app.webhook import create_app
from changebot.github.jobs import JobControl
from changebot.github.router import CommentEvent, GitHubRouter, PullRequestEvent

SECRET = b"chaos"


class KeyedEffects:
    """Handlers that write each command's effect once, keyed by its comment id."""

    def __init__(self, path: Path, delay: float) -> None:
        self.path = path
        self.delay = delay
        with self._connect() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS effects (comment INTEGER PRIMARY KEY, pr INTEGER, runs INTEGER)")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def pull_request(self, event: PullRequestEvent, control: JobControl) -> None:
        raise AssertionError("the chaos App gets commands only")

    def command(self, event: CommentEvent, control: JobControl) -> None:
        time.sleep(self.delay)
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT OR IGNORE INTO effects VALUES (?, ?, 0)", (event.comment_id, event.number))
            conn.execute("UPDATE effects SET runs = runs + 1 WHERE comment = ?", (event.comment_id,))
            conn.execute("COMMIT")
        finally:
            conn.close()


def command_payload(pr: int, comment: int, repo: str = "octo/chaos") -> dict[str, object]:
    """An ``issue_comment`` delivery with a ``/changebot help`` command (comment ids increase per PR)."""
    return {
        "action": "created",
        "issue": {"number": pr, "pull_request": {"url": f"https://api.github.com/repos/{repo}/pulls/{pr}"}},
        "comment": {"id": comment, "body": "/changebot help", "user": {"login": "alice", "type": "User"}},
        "repository": {"full_name": repo, "clone_url": f"https://github.com/{repo}.git"},
        "installation": {"id": 1},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("queue_url")
    parser.add_argument("port", type=int)
    parser.add_argument("effects", type=Path)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.01)
    parser.add_argument("--lease", type=float, default=2.0)
    args = parser.parse_args()
    config = AppConfig(
        webhook_secret=SECRET,
        clone_dir=Path("/nonexistent"),
        queue_url=args.queue_url,
        workers=args.workers,
        lease_seconds=args.lease,
    )
    app = create_app(config, GitHubRouter(KeyedEffects(args.effects, args.delay)))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
