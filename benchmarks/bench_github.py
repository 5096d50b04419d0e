"""GitHub API calls per ``pull_request`` event, counted by the REST double (target: at most 6 for a PR of up to
100 files with no rule actions), and the wall time of one ``changebot action`` run against it on loopback.

    python benchmarks/bench_github.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from changebot.cli import main  # noqa: E402
from tests.support.github_double import ROUTES, GitHubDouble  # noqa: E402
from tests.support.octokit import openapi, webhook_example  # noqa: E402
from tests.support.repos import GIT_ENV  # noqa: E402

REPO = "octo/app"


def git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    )
    return done.stdout.strip()


def make_checkout(root: Path, files: int) -> tuple[str, str, list[str]]:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".maestro" / "changes").mkdir(parents=True)
    (root / ".maestro" / "changes" / "20250901-a.yaml").write_text("area: payments\nintent: harden\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    base = git(root, "rev-parse", "HEAD")
    names = [f"src/file{i:03}.txt" for i in range(files)]
    for name in names:
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text(name)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "head")
    head = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", base)
    return base, head, names


def run_once(double: GitHubDouble, work: Path, base: str, head: str) -> float:
    event = webhook_example("pull_request", "opened")
    event["pull_request"]["number"] = 7
    event["pull_request"]["base"]["sha"], event["pull_request"]["head"]["sha"] = base, head
    event["pull_request"]["head"]["repo"]["full_name"] = REPO
    (work / "event.json").write_text(json.dumps(event))
    os.environ.update(
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(work / "event.json"),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": double.base_url,
            "GITHUB_TOKEN": "t",
            "GITHUB_WORKSPACE": str(work / "repo"),
            "GITHUB_STEP_SUMMARY": str(work / "summary.md"),
            "GITHUB_OUTPUT": str(work / "output.txt"),
        }
    )
    start = time.perf_counter()
    with redirect_stdout(StringIO()):
        main(["action", "--now", "2025-12-20T09:00:00Z"])
    return time.perf_counter() - start


def main_bench() -> None:
    spec = openapi(tuple(sorted({t for _, t in ROUTES})))
    print(f"{'files':>6} {'run':>4} {'calls':>6}  {'by operation':<70} {'ms':>7}")
    for files in (1, 50, 100, 250):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            base, head, names = make_checkout(work / "repo", files)
            double = GitHubDouble(token="t", spec=spec, bot_login="github-actions[bot]")  # noqa: S106 - a double
            server = double.serve()
            try:
                double.add_pull(REPO, 7, head, base, files=names)
                times = []
                for run in (1, 2):
                    double.requests.clear()
                    times.append(run_once(double, work, base, head))
                    ops = Counter(
                        f"{c.method} {c.template.rsplit('/', 1)[-1] if c.template else c.path}" for c in double.requests
                    )
                    detail = ", ".join(f"{k} x{v}" if v > 1 else k for k, v in ops.items())
                    print(f"{files:>6} {run:>4} {len(double.requests):>6}  {detail:<70} {times[-1] * 1000:>7.1f}")
                assert not double.violations, double.violations
            finally:
                server.stop()
    print(f"(median of the runs above: {statistics.median(times) * 1000:.1f} ms, last size)")


if __name__ == "__main__":
    main_bench()
