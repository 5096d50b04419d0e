"""Time ``changebot plan`` as a user runs it, side by side with the import floor, in one invocation.

Every case is a fresh process, wall time including interpreter start; rounds alternate the cases so that a
change in the machine's load hits all of them alike. Cases:

* ``floor``: ``python -c "import yaml, jsonschema, git"``, the libraries changebot cannot start without;
* ``example``: ``changebot plan --repo examples/payments`` (a plain directory), target median <= 1.5 x floor;
* ``large``: a generated git repository of 20,000 files, 2,000 of them change bundles (plus a release plan,
  a pipeline, a calendar and a budget), planned with ``--base main --head feature`` where the feature branch
  edits 50 bundles and adds 20; targets median <= 2.0 s and peak RSS <= 100 MB.

Each in two modes: ``cached`` (bytecode written and reused, the usual install) and ``nopyc``
(``PYTHONDONTWRITEBYTECODE=1`` and changebot run from a copy of its source without ``__pycache__``, so each
start compiles changebot's modules; the libraries keep the bytecode pip wrote, as on a machine that sets the
variable). changebot is run as the console script runs it (``from changebot.cli import main``) from the
source tree given by ``--source`` (default: this checkout), so an older checkout can be measured the same way.

Reported per case: runs, median, min, max, spread (interquartile range) of the wall time, the median CPU time
(user + system of the child and the children it waited for: less sensitive to other load than wall time), the
ratio to the floor (of the medians, and the median of each round's ratio), peak RSS (the child's ``ru_maxrss``
from ``os.wait4``). Run:
``python benchmarks/bench_plan.py`` (``--runs N``, ``--large-runs N``, ``--keep DIR`` to reuse a generated
repository, ``--no-large``). Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "payments"
FLOOR = [sys.executable, "-c", "import yaml, jsonschema, git"]
CHANGEBOT = [sys.executable, "-c", "import sys; from changebot.cli import main; sys.exit(main())"]
NOW = ["--now", "2026-01-10T12:00:00Z", "--format", "json"]
EXAMPLE_RATIO = 1.5
LARGE_SECONDS = 2.0
LARGE_MB = 100.0
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


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    rss_mb: float
    status: int


def measure(argv: Sequence[str], env: Mapping[str, str]) -> Run:
    """Wall seconds, peak RSS and exit status of one fresh process.

    It runs in the filesystem root: ``python -c`` puts the working directory first on ``sys.path``, and a
    checkout's ``changebot/`` there would shadow the source tree being measured.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(env), cwd="/")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code}: {proc.stderr.read().decode() if proc.stderr else ''}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)


def modes(source: Path, tmp: Path) -> dict[str, dict[str, str]]:
    """The environment of each mode (see the module docstring)."""
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    copy = tmp / "nopyc"
    shutil.copytree(source / "changebot", copy / "changebot", ignore=shutil.ignore_patterns("__pycache__"))
    for data in ("schemas", "rules"):
        (copy / data).symlink_to(source / data)
    for env in (base, {**base, "PYTHONPATH": str(copy)}):
        where = subprocess.run(
            [sys.executable, "-c", "import changebot; print(changebot.__file__)"],
            env={**env, "PYTHONPATH": env.get("PYTHONPATH", str(source))},
            cwd="/",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"changebot runs from {where}", flush=True)
    return {
        "cached": {**base, "PYTHONPATH": str(source)},
        "nopyc": {**base, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"},
    }


def rounds(cases: Mapping[str, tuple[list[str], Mapping[str, str]]], runs: int) -> dict[str, list[Run]]:
    """``runs`` rounds; each runs every case once, in an order that rotates from round to round."""
    names = list(cases)
    results: dict[str, list[Run]] = {name: [] for name in names}
    for n in range(runs):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            argv, env = cases[name]
            results[name].append(measure(argv, env))
    return results


def spread(walls: Sequence[float]) -> float:
    if len(walls) < 4:
        return max(walls) - min(walls)
    q = statistics.quantiles(walls, n=4)
    return q[2] - q[0]


def line(name: str, runs: Sequence[Run], floor: Sequence[Run] | None = None, target: str = "") -> None:
    walls = [r.wall for r in runs]
    text = (
        f"{name:16} runs={len(runs):<3} median={statistics.median(walls):6.3f}s min={min(walls):6.3f}s "
        f"max={max(walls):6.3f}s iqr={spread(walls):5.3f}s cpu={statistics.median(r.cpu for r in runs):6.3f}s "
        f"rss={max(r.rss_mb for r in runs):5.1f}MB exit={runs[0].status}"
    )
    if floor:
        ratio = statistics.median(walls) / statistics.median(r.wall for r in floor)
        paired = statistics.median(r.wall / f.wall for r, f in zip(runs, floor, strict=True))
        text += f" x_floor={ratio:4.2f} (paired {paired:4.2f})"
    print(text + (f"  {target}" if target else ""), flush=True)


def machine() -> str:
    model = platform.processor() or "?"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), model)
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"nproc {os.cpu_count()}, {model}, Python {platform.python_version()}, load average {load}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="rounds of floor and example per mode (default 15)")
    parser.add_argument("--large-runs", type=int, default=5, help="runs of the large case per mode (default 5)")
    parser.add_argument("--keep", type=Path, help="generate the large repository here (reused if present)")
    parser.add_argument("--source", type=Path, default=ROOT, help="the changebot checkout to run (default: this one)")
    parser.add_argument("--no-large", action="store_true", help="only the floor and the example")
    args = parser.parse_args()
    source = args.source.resolve()
    print(f"machine: {machine()}; changebot from {source}", flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        envs = modes(source, Path(tmp))
        example = [*CHANGEBOT, "plan", "--repo", str(EXAMPLE), *NOW]
        measure(example, envs["cached"])  # writes the bytecode the cached mode reuses
        results = rounds(
            {
                f"{mode} {case}": (argv, env)
                for mode, env in envs.items()
                for case, argv in (("floor", FLOOR), ("example", example))
            },
            args.runs,
        )
        for mode in envs:
            floor, runs = results[f"{mode} floor"], results[f"{mode} example"]
            met = statistics.median(r.wall for r in runs) <= EXAMPLE_RATIO * statistics.median(r.wall for r in floor)
            ok = ok and met
            line(f"{mode} floor", floor)
            line(f"{mode} example", runs, floor, f"target <= {EXAMPLE_RATIO} x floor: {'met' if met else 'MISSED'}")
        if not args.no_large:
            repo = args.keep or Path(tmp) / "large"
            if not repo.exists():
                generate(repo)
            large = [*CHANGEBOT, "plan", "--repo", str(repo), "--base", "main", "--head", "feature", *NOW]
            results = rounds({mode: (large, env) for mode, env in envs.items()}, args.large_runs)
            for mode, runs in results.items():
                median, rss = statistics.median(r.wall for r in runs), max(r.rss_mb for r in runs)
                met = median <= LARGE_SECONDS and rss <= LARGE_MB
                ok = ok and met
                line(
                    f"{mode} large",
                    runs,
                    target=f"target <= {LARGE_SECONDS} s, <= {LARGE_MB:.0f} MB: {'met' if met else 'MISSED'}",
                )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
