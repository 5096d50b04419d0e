"""Time what the governance-approval rule's list of edits costs (``core.policy.governance``), in process.

Issue 16 made the list count governance files that a patch series targets (every changed file under
``.orchestrator/patches/`` is scanned for the lines that name paths, beside the sequence gate's own parse) and
release plans whose freeze the pull request weakens (each plan the PR touches is loaded on both sides: in a
real plan the other gates have loaded them already, and the context shares the result). Cases, each timed
``--runs`` times (median and max printed):

* ``series``: a generated series of ``--patches`` patches (default 1,000, the ``max_patches_per_series``
  default), each editing 5 files of 200 lines, one of them a governance file, plus ``--plans`` release plans
  the PR edits (default 200, each freezing earlier: compared, not flagged).

Run: ``python benchmarks/bench_governance.py [--runs N] [--patches N] [--plans N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime

from changebot.core.context import make_context
from changebot.core.policy.governance import governance_changes
from changebot.core.settings import DEFAULT_SETTINGS
from changebot.model import ChangedFile, PullRequest, RepoFiles

NOW = datetime(2025, 12, 20, 12, tzinfo=UTC)


def patch(n: int, paths: list[str]) -> bytes:
    diffs = []
    for path in paths:
        body = "".join(f"-old line {i}\n+new line {i}\n" for i in range(200))
        diffs.append(
            f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n"
            f"@@ -1,200 +1,200 @@\n{body}"
        )
    return (
        f"From {'0' * 40} Mon Sep 17 00:00:00 2001\nFrom: A <a@example.com>\nDate: Mon, 1 Sep 2025 12:00:00 +0000\n"
        f"Subject: [PATCH {n}] change {n}\n\n---\n" + "".join(diffs) + "--\n2.43.0\n"
    ).encode()


def large(patches: int, plans: int) -> tuple[RepoFiles, RepoFiles, tuple[ChangedFile, ...]]:
    head: dict[str, bytes] = {}
    for n in range(1, patches + 1):
        paths = [f"src/m{n}/f{i}.py" for i in range(4)] + [".maestro/rules.json"]
        head[f".orchestrator/patches/7/{n:04d}-change-{n}.patch"] = patch(n, paths)
    base: dict[str, bytes] = {}
    for i in range(plans):
        plan = f"plan: p{i}\nwindow: {{start: 2025-12-01, end: 2025-12-31, tz: UTC}}\n"
        base[f".maestro/plan-{i}.yaml"] = (plan + "freeze: {code_freeze: 2025-12-20T00:00:00Z}\n").encode()
        head[f".maestro/plan-{i}.yaml"] = (plan + "freeze: {code_freeze: 2025-12-19T00:00:00Z}\n").encode()
    changed = tuple(ChangedFile("A" if p.startswith(".orchestrator") else "M", p) for p in head)
    return (
        RepoFiles("main", None, base, frozenset(base), ()),
        RepoFiles("feature", None, head, frozenset(head), ()),
        changed,
    )


def measure(name: str, sides: tuple[RepoFiles, RepoFiles, tuple[ChangedFile, ...]], runs: int) -> None:
    base, head, changed = sides
    times = []
    found: list[str] = []
    for _ in range(runs):
        ctx = make_context(base, head, PullRequest(files=changed), NOW, DEFAULT_SETTINGS)
        start = time.perf_counter()
        found = governance_changes(ctx)
        times.append(time.perf_counter() - start)
    series = sum(1 for p in head.files if p.startswith(".orchestrator/patches/"))
    plans = sum(1 for p in head.files if p.startswith(".maestro/plan-"))
    print(
        f"{name:8} {series:5d} patch file(s) {plans:4d} plan(s)  median {statistics.median(times) * 1000:8.1f} ms  "
        f"max {max(times) * 1000:8.1f} ms  governance edits found: {len(found)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--patches", type=int, default=1000)
    parser.add_argument("--plans", type=int, default=200)
    args = parser.parse_args()
    measure("series", large(args.patches, args.plans), args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
