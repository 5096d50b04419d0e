"""The npm fixtures' cache: bytes kept on disk and the time of a cold fetch, per pinned package.

``python benchmarks/bench_fixtures.py`` fetches every pinned package (``tests.support.octokit.PACKAGES`` and the
SARIF schema) into a fresh temporary cache with ``tests.support.npm.fetch`` and prints, per package, the bytes
kept and the seconds the fetch took; then the time of a warm lookup. Needs npm and the registry.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import npm
from tests.support.octokit import PACKAGES
from tests.support.sarif import SARIF_SCHEMA


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[npm.CACHE_ENV] = tmp
        total = 0
        print(f"{'package':<40} {'kept bytes':>12} {'cold s':>8} {'warm ms':>8}")
        for package in (*PACKAGES, SARIF_SCHEMA):
            started = time.perf_counter()
            where = npm.fetch(package)
            cold = time.perf_counter() - started
            started = time.perf_counter()
            npm.fetch(package)
            warm = (time.perf_counter() - started) * 1000
            kept = size(where)
            total += kept
            print(f"{package.spec:<40} {kept:>12,} {cold:>8.2f} {warm:>8.2f}")
        print(f"{'total':<40} {total:>12,}")


if __name__ == "__main__":
    main()
