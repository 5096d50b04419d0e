"""The App's scheduled audit: one tick over 20 repositories in 2 installations — time and GitHub API calls.

Runs the GitHub REST double (tests/github_double.py) on 127.0.0.1 with the App JWT verified for real, and 20
local git repositories (each a weekend-freeze calendar plus a 1 MB file nobody reads) served as clone URLs.
Tick 1 is cold (bare blobless clones are made, issues created); tick 2 is warm (fetch only, nothing changed,
nothing written). Usage: python benchmarks/bench_app_audit.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402

from changebot.adapters.git.clones import CloneCache  # noqa: E402
from changebot.adapters.github.app_auth import AppAuth  # noqa: E402
from changebot.app.audit import AppAuditor  # noqa: E402
from changebot.app.metrics import Metrics  # noqa: E402
from tests.support.app_token_server import APP_ID, KEY_PEM, PUBLIC_KEY  # noqa: E402
from tests.support.github_double import GitHubDouble  # noqa: E402

REPOS, PULLS = 20, 30
NOW = datetime(2025, 11, 5, 12, 0, tzinfo=UTC)
POLICY = """\
freeze:
  enabled: true
  timezone: America/Denver
  windows:
    - name: "Weekend freeze"
      rrule: "FREQ=WEEKLY;BYDAY=SA,SU"
      active: true
"""


def make_repo(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "release-policy.yml").write_text(POLICY)
    (path / "big.bin").write_bytes(os.urandom(1_000_000))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-qm", "calendar"],
        ["config", "uploadpack.allowFilter", "true"],
        ["config", "uploadpack.allowAnySHA1InWant", "true"],
    ):
        subprocess.run(["git", "-C", str(path), *args], check=True, env=env)


def verify(token: str) -> bool:
    try:
        return str(jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"])["iss"]) == APP_ID
    except jwt.PyJWTError:
        return False


def main() -> None:
    double = GitHubDouble(token="bench-token")  # noqa: S106 - the double's fixed token
    double.jwt_verifier = verify
    server = double.serve()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            names = [f"org{i % 2}/repo{i}" for i in range(REPOS)]
            double.installations = {1: names[0::2], 2: names[1::2]}
            for i, name in enumerate(names):
                make_repo(Path(tmp) / "up" / name)
                double.clone_urls[name] = f"file://{Path(tmp) / 'up' / name}"
                for n in range(1, PULLS + 1):  # a third merged during the weekend freeze
                    at = "2025-11-03T06:30:00Z" if n % 3 == 0 else "2025-11-04T15:00:00Z"
                    double.add_pull(name, n, head_sha=f"{i % 10}" * 40, base_sha="b" * 40, state="closed", merged_at=at)
            with AppAuth(APP_ID, KEY_PEM, double.base_url) as auth:
                auditor = AppAuditor(
                    auth,
                    CloneCache(Path(tmp) / "cache", protocols=("file",)),
                    double.base_url,
                    double.bot_login,
                    Metrics(),
                    clock=lambda: NOW,
                )
                for label in ("cold (clone, create issues)", "warm (fetch, nothing new)"):
                    before = len(double.requests)
                    started = time.perf_counter()
                    report = auditor.tick(NOW)
                    took = time.perf_counter() - started
                    calls = len(double.requests) - before
                    assert len(report.audited) == REPOS and not report.failed, report
                    print(
                        f"tick {label}: {REPOS} repositories in {took:.2f} s ({took / REPOS * 1000:.0f} ms each), "
                        f"{calls} API calls ({calls / REPOS:.1f} per repository)"
                    )
                auditor.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
