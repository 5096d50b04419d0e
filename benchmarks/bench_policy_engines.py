"""The three policy engines side by side: the same 50 policies over the same 1,000-file pull request.

    python benchmarks/bench_policy_engines.py [--repeat N]

``embedded`` (regorus in a sandbox child), ``opa`` (the ``opa`` binary: one ``opa eval`` per plan) and
``opa-server`` (a real ``opa run --server`` on loopback with the 50 policies loaded; one POST per package).
The binary is ``CHANGEBOT_OPA_PATH``, else the test setup's pinned build (``tests/support/opa.py``). Prints, per
engine, the per-plan wall time (best and median of N) and the per-decision median (the median plan time / 50:
one package is one decision; for the server that is one POST). Target for ``opa``: <= 1.5 s per plan.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_policy import N_FILES, N_POLICIES, make_context_for_bench, make_policy
from changebot.adapters.engines.opa import OpaServer
from changebot.adapters.engines.opa_binary import OpaBinary
from changebot.adapters.engines.rego import EmbeddedRego
from changebot.core.policy.decisions import Module
from changebot.core.policy.gate import PolicyOutcome, run_policies
from changebot.core.policy.input import build_input
from tests.support.opa import opa_path
from tests.support.opa_server import opa_server


def timed(repeat: int, fn: Callable[[], PolicyOutcome]) -> tuple[list[float], PolicyOutcome]:
    times: list[float] = []
    outcome = fn()  # warm: imports, the first child, opa's capabilities file
    for _ in range(repeat):
        started = time.perf_counter()
        outcome = fn()
        times.append(time.perf_counter() - started)
    return times, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    binary = os.environ.get("CHANGEBOT_OPA_PATH") or opa_path()
    if binary is None:
        print("no opa binary: set CHANGEBOT_OPA_PATH or install go", file=sys.stderr)
        return 2
    ctx = make_context_for_bench()
    data_input = build_input(ctx, [])
    sources = {f"p{n}.rego": make_policy(n) for n in range(N_POLICIES)}
    modules = [Module(f".maestro/policies/{name}", source) for name, source in sources.items()]
    rows: list[tuple[str, list[float], float, PolicyOutcome]] = []
    for name, engine in (("embedded", EmbeddedRego()), ("opa", OpaBinary(binary))):
        times, outcome = timed(args.repeat, lambda e=engine: run_policies(modules, data_input, e))
        rows.append((name, times, statistics.median(times) / N_POLICIES, outcome))
    with tempfile.TemporaryDirectory() as tmp, opa_server(binary, Path(tmp), sources) as url:
        server = OpaServer(url, timeout_seconds=30)
        times, outcome = timed(args.repeat, lambda: run_policies(modules, data_input, server))
        rows.append(("opa-server", times, statistics.median(times) / N_POLICIES, outcome))
    print(f"{N_POLICIES} policies, {N_FILES}-file PR, {args.repeat} runs each (after one warm-up run)")
    print("| engine | per plan, best | per plan, median | per decision, median | findings |")
    print("|---|---:|---:|---:|---:|")
    for name, times, per_decision, outcome in rows:
        print(
            f"| {name} | {min(times):.3f} s | {statistics.median(times):.3f} s | {per_decision * 1000:.1f} ms "
            f"| {len(outcome.findings)} |"
        )
    same = len({tuple((f.code, f.message, f.path) for f in o.findings) for _, _, _, o in rows}) == 1
    print(f"identical findings from all three engines: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
