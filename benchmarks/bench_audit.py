"""Audit over 5,000 closed pull requests and 200 freeze windows: GitHub API calls made and time taken.

Runs the GitHub REST double (tests/github_double.py) on 127.0.0.1 and a real git repository holding a
freeze calendar of 200 absolute windows; then ``changebot audit`` in-process over a year of merges.
Usage: python benchmarks/bench_audit.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from changebot.cli import main  # noqa: E402
from changebot.core.sticky import STICKY_MARKER, encode  # noqa: E402
from changebot.model import GateId, Override  # noqa: E402
from tests.support.github_double import GitHubDouble  # noqa: E402

PRS, WINDOWS = 5000, 200
START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=365)


def calendar_repo(path: Path) -> None:
    windows = [
        {
            "name": f"window {i}",
            "from": (START + timedelta(hours=i * 43)).isoformat(),
            "to": (START + timedelta(hours=i * 43 + 6)).isoformat(),
        }
        for i in range(WINDOWS)
    ]
    (path / ".maestro").mkdir(parents=True)
    (path / ".maestro" / "freeze_windows.json").write_text(json.dumps(windows))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "calendar"]):
        subprocess.run(["git", "-C", str(path), *args], check=True, env=env)


def main_() -> None:
    double = GitHubDouble(token="bench-token")  # noqa: S106 - the double's fixed token
    for n in range(1, PRS + 1):
        at = START + timedelta(minutes=n * 105)  # spread over the year
        double.add_pull(
            "bench/repo",
            n,
            head_sha=f"{n:040d}",
            base_sha="b" * 40,
            state="closed",
            merged_at=at.isoformat().replace("+00:00", "Z"),
            merged_by="maria",
            updated_at=at.isoformat().replace("+00:00", "Z"),
        )
        # changebot comments on every PR; every tenth carries a freeze override granted an hour before the merge
        grants = (
            [
                Override(
                    GateId.FREEZE,
                    "captain",
                    "hotfix approved by the release captain",
                    at - timedelta(hours=1),
                    at + timedelta(hours=1),
                    f"{n:040d}",
                )
            ]
            if n % 10 == 0
            else []
        )
        double.add_comment("bench/repo", n, "### changebot\n" + STICKY_MARKER + encode(grants), double.bot_login)
    server = double.serve()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            calendar_repo(Path(tmp))
            os.environ.update({"GITHUB_TOKEN": "bench-token", "CHANGEBOT_BOT_LOGIN": double.bot_login})
            devnull = open(os.devnull, "w")  # noqa: PTH123, SIM115
            stdout, sys.stdout = sys.stdout, devnull
            started = time.perf_counter()
            try:
                status = main(
                    [
                        "audit",
                        "--repo",
                        "bench/repo",
                        "--checkout",
                        tmp,
                        "--api-url",
                        double.base_url,
                        "--since",
                        START.date().isoformat(),
                        "--now",
                        NOW.isoformat(),
                        "--format",
                        "json",
                    ]
                )
            finally:
                sys.stdout = stdout
                devnull.close()
            elapsed = time.perf_counter() - started
    finally:
        server.stop()
    calls = len(double.requests)
    pulls = len([c for c in double.requests if c.path.endswith("/pulls")])
    comments = len([c for c in double.requests if c.path.endswith("/issues/comments")])
    print(
        f"audit of {PRS} closed PRs with a sticky comment each, {WINDOWS} windows: exit {status}, {elapsed:.2f} s, "
        f"{calls} GitHub API calls ({pulls} pull-request list pages, {comments} comment list pages, "
        f"{calls - pulls - comments} per-PR reads of who merged an unauthorised change)"
    )


if __name__ == "__main__":
    main_()
