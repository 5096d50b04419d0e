"""The merges into a branch over a period, and what each one proposed, read from git for the what-if.

A merge is a first-parent merge commit of the branch: its commit time, its subject, the files it brought in
(its diff against its first parent) and the proposal files (bundles, plans, patch series) of its tree. Reading
cost is bounded for large repositories: one ``git log`` for every merge and its files, one ``git ls-tree``
per merge limited to changebot's roots (never the whole tree), and one ``git cat-file --batch`` for every
distinct blob of all merges together, so a blob that many merges share is read once.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from changebot.adapters.git.reader import _blob_sizes, _Budget, _cat_blobs, resolve
from changebot.core.documents import layout
from changebot.core.documents.load import Limits
from changebot.core.whatif.replay import Merge
from changebot.errors import RepositoryError
from changebot.model import ChangedFile, RepoFiles

if TYPE_CHECKING:
    import git

_RECORD = "\x1e"  # starts each commit in the log output


def _git(repo: git.Repo, *args: str) -> str:
    done = subprocess.run(["git", "--git-dir", str(repo.git_dir), *args], capture_output=True, check=False, text=True)
    if done.returncode != 0:
        raise RepositoryError(f"git {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _changes(fields: list[str]) -> tuple[ChangedFile, ...]:
    out: list[ChangedFile] = []
    i = 0
    while i < len(fields):
        letter = fields[i][:1]
        if letter in ("R", "C") and i + 2 < len(fields):
            out.append(ChangedFile(letter, fields[i + 2], fields[i + 1]))
            i += 3
        elif i + 1 < len(fields):
            out.append(ChangedFile(letter, fields[i + 1]))
            i += 2
        else:
            break
    return tuple(out)


def merges(repo: git.Repo, branch: str, since: datetime, until: datetime | None = None) -> list[Merge]:
    """First-parent merge commits of ``branch`` committed at or after ``since`` (and before ``until``), oldest
    first, each with the files it brought in."""
    tip = resolve(repo, branch).hexsha
    args = [
        "log",
        "--first-parent",
        "--merges",
        "--diff-merges=first-parent",
        "--name-status",
        "-M",
        "-z",
        f"--since={int(since.timestamp())}",
        f"--format={_RECORD}%H%x00%ct%x00%s%x00",
        tip,
    ]
    if until is not None:
        args.insert(-1, f"--until={int(until.timestamp())}")
    out: list[Merge] = []
    for record in _git(repo, *args).split(_RECORD):
        fields = [f.strip("\n") for f in record.split("\0")]
        fields = [f for f in fields if f]
        if len(fields) < 3:
            continue
        sha, stamp, subject = fields[0], fields[1], fields[2]
        out.append(Merge(sha, datetime.fromtimestamp(int(stamp), UTC), subject, _changes(fields[3:])))
    return sorted(out, key=lambda m: m.when)


def proposals(repo: git.Repo, shas: list[str], limits: Limits) -> dict[str, RepoFiles]:
    """The proposal files (bundles, plans, patch series) of each commit's tree; each distinct blob read once."""
    roots = [r for r in layout.ROOTS if r != layout.RELEASE_POLICY]
    listings: dict[str, list[tuple[str, str]]] = {}
    for sha in shas:
        listing = _git(repo, "ls-tree", "-r", "-z", "--format=%(objectmode) %(objectname) %(path)", sha, "--", *roots)
        wanted: list[tuple[str, str]] = []
        for entry in listing.split("\0"):
            if not entry:
                continue
            mode, blob, path = entry.split(" ", 2)
            if mode in ("100644", "100755") and layout.is_proposal(path):
                wanted.append((path, blob))
        listings[sha] = sorted(wanted)
    every = sorted({blob for wanted in listings.values() for _, blob in wanted})
    sizes = _blob_sizes(repo, every)
    small = [blob for blob in every if sizes[blob] <= limits.max_file_bytes]
    blobs = _cat_blobs(repo, small)
    out: dict[str, RepoFiles] = {}
    for sha, wanted in listings.items():
        budget = _Budget(limits)
        files = {path: blobs[blob] for path, blob in wanted if budget.admit(path, sizes[blob])}
        out[sha] = RepoFiles(sha, sha, files, frozenset(path for path, _ in wanted), tuple(budget.findings))
    return out
