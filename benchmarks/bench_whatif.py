"""``changebot whatif`` over 500 merges in a 20,000-file repository: wall time, peak memory, blobs read.

Builds the repository with ``git fast-import`` in a temp dir (20,000 files under ``src/``, a pipeline with a
weekly freeze, 50 change bundles), then 500 feature branches merged into ``main`` over 89 days (each edits a
source file and adds a bundle, so later merges carry up to 550 bundles), and a head that moves the weekend
freeze from Saturday 20:00 to Friday 17:00. Then times ``usecases.whatif.whatif`` in this process.

Prints: merges replayed, consequences, seconds, peak RSS of this process (MB), and the blobs read against the
(path, blob) pairs the merges hold: each distinct blob must be read once.

    python benchmarks/bench_whatif.py [--files 20000] [--merges 500]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from changebot.adapters.git import history, reader
from changebot.usecases.whatif import whatif

PIPELINE = """\
pipeline:
  name: ci
  steps:
    - id: build
      run: make
freeze_windows:
  - name: weekends
    start: "{start}"
    end: "MON 00:00 UTC"
"""
START = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}


def _blob(lines: list[str], path: str, text: str) -> None:
    data = text.encode()
    lines += [f"M 100644 inline {path}", f"data {len(data)}", text]


def build(root: Path, files: int, merges: int) -> None:
    """The repository: ``main`` with the history, ``edit`` with the calendar change."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=ENV)
    out: list[str] = [
        "commit refs/heads/main",
        "mark :1",
        f"committer b <b@example.com> {int(START.timestamp())} +0000",
    ]
    out += ["data 4", "init"]
    for n in range(files):
        _blob(out, f"src/d{n // 500:03d}/f{n:05d}.txt", f"file {n}\n")
    _blob(out, ".maestro/pipeline.yaml", PIPELINE.format(start="SAT 20:00 UTC"))
    for n in range(50):
        _blob(out, f".maestro/changes/20250601-b{n:03d}.yaml", f"area: a{n}\nintent: i\nowners: {{DRI: x}}\n")
    mark, main = 1, ":1"
    step = timedelta(days=89) / merges
    for m in range(merges):
        when = int((START + step * (m + 1)).timestamp())
        mark += 1
        out += [f"commit refs/heads/f{m}", f"mark :{mark}", f"committer b <b@example.com> {when - 60} +0000"]
        out += ["data 4", "work", f"from {main}"]
        change: list[str] = []
        _blob(change, f"src/d{m % 40:03d}/f{(m * 37) % files:05d}.txt", f"edit {m}\n")
        _blob(change, f".maestro/changes/20250701-m{m:04d}.yaml", f"area: m{m}\nintent: i\nowners: {{DRI: y}}\n")
        out += change
        side = f":{mark}"
        mark += 1
        out += ["commit refs/heads/main", f"mark :{mark}", f"committer b <b@example.com> {when} +0000"]
        out += [f"data {len(f'Merge f{m}')}", f"Merge f{m}", f"from {main}", f"merge {side}", *change]
        main = f":{mark}"
    mark += 1
    last = int((START + timedelta(days=89, hours=1)).timestamp())
    out += ["commit refs/heads/edit", f"mark :{mark}", f"committer b <b@example.com> {last} +0000"]
    out += ["data 4", "edit", f"from {main}"]
    _blob(out, ".maestro/pipeline.yaml", PIPELINE.format(start="FRI 17:00 UTC"))
    stream = "\n".join(out) + "\n"
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet"], input=stream.encode(), check=True, env=ENV)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--merges", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        began = time.perf_counter()
        build(root, args.files, args.merges)
        print(f"built {args.files:,} files, {args.merges} merges in {time.perf_counter() - began:.1f} s")
        now = START + timedelta(days=89, hours=2)
        requested: list[str] = []
        cat = history._cat_blobs  # counted, not changed

        def counting(repo: object, shas: list[str]) -> dict[str, bytes]:
            requested.extend(shas)
            return cat(repo, shas)  # type: ignore[arg-type]

        history._cat_blobs = counting  # type: ignore[assignment]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        began = time.perf_counter()
        result = whatif(root, "main", "edit", now, timedelta(days=90))
        seconds = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        repo = reader.open_repo(root)
        found = history.merges(repo, "main", now - timedelta(days=90), now)
        pairs: dict[str, str] = {}
        total = 0
        for sha in (m.sha for m in found):
            listing = subprocess.run(
                ["git", "-C", str(root), "ls-tree", "-r", "--format=%(objectname) %(path)", sha, "--", ".maestro"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split("\n")
            for line in filter(None, listing):
                blob, path = line.split(" ", 1)
                total += 1
                pairs[blob] = path
        print(f"merges replayed: {result.merges}, consequences: {len(result.consequences)}")
        print(f"whatif: {seconds:.2f} s, peak RSS {peak:.0f} MB (before the run: {before:.0f} MB)")
        print(
            f"blobs: {total:,} (path, blob) pairs across the merges, {len(pairs):,} distinct; "
            f"{len(requested):,} read ({len(set(requested)):,} distinct)"
        )


if __name__ == "__main__":
    main()
