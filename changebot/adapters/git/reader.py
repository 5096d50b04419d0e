"""Reading a repository at a ref without checking it out (GitPython), or a plain directory.

Only the files changebot governs are read (``changebot.core.documents.layout.READ``), each within
``Limits.max_file_bytes`` and all together within ``Limits.max_repo_bytes``; what is skipped for size becomes a
finding, never a silent omission. Every path in the tree is listed (one ``git ls-tree``), so references to any
file can be checked without reading it.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from changebot.core.documents import layout
from changebot.core.documents.load import Limits
from changebot.errors import RepositoryError
from changebot.model import ChangedFile, Finding, RepoFiles, error

if TYPE_CHECKING:  # pragma: no cover
    import git


def _git() -> Any:
    """GitPython, imported on first use: reading a plain directory (the common CLI case) never pays for it."""
    try:
        import git  # noqa: PLC0415 - lazy on purpose (start-up time)
    except ImportError as exc:  # pragma: no cover - git binary missing
        raise RepositoryError("GitPython could not find a git executable", "install git") from exc
    return git


def open_repo(path: Path) -> git.Repo:
    """Open the git repository at ``path`` (not a parent of it)."""
    if not path.exists():
        raise RepositoryError(f"{path}: no such directory")
    gitpython = _git()
    try:
        repo: git.Repo = gitpython.Repo(path, search_parent_directories=False)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError) as exc:
        raise RepositoryError(
            f"{path} is not a git repository",
            "reading at a ref (--base/--head, audit --ref) needs a git repository; drop them to read a plain directory",
        ) from exc
    return repo


def is_repo(path: Path) -> bool:
    """True when ``path`` is the top of a git work tree or a bare repository."""
    gitpython = _git()
    try:
        gitpython.Repo(path, search_parent_directories=False)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        return False
    return True


def resolve(repo: git.Repo, ref: str) -> git.Commit:
    """The commit ``ref`` names, or a ``RepositoryError`` saying it does not exist."""
    if ref.startswith("-"):
        raise RepositoryError(f"ref {ref!r} looks like an option, not a ref")
    gitpython = _git()
    try:
        commit: git.Commit = repo.commit(ref)
    except (gitpython.BadName, ValueError, gitpython.GitCommandError) as exc:
        raise RepositoryError(
            f"ref {ref!r} does not exist in {repo.git_dir}",
            "fetch it first (git fetch origin REF) or check the spelling",
        ) from exc
    return commit


def branch_of(repo: git.Repo, ref: str) -> str | None:
    """The branch name ``ref`` spells, or ``None`` when it names no branch (a SHA, a tag, ``HEAD~2``).

    ``main``, ``refs/heads/main``, ``origin/main``, ``upstream/main`` and ``refs/remotes/upstream/main`` all
    name ``main``; a remote-tracking ref loses its remote's name (the longest configured remote that prefixes
    it, else its first component).
    """
    if ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/") or None
    if ref.startswith("refs/remotes/"):
        return _strip_remote(repo, ref.removeprefix("refs/remotes/"))
    if _has_ref(repo, f"refs/heads/{ref}"):
        return ref
    if _has_ref(repo, f"refs/remotes/{ref}"):
        return _strip_remote(repo, ref)
    return None


def _has_ref(repo: git.Repo, full: str) -> bool:
    done = subprocess.run(
        ["git", "--git-dir", str(repo.git_dir), "show-ref", "--verify", "--quiet", full],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def _strip_remote(repo: git.Repo, tracking: str) -> str | None:
    remotes = sorted((r.name for r in repo.remotes), key=len, reverse=True)
    for remote in remotes:
        if tracking.startswith(remote + "/"):
            return tracking.removeprefix(remote + "/") or None
    _, slash, branch = tracking.partition("/")
    return branch if slash and branch else None


class _Budget:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.used = 0
        self.findings: list[Finding] = []

    def admit(self, path: str, size: int) -> bool:
        if size > self.limits.max_file_bytes:
            self.findings.append(
                error(
                    "file-too-large",
                    f"file is {size:,} bytes; the limit is {self.limits.max_file_bytes:,} bytes (not read)",
                    path,
                )
            )
            return False
        if self.used + size > self.limits.max_repo_bytes:
            self.findings.append(
                error(
                    "repository-too-large",
                    f"reading this file would pass the {self.limits.max_repo_bytes:,}-byte limit for one "
                    "repository (not read)",
                    path,
                )
            )
            return False
        self.used += size
        return True


#: How many symlinks in a row are followed before the chain is refused.
MAX_SYMLINK_HOPS = 8


def could_hold_governed(path: str) -> bool:
    """True when a directory at ``path`` could hold a file changebot reads (``.maestro``, ``.ci``,
    ``.orchestrator/patches/7``, ``.maestro/policies``...)."""
    if path in layout.ROOTS or any(root.startswith(path + "/") for root in layout.ROOTS):
        return True
    probes = ("x", "x.json", "x.yaml", "x.yml", "x.patch", "x.rego")
    return path.startswith(layout.ROOTS) and any(layout.matches(f"{path}/{p}", layout.READ) for p in probes)


def _refused(path: str, why: str, code: str = "symlink-refused") -> Finding:
    return error(code, f"{why}: changebot does not read it, and judges as if it could not be read", path)


def _link_target(link: str, target: str) -> str | None:
    """The repository path a symlink at ``link`` pointing at ``target`` names, or ``None`` outside the tree."""
    if not target or target.startswith("/"):
        return None
    parts: list[str] = []
    for part in PurePosixPath(link).parent.joinpath(target).parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) or None


def _follow(
    link: str, entries: dict[str, tuple[str, str]], targets: dict[str, str]
) -> tuple[str, None] | tuple[None, Finding]:
    """The blob SHA a governed symlink leads to inside the tree, or the finding that refuses it."""
    current = link
    for _ in range(MAX_SYMLINK_HOPS):
        text = targets[entries[current][1]]
        resolved = _link_target(current, text)
        if resolved is None:
            return None, _refused(link, f"a symlink to {text!r}, outside the repository")
        entry = entries.get(resolved)
        if entry is None:
            return None, _refused(link, f"a symlink to {text!r}, which is not a file in this commit")
        mode, sha = entry
        if mode in ("100644", "100755"):
            return sha, None
        if mode != "120000":
            return None, _refused(link, f"a symlink to {text!r}, which is not a regular file")
        current = resolved
    return None, _refused(link, f"a chain of more than {MAX_SYMLINK_HOPS} symlinks")


def read_commit(repo: git.Repo, ref: str, limits: Limits) -> RepoFiles:
    """The governed files of the tree at ``ref``: one ``git ls-tree`` and one ``git cat-file --batch``.

    A governed path that is a symlink is followed to the file it names inside the tree (and read under the
    link's name); one that leaves the tree, dangles, or names a directory is refused with a finding, as is a
    symlink or submodule standing where governed files could be (``.maestro``, ``.ci/policies``...): never read
    as absent.
    """
    commit = resolve(repo, ref)
    # No %(objectsize) here: in a blobless (partial) clone it would fetch every blob of the tree, one at a time.
    listing = repo.git.ls_tree("-r", "-z", "--full-tree", "--format=%(objectmode) %(objectname) %(path)", commit.hexsha)
    paths: set[str] = set()
    entries: dict[str, tuple[str, str]] = {}
    wanted: list[tuple[str, str]] = []
    links: list[str] = []
    budget = _Budget(limits)
    for entry in listing.split("\0"):
        if not entry:
            continue
        mode, sha, path = entry.split(" ", 2)
        paths.add(path)
        entries[path] = (mode, sha)
        governed = path.startswith(layout.ROOTS) and layout.matches(path, layout.READ)
        if mode in ("100644", "100755") and governed:
            wanted.append((path, sha))
        elif mode == "120000" and (governed or could_hold_governed(path)):
            links.append(path)
        elif mode == "160000" and (governed or could_hold_governed(path)):
            budget.findings.append(_refused(path, "a submodule where governed files live", "submodule-refused"))
    if links:
        targets = {
            sha: raw.decode("utf-8", errors="replace")
            for sha, raw in _cat_blobs(repo, [sha for mode, sha in entries.values() if mode == "120000"]).items()
        }
        for link in links:
            if not layout.matches(link, layout.READ):
                target = targets[entries[link][1]]
                budget.findings.append(_refused(link, f"a symlink to {target!r} where governed files live"))
                continue
            sha, refusal = _follow(link, entries, targets)
            if refusal is not None:
                budget.findings.append(refusal)
            elif sha is not None:
                wanted.append((link, sha))
    sizes = _blob_sizes(repo, [sha for _, sha in wanted])
    admitted = [(path, sha) for path, sha in sorted(wanted) if budget.admit(path, sizes[sha])]
    blobs = _cat_blobs(repo, [sha for _, sha in admitted])
    files = {path: blobs[sha] for path, sha in admitted}
    return RepoFiles(ref, commit.hexsha, files, frozenset(paths), tuple(budget.findings))


def _batch(repo: git.Repo, option: str, shas: list[str]) -> bytes:
    done = subprocess.run(
        ["git", "--git-dir", str(repo.git_dir), "cat-file", option],
        input="".join(f"{sha}\n" for sha in shas).encode("ascii"),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RepositoryError(f"git cat-file failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _blob_sizes(repo: git.Repo, shas: list[str]) -> dict[str, int]:
    """Sizes of the blobs changebot would read, from one ``git cat-file --batch-check`` (contents not read)."""
    unique = list(dict.fromkeys(shas))
    if not unique:
        return {}
    out: dict[str, int] = {}
    for line in _batch(repo, "--batch-check", unique).decode("ascii", errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] != "blob":
            raise RepositoryError(f"git cat-file --batch-check returned {line!r}")
        out[parts[0]] = int(parts[2])
    return out


def _cat_blobs(repo: git.Repo, shas: list[str]) -> dict[str, bytes]:
    """The contents of blobs by SHA, in one ``git cat-file --batch`` process (sizes are already capped)."""
    if not shas:
        return {}
    unique = list(dict.fromkeys(shas))
    out: dict[str, bytes] = {}
    data, pos = _batch(repo, "--batch", unique), 0
    for sha in unique:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        if len(header) != 3 or header[0].decode() != sha:
            raise RepositoryError(f"git cat-file returned {data[pos:end]!r} for blob {sha}")
        size = int(header[2])
        out[sha] = data[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return out


def read_directory(root: Path, limits: Limits) -> RepoFiles:
    """The governed files of a working tree or plain directory (``.git`` itself is never read). Symlinks are
    treated as in ``read_commit``: followed to a regular file inside ``root``, otherwise refused with a finding."""
    root = root.resolve()
    if not root.is_dir():
        raise RepositoryError(f"{root}: no such directory")
    paths: set[str] = set()
    wanted: list[tuple[str, Path]] = []
    budget = _Budget(limits)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in dirnames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink() and could_hold_governed(rel):
                paths.add(rel)
                budget.findings.append(_refused(rel, f"a symlink to {full.readlink()!r} where governed files live"))
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            paths.add(rel)
            if not layout.matches(rel, layout.READ):
                continue
            if full.is_symlink():
                target = full.resolve()
                if not target.is_relative_to(root) or not target.is_file():
                    budget.findings.append(
                        _refused(rel, f"a symlink to {full.readlink()!r}, outside the directory or not a file")
                    )
                    continue
                wanted.append((rel, target))
            elif full.is_file():
                wanted.append((rel, full))
    files: dict[str, bytes] = {}
    for rel, full in sorted(wanted):
        if budget.admit(rel, full.stat().st_size):
            files[rel] = full.read_bytes()
    return RepoFiles(None, None, files, frozenset(paths), tuple(budget.findings))


def changed_files(repo: git.Repo, base: str, head: str) -> tuple[ChangedFile, ...]:
    """Files changed between the merge base of ``base`` and ``head``, and ``head`` (what a PR shows)."""
    base_commit, head_commit = resolve(repo, base), resolve(repo, head)
    bases = repo.merge_base(base_commit, head_commit)
    if not bases:
        raise RepositoryError(f"{base!r} and {head!r} have no common history")
    out = repo.git.diff("--name-status", "-z", "-M", "--no-color", bases[0].hexsha, head_commit.hexsha)
    fields = [f for f in out.split("\0") if f != ""]
    changes: list[ChangedFile] = []
    i = 0
    while i < len(fields):
        status = fields[i]
        letter = status[0]
        if letter in ("R", "C"):
            changes.append(ChangedFile(letter, fields[i + 2], fields[i + 1]))
            i += 3
        else:
            changes.append(ChangedFile(letter, fields[i + 1]))
            i += 2
    return tuple(changes)


def committed_after(repo: git.Repo, base: str, head: str, instant: datetime) -> list[str]:
    """The commits a pull request adds (``base..head``) whose committer date is after ``instant``, newest first."""
    listing = repo.git.log("--format=%H %ct", f"{resolve(repo, base).hexsha}..{resolve(repo, head).hexsha}")
    later: list[tuple[int, str]] = []
    for line in listing.splitlines():
        sha, _, stamp = line.partition(" ")
        if stamp.isdigit() and int(stamp) > instant.timestamp():
            later.append((int(stamp), sha))
    return [sha for _, sha in sorted(later, reverse=True)]


def inside(root: Path, candidate: str) -> str:
    """``candidate`` as a repository-relative POSIX path, or ``RepositoryError`` if it leaves ``root``."""
    root = root.resolve()
    full = (root / candidate).resolve() if not Path(candidate).is_absolute() else Path(candidate).resolve()
    try:
        rel = full.relative_to(root)
    except ValueError as exc:
        raise RepositoryError(f"{candidate}: path is outside the repository {root}") from exc
    return PurePosixPath(rel.as_posix()).as_posix()


#: Most first-parent commits ``first_parent_messages`` reads (a merge queue group is far smaller).
MAX_GROUP_COMMITS = 200


def first_parent_messages(repo: git.Repo, base: str, head: str) -> list[str] | None:
    """The messages of the first-parent commits from ``base`` (excluded) to ``head``, oldest first; ``None``
    when there are more than ``MAX_GROUP_COMMITS``."""
    base_commit, head_commit = resolve(repo, base), resolve(repo, head)
    out = repo.git.log(
        "--first-parent",
        "--format=%B%x00",
        f"--max-count={MAX_GROUP_COMMITS + 1}",
        f"{base_commit.hexsha}..{head_commit.hexsha}",
    )
    messages = [m.strip("\n") for m in out.split("\0")][:-1] if out else []
    if len(messages) > MAX_GROUP_COMMITS:
        return None
    return messages[::-1]
