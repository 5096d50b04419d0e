"""Time ``changebot plan`` as a user runs it: a fresh process, wall time including interpreter start.

Two cases:

* ``example``: ``examples/payments`` (a plain directory; target < 0.5 s);
* ``large``: a generated git repository of 20,000 files, 2,000 of them change bundles (plus a release plan,
  a pipeline, a calendar and a budget), planned with ``--base main --head feature`` where the feature
  branch edits 50 bundles and adds 20 (targets < 5 s and < 300 MB peak RSS).

Peak RSS is the child's own ``ru_maxrss`` from ``os.wait4``. Run: ``python benchmarks/bench_plan.py``
(``--runs N``, ``--keep DIR`` to reuse a generated repository).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "payments"
CHANGEBOT = [sys.executable, "-m", "changebot"]
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def bundle(i: int, revision: int = 0) -> str:
    return (
        f"area: team-{i % 40}\n"
        "intent: feature\n"
        "release_tag: v1.2.0\n"
        "window: { start: 2026-01-05, end: 2026-01-16 }\n"
        f"objective: 'Bundle {i} revision {revision}: make the thing faster and safer.'\n"
        "work_items:\n"
        f"  - id: W{i}-1\n"
        f"    story: 'First story of bundle {i}'\n"
        "    acceptance: ['It works', 'It is measured']\n"
        f"  - id: W{i}-2\n"
        f"    story: 'Second story of bundle {i}'\n"
        "acceptance: ['Dashboards green']\n"
        f"owners: {{ DRI: team-{i % 40}, support: [sre, docs] }}\n"
        "metrics: ['p95_ms <= 250', 'error_rate_pct <= 0.5']\n"
    )


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=GIT_ENV)


def generate(repo: Path) -> None:
    """20,000 files in a git repository: 2,000 bundles and 18,000 ordinary source files."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    changes = repo / ".maestro" / "changes"
    changes.mkdir(parents=True)
    for i in range(2000):
        (changes / f"20260105-bundle-{i:04d}.yaml").write_text(bundle(i), encoding="utf-8")
    for i in range(17_995):
        folder = repo / "src" / f"pkg{i // 200:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module_{i:05d}.py").write_text(f"VALUE = {i}\n", encoding="utf-8")
    plan = "plan: big\nwindow: { start: 2026-01-05, end: 2026-01-16, tz: Europe/Dublin }\nchanges:\n"
    plan += "".join(f"  - from_file: .maestro/changes/20260105-bundle-{i:04d}.yaml\n" for i in range(0, 2000, 10))
    plan += "freeze: { code_freeze: 2026-01-14T18:00:00Z }\n"
    (repo / ".maestro" / "plan-big.yaml").write_text(plan, encoding="utf-8")
    shutil.copy(EXAMPLE / ".maestro" / "pipeline.yaml", repo / ".maestro" / "pipeline.yaml")
    shutil.copy(EXAMPLE / ".maestro" / "ci_budget.json", repo / ".maestro" / "ci_budget.json")
    shutil.copy(EXAMPLE / ".maestro" / "freeze_windows.json", repo / ".maestro" / "freeze_windows.json")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    for i in range(0, 2000, 40):
        (changes / f"20260105-bundle-{i:04d}.yaml").write_text(bundle(i, 1), encoding="utf-8")
    for i in range(2000, 2020):
        (changes / f"20260112-new-{i:04d}.yaml").write_text(bundle(i), encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feature")
    count = subprocess.run(
        ["git", "-C", str(repo), "ls-files"], check=True, capture_output=True, text=True
    ).stdout.count("\n")
    print(f"generated {repo}: {count} files at head", file=sys.stderr)


def measure(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(
            f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    return wall, usage.ru_maxrss / 1024, proc.returncode


def report(name: str, argv: list[str], runs: int, wall_target: float, rss_target: float | None) -> bool:
    results = [measure(argv) for _ in range(runs)]
    walls = [r[0] for r in results]
    rss = max(r[1] for r in results)
    ok = statistics.median(walls) < wall_target and (rss_target is None or rss < rss_target)
    print(
        f"{name:8} runs={runs} wall median={statistics.median(walls):.3f}s min={min(walls):.3f}s "
        f"max={max(walls):.3f}s peak_rss={rss:.1f}MB exit={results[0][2]} "
        f"target<{wall_target}s" + (f",<{rss_target:.0f}MB" if rss_target else "") + (" OK" if ok else " MISSED")
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate the large repository here (reused if present)")
    args = parser.parse_args()
    now = ["--now", "2026-01-10T12:00:00Z", "--format", "json"]
    ok = report("example", [*CHANGEBOT, "plan", "--repo", str(EXAMPLE), *now], args.runs, 0.5, None)
    with tempfile.TemporaryDirectory() as tmp:
        repo = args.keep or Path(tmp) / "large"
        if not repo.exists():
            generate(repo)
        argv = [*CHANGEBOT, "plan", "--repo", str(repo), "--base", "main", "--head", "feature", *now]
        ok = report("large", argv, max(1, args.runs // 2), 5.0, 300.0) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
