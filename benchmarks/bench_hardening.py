"""Measure the bounded refusals of issue 16: each attack's cost in time and peak memory, after the fix.

    python benchmarks/bench_hardening.py

Cases, each timed with ``time.perf_counter``, with the process's peak RSS after it (``ru_maxrss``, a high-water
mark: the cases run from the cheapest up):

* merge-key bomb: a 2**22-pair YAML merge bomb (~460 bytes) loaded with the default limits;
* 40 back-to-back 10-minute rrules: the freeze gate over them (every query capped at MAX_WINDOWS_PER_QUERY);
* deflate bomb: a ``GIT binary patch`` of 48 MiB of zeros parsed and measured (never inflated);
* rules cap: a rules.json of 3,000 rules refused by the rules gate (no sandbox started).
"""

from __future__ import annotations

import base64
import json
import resource
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from changebot.core.documents.load import load_yaml  # noqa: E402
from changebot.core.freeze.gate import freeze_gate  # noqa: E402
from changebot.core.policy.rules import ScriptResult, rules_gate  # noqa: E402
from changebot.core.sequence.patches import parse_patch  # noqa: E402
from tests.support.freezekit import context  # noqa: E402
from tests.support.policy_helpers import context as rules_context  # noqa: E402


def measure(name: str, work: Callable[[], Any]) -> None:
    started = time.perf_counter()
    outcome = work()
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{name:<40} {elapsed * 1000:9.1f} ms  peak RSS {peak:7.1f} MiB  -> {outcome}", flush=True)


def merge_bomb(levels: int) -> bytes:
    node = "&m0 {k: v}"
    for i in range(1, levels + 1):
        node = f"&m{i} {{<<: [{node}, *m{i - 1}]}}"
    return f"b: {{<<: {node}}}\n".encode()


def git_base85(data: bytes) -> str:
    """git's binary-patch encoding: lines of up to 52 bytes, a length character, then base85."""
    lines = []
    for start in range(0, len(data), 52):
        chunk = data[start : start + 52]
        length = chr(ord("A") + len(chunk) - 1) if len(chunk) <= 26 else chr(ord("a") + len(chunk) - 27)
        padded = chunk + b"\0" * (-len(chunk) % 4)
        lines.append(length + base64.b85encode(padded).decode())
    return "\n".join(lines) + "\n"


def deflate_bomb() -> bytes:
    size = 48 * 1024 * 1024
    payload = git_base85(zlib.compress(b"\0" * size, 9))
    return (
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.com>\n"
        "Date: Mon, 1 Sep 2025 12:00:00 +0000\nSubject: [PATCH] add zeros\n\n---\n"
        "diff --git a/z.bin b/z.bin\nnew file mode 100644\nindex 0000000000000000000000000000000000000000.."
        "1111111111111111111111111111111111111111\nGIT binary patch\n"
        f"literal {size}\n{payload}\nliteral 0\nHcmV?d00001\n\n-- \n2.39.5\n"
    ).encode()


def main() -> None:
    bomb = merge_bomb(22)
    measure(f"merge-key bomb ({len(bomb)} bytes)", lambda: [f.code for f in load_yaml("b.yaml", bomb).findings])
    rules = "".join(
        f"    - {{name: w{i}, rrule: 'FREQ=MINUTELY;INTERVAL=10;BYSECOND={i}', duration: PT10M}}\n" for i in range(40)
    )
    ctx = context(
        {"release-policy.yml": f"freeze:\n  timezone: America/Denver\n  windows:\n{rules}"}, "2025-12-17T12:00:00Z"
    )
    measure("40 back-to-back 10-minute rrules", lambda: sorted({f.code for f in freeze_gate(ctx, ()).findings}))
    patch = deflate_bomb()
    measure(
        f"deflate bomb ({len(patch):,} byte patch)",
        lambda: sum(
            c.inflated for c in parse_patch(".orchestrator/patches/1/0001-z.patch", patch, 1 << 20).patch.changes
        ),
    )
    many = json.dumps([{"id": f"r{n}", "if": "/^(a+)+$/.test('a'.repeat(40) + 'b')"} for n in range(3000)])

    def never(scripts: Any, _: Any) -> list[ScriptResult]:
        assert not scripts, "no rule may run past the cap"
        return []

    measure(
        "3,000 rules",
        lambda: [f.code for f in rules_gate(rules_context({".maestro/rules.json": many}), never).findings],
    )


if __name__ == "__main__":
    main()
