"""Benchmark the sequence gate against a naive baseline, and measure unidiff on a real-shaped series.

    python benchmarks/bench_sequence.py [--quick]

Cases (each a fresh repository built with ``git fast-import``):

* 40 patches against a repository of 20,000 files (target: under 2 s);
* 200 patches against a repository of 2,000 files.

For each: ``changebot sequence --base main --series DIR --format json`` as a user runs it (a new interpreter,
whole CLI), then the naive baseline on the same input: ``git worktree add`` (a checkout of the base) and
``git am`` of the series, then the worktree removed. Prints both times and the ratio. Then parses the
summit-shaped series of the tests with ``unidiff`` alone and with changebot, and prints where they differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True, env=ENV, check=True)
    return done.stdout.decode()


def build(repo: Path, files: int, patches: int) -> Path:
    """A repository of ``files`` files on ``main`` and ``patches`` commits on ``feature``, formatted to a dir."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    stream = bytearray(b"commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\n")
    stream += b"data 7\ninitial\n"
    for i in range(files):
        body = "".join(f"module {i} line {n}\n" for n in range(12)).encode()
        stream += f"M 100644 inline src/d{i % 200:03d}/f{i:05d}.txt\ndata {len(body)}\n".encode() + body + b"\n"
    git(repo, "fast-import", "--quiet", stdin=bytes(stream))
    git(repo, "worktree", "add", "-q", "-b", "feature", str(repo.parent / "feature"), "main")
    work = repo.parent / "feature"
    for n in range(patches):
        # chains of edits (every 4th patch edits the same file as the one before), a rename now and then
        target = work / f"src/d{(n // 4) % 200:03d}/f{(n // 4) * 7 % files:05d}.txt"
        if n % 25 == 24 and target.exists():
            git(work, "mv", str(target.relative_to(work)), str(target.relative_to(work)) + ".moved")
        else:
            if not target.exists():
                target = work / f"src/new/added{n}.txt"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("")
            with target.open("a") as handle:
                handle.write(f"change {n}\n")
            git(work, "add", "-A")
        git(work, "commit", "-q", "-m", f"change {n}")
    out = repo.parent / "series"
    git(repo, "format-patch", "-q", "--binary", "-o", str(out), "main..feature")
    git(repo, "worktree", "remove", "--force", str(work))
    return out


def changebot(repo: Path, series: Path) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "changebot",
            "sequence",
            "--repo",
            str(repo),
            "--base",
            "main",
            "--series",
            str(series),
            "--format",
            "json",
        ],
        capture_output=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode())
    return elapsed, json.loads(done.stdout)


def baseline(repo: Path, series: Path) -> float:
    start = time.perf_counter()
    work = repo.parent / "baseline"
    git(repo, "worktree", "add", "-q", "--detach", str(work), "main")
    patches = sorted(str(p) for p in series.glob("*.patch"))
    subprocess.run(
        ["git", "-C", str(work), "am", "-q", "--keep-cr", *patches], capture_output=True, env=ENV, check=True
    )
    elapsed = time.perf_counter() - start
    git(repo, "worktree", "remove", "--force", str(work))
    return elapsed


def case(files: int, patches: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sequence-") as tmp:
        repo = Path(tmp) / "repo"
        series = build(repo, files, patches)
        ours = [changebot(repo, series) for _ in range(rounds)]
        naive = [baseline(repo, series) for _ in range(rounds)]
        best, doc = min(ours, key=lambda x: x[0])
        statuses: dict[str, int] = {}
        for series_doc in doc["series"]:  # type: ignore[attr-defined]
            for patch in series_doc["patches"]:
                statuses[patch["status"]] = statuses.get(patch["status"], 0) + 1
        naive_best = min(naive)
        print(
            f"{patches:>4} patches x {files:>6,} files: changebot {best:6.2f} s  naive worktree+am "
            f"{naive_best:6.2f} s  ratio {naive_best / best:4.1f}x  statuses {statuses}"
        )


def unidiff_measure() -> None:
    """Parse the summit-shaped series with unidiff alone, and with changebot; print the differences."""
    from unidiff import PatchSet  # noqa: PLC0415
    from unidiff.errors import UnidiffParseError  # noqa: PLC0415

    from changebot.core.sequence.patches import parse_patch  # noqa: PLC0415
    from tests.support import seriesfactory as sf  # noqa: PLC0415 - the tests' series builder
    from tests.support.repos import GitRepo  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="bench-unidiff-") as tmp:
        repo = GitRepo(Path(tmp) / "repo")
        repo.commit(sf.BASE_FILES, "initial")
        repo.commit({"docs/a b/c.txt": "x\n"}, "a path containing ' b/'")
        repo.branch("feature", "main")
        sf.build_commits(repo)
        repo.commit({"docs/a b/c.txt": "y\n"}, "edit the path containing ' b/'")
        files = sf.format_patch(repo, "main", "feature", Path(tmp) / "out")
        print("\nunidiff 1.x vs changebot on the summit-shaped series (only patches where they differ):")
        for path in files:
            raw = path.read_bytes()
            ours = sorted((c.kind, c.path) for c in parse_patch(path.name, raw, 1 << 24).patch.changes)
            start = time.perf_counter()
            try:
                theirs = sorted(
                    (
                        "rename"
                        if f.is_rename
                        else "add"
                        if f.is_added_file
                        else "delete"
                        if f.is_removed_file
                        else "modify",
                        f.path + (" [binary]" if f.is_binary_file else ""),
                    )
                    for f in PatchSet(raw.decode("utf-8", "surrogateescape"))
                )
            except UnidiffParseError as exc:
                theirs = [("error", str(exc))]
            took = (time.perf_counter() - start) * 1000
            if [p for _, p in ours] != [p.removesuffix(" [binary]") for _, p in theirs]:
                print(f"  {path.name[:40]:<40} unidiff {theirs} ({took:.1f} ms)\n  {'':<40} changebot {ours}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one round, smaller repositories")
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    print(f"machine: {os.cpu_count()} cpu(s); git {git(ROOT, '--version').split()[-1]}; rounds: best of {rounds}")
    case(2_000 if args.quick else 20_000, 40, rounds)
    case(2_000, 50 if args.quick else 200, rounds)
    unidiff_measure()


if __name__ == "__main__":
    main()
