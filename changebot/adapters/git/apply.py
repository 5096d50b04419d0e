"""Trial-applying patches with git, in a throw-away index and object store: never a checkout.

``TrialIndex`` makes a temporary directory holding

* ``index``: a private index (``GIT_INDEX_FILE``) filled from the base tree by ``git read-tree``;
* ``base-index``: a second one that stays at the base tree (to ask "is this already in base?");
* ``objects/``: a private object directory (``GIT_OBJECT_DIRECTORY``) with the repository's own object
  store as an alternate, so the blobs that ``git apply --cached``/``--3way`` write land here, not in the
  repository.

Patches go to ``git apply --cached`` on stdin. The repository's working tree, index, refs and object store
are never written; the temporary directory is removed on exit. Every git call has a timeout, and runs with
the caller's ``GIT_*`` variables removed so that nothing from the environment redirects it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from changebot.core.sequence.check import Attempt, Conflict
from changebot.core.sequence.patches import c_unquote
from changebot.errors import RepositoryError

_PATCH_FAILED = re.compile(r"^error: patch failed: (?P<path>.+):(?P<line>\d+)$")
_PATH_ERROR = re.compile(
    r"^error: (?P<path>.+?): (?P<what>does not exist in index|already exists in index|"
    r"patch does not apply|does not match index|wrong type|has type \d+, expected \d+)$"
)
_CONFLICTED = re.compile(r"^U (?P<path>.+)$")
_OTHER_ERROR = re.compile(r"^(?:error|fatal): (?P<message>.+)$")
#: git could not read what it needed (as opposed to "the patch does not apply"): the run cannot be judged.
_GIT_BROKEN = re.compile(r"promisor remote|Could not read from remote|unable to read|bad object|timed out", re.I)


#: Nothing configured in the repository may run a program while changebot reads it.
_HARDEN = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "diff.external=")


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_LITERAL_PATHSPECS": "1"})
    return env


def alternates_value(path: Path) -> str:
    """``path`` as one entry of ``GIT_ALTERNATE_OBJECT_DIRECTORIES``: git splits that variable on ``:``, so
    the path is written C-quoted (git reads an entry that starts with ``"`` that way), whatever it holds."""
    text = str(path)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


@dataclass(frozen=True)
class Ran:
    """What one git command did."""

    code: int
    stdout: bytes
    stderr: str


def conflicts_from(stderr: str) -> tuple[Conflict, ...]:
    """git apply's complaints as ``Conflict`` values (file, the hunk's old line when git says it)."""
    out: list[Conflict] = []
    failed_at: dict[str, int] = {}
    for raw in stderr.splitlines():
        line = raw.strip()
        match = _PATCH_FAILED.match(line)
        if match:
            failed_at[c_unquote(match.group("path"))] = int(match.group("line"))
            continue
        match = _PATH_ERROR.match(line)
        if match:
            path = c_unquote(match.group("path"))
            out.append(Conflict(path, failed_at.get(path), match.group("what")))
            continue
        match = _CONFLICTED.match(line)
        if match:
            out.append(Conflict(c_unquote(match.group("path")), None, "3-way merge left conflicts"))
            continue
        match = _OTHER_ERROR.match(line)
        if match and not line.startswith("error: patch failed"):
            out.append(Conflict(None, None, match.group("message")))
    return tuple(out)


class TrialIndex:
    """A private index at ``base`` in a temporary directory. Use as a context manager."""

    def __init__(self, root: Path, base: str, timeout: float = 120.0) -> None:
        self.root = root
        self.base = base
        self.timeout = timeout
        self._tmp: Path | None = None
        self._env: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> TrialIndex:
        self._tmp = Path(tempfile.mkdtemp(prefix="changebot-apply-"))
        try:
            objects = self._git_path("objects")
            private = self._tmp / "objects"
            private.mkdir()
            self._env = {
                **_clean_env(),
                "GIT_OBJECT_DIRECTORY": str(private),
                "GIT_ALTERNATE_OBJECT_DIRECTORIES": alternates_value(objects),
                "GIT_INDEX_FILE": str(self._tmp / "index"),
            }
            self._run(["read-tree", self.base])
            shutil.copyfile(self._tmp / "index", self._tmp / "base-index")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the temporary directory."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- plumbing ----------------------------------------------------------------------------------------
    def _git_path(self, name: str) -> Path:
        done = subprocess.run(
            ["git", "-C", str(self.root), "rev-parse", "--git-path", name],
            capture_output=True,
            env=_clean_env(),
            timeout=self.timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RepositoryError(f"{self.root} is not a git repository", done.stderr.decode(errors="replace"))
        path = Path(done.stdout.decode().strip())
        return path if path.is_absolute() else (self.root / path).resolve()

    def _exec(self, args: list[str], stdin: bytes = b"", env: dict[str, str] | None = None) -> Ran:
        try:
            done = subprocess.run(
                ["git", *_HARDEN, "-C", str(self.root), *args],
                input=stdin,
                capture_output=True,
                env=env or self._env,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RepositoryError(
                f"git {args[0]} took longer than {self.timeout:g} s", "raise sequence.timeout_seconds"
            ) from exc
        stderr = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0 and _GIT_BROKEN.search(stderr):
            raise RepositoryError(
                f"git {args[0]} could not read the objects it needs: {stderr.strip().splitlines()[-1]}",
                "in a partial (blobless) clone, fetch the base blobs of the files the series touches first",
            )
        return Ran(done.returncode, done.stdout, stderr)

    def _run(self, args: list[str], stdin: bytes = b"") -> bytes:
        ran = self._exec(args, stdin)
        if ran.code != 0:
            raise RepositoryError(f"git {' '.join(args)} failed: {ran.stderr.strip()}")
        return ran.stdout

    def _index(self, name: str) -> dict[str, str]:
        if self._tmp is None:
            raise RuntimeError("use TrialIndex as a context manager")
        return {**self._env, "GIT_INDEX_FILE": str(self._tmp / name)}

    # -- what the core asks ------------------------------------------------------------------------------
    def apply(self, raw: bytes) -> Attempt:
        """Apply to the trial index; on success the index moves on. Atomic: a failure changes nothing."""
        ran = self._exec(["apply", "--cached", "--apply", "--numstat", "-z", "-"], raw, self._index("index"))
        if ran.code == 0:
            return Attempt(True, paths=_numstat_paths(ran.stdout))
        return Attempt(False, conflicts=conflicts_from(ran.stderr))

    def apply_many(self, raws: list[bytes]) -> Attempt:
        """Apply several patches in one git call, as a series; all or nothing."""
        feed = b"".join(raw if raw.endswith(b"\n") else raw + b"\n" for raw in raws)
        return self.apply(feed)

    def apply_three_way(self, raw: bytes) -> Attempt:
        """Apply with ``--3way`` on a copy of the index, adopted only when the merge is clean."""
        if self._tmp is None:
            raise RuntimeError("use TrialIndex as a context manager")
        shutil.copyfile(self._tmp / "index", self._tmp / "index-3way")
        ran = self._exec(["apply", "--cached", "--3way", "-"], raw, self._index("index-3way"))
        if ran.code == 0:
            (self._tmp / "index-3way").replace(self._tmp / "index")
            return Attempt(True, three_way=True)
        return Attempt(False, conflicts=conflicts_from(ran.stderr), three_way=True)

    def reverse_applies(self, raw: bytes, on_base: bool) -> bool:
        """Would the patch apply in reverse (i.e. is its change already there)?"""
        name = "base-index" if on_base else "index"
        return self._exec(["apply", "--cached", "--check", "--reverse", "-"], raw, self._index(name)).code == 0

    def patch_ids(self, diffs: list[bytes]) -> list[str | None]:
        """``git patch-id --stable`` of each patch (``None`` for one without a diff), in one git call."""
        feed = bytearray()
        for number, diff in enumerate(diffs, start=1):
            feed += f"commit {number:040x}\n".encode()
            start = diff.find(b"\ndiff --git ")
            feed += diff[start + 1 :] if start >= 0 else (diff if diff.startswith(b"diff --git ") else b"")
            if not feed.endswith(b"\n"):
                feed += b"\n"
        ids: list[str | None] = [None] * len(diffs)
        for line in self._run(["patch-id", "--stable"], bytes(feed)).decode().splitlines():
            patch_id, commit = line.split()
            ids[int(commit, 16) - 1] = patch_id
        return ids

    def base_patch_ids(self, paths: list[str], depth: int) -> dict[str, str]:
        """Patch-ids of the last ``depth`` base commits that touch ``paths``, mapped to the commit SHA."""
        if not paths or depth <= 0:
            return {}
        log = self._run(
            [
                "log",
                "-p",
                "-M",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--full-index",
                "--binary",
                "--format=commit %H",
                f"-n{depth}",
                self.base,
                "--",
                *paths,
            ]
        )
        out: dict[str, str] = {}
        for line in self._run(["patch-id", "--stable"], log).decode().splitlines():
            patch_id, commit = line.split()
            out.setdefault(patch_id, commit)
        return out

    def base_symlinks(self) -> frozenset[str]:
        """Paths that are symbolic links in the base tree."""
        listing = self._run(["ls-files", "-s", "-z"])
        out: set[str] = set()
        for entry in listing.split(b"\0"):
            if entry.startswith(b"120000 "):
                out.add(entry.split(b"\t", 1)[1].decode("utf-8", "surrogateescape"))
        return frozenset(out)


def _numstat_paths(out: bytes) -> tuple[str, ...]:
    """Paths from ``git apply --numstat -z`` (a rename prints an empty name, then old and new)."""
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        head = fields[i]
        if not head:
            i += 1
            continue
        parts = head.split("\t")
        if len(parts) == 3 and parts[2] == "" and i + 2 < len(fields):
            paths += [fields[i + 1], fields[i + 2]]
            i += 3
        else:
            paths.append(parts[-1])
            i += 1
    return tuple(paths)


def resolve_commit(root: Path, ref: str, timeout: float = 60.0) -> str:
    """The commit SHA ``ref`` names in the repository at ``root``."""
    if ref.startswith("-"):
        raise RepositoryError(f"ref {ref!r} looks like an option, not a ref")
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        env=_clean_env(),
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RepositoryError(f"ref {ref!r} does not exist in {root}", "fetch it first or check the spelling")
    return done.stdout.decode().strip()
