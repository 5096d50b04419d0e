"""Repository content for the App: one cached bare, blobless clone per repository.

The first job for a repository runs ``git clone --bare --filter=blob:none`` from the payload's ``clone_url``
into the cache directory; later jobs reuse it. For each pull request the base and head commits are fetched
(by SHA, falling back to ``refs/pull/N/head``, which is where a fork's head lives in the base repository), then
the blobs changebot will read are fetched in one request: the governed files of both sides
(``core.layout.READ``) and the files added or deleted by the PR (git's rename detection compares them). After
``prepare`` the service reads the clone with no network access at all.

The installation token travels in an ``http.extraHeader`` set through ``GIT_CONFIG_*`` environment variables
of the git process: never in the URL, the clone's config, argv or logs. ``GIT_TERMINAL_PROMPT=0`` makes a
missing or refused credential an error instead of a prompt, and ``GIT_ALLOW_PROTOCOL`` limits the transports
to ``https`` (tests allow ``file`` for a local bare repository).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from changebot.core.documents import layout
from changebot.errors import RepositoryError

log = logging.getLogger("changebot.clones")

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_BRANCH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}$")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
GIT_TIMEOUT = 300
MAX_PREFETCH = 5000
#: The most bytes of a pull request's patch series read into memory to find the base files it touches (each
#: patch at most this too). Larger series are not read here; their evaluation fails closed instead.
MAX_PATCH_READ_BYTES = 64 * 1024 * 1024


class CloneAuthError(RepositoryError):
    """The git server refused the token (it may have expired or been revoked: get a new one and try again)."""


_AUTH_FAILED = re.compile(r"Authentication failed|could not read Username|\b401\b|\b403\b", re.IGNORECASE)


def git_hosts(api_url: str) -> tuple[str, ...]:
    """The hosts clone URLs may name for the GitHub at ``api_url`` (``github.com`` for ``api.github.com``)."""
    host = (urlsplit(api_url).hostname or "").lower()
    return ("github.com",) if host == "api.github.com" else (host,)


def _auth_env(token: str | None, protocols: Sequence[str]) -> dict[str, str]:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GIT_ALLOW_PROTOCOL": ":".join(protocols),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
        env.update(
            {
                "GIT_CONFIG_COUNT": "2",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
                "GIT_CONFIG_KEY_1": "credential.helper",
                "GIT_CONFIG_VALUE_1": "",
            }
        )
    return env


#: Most seconds to wait for another process's update of the same clone before giving up.
LOCK_SECONDS = 900.0


def lock_path(clone: Path) -> Path:
    """The lock file beside a clone (``owner__name.git.lock``): every update of the clone holds it."""
    return clone.with_name(clone.name + ".lock")


@contextlib.contextmanager
def _process_lock(clone: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the clone's lock file, so servers sharing one clone directory take turns
    (threads of one server already do, through ``CloneCache._lock``). Bounded: ``LOCK_SECONDS``."""
    clone.parent.mkdir(parents=True, exist_ok=True)
    with lock_path(clone).open("a+b") as handle:
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RepositoryError(
                        f"{clone.name} stayed locked by another process for {LOCK_SECONDS:g} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class CloneCache:
    """Bare, blobless clones under ``root``, one per repository, safe to use from several threads."""

    def __init__(self, root: Path, protocols: Sequence[str] = ("https",), hosts: Sequence[str] | None = None) -> None:
        self.root = root
        self.protocols = tuple(protocols)
        self.hosts = None if hosts is None else frozenset(h.lower() for h in hosts)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path(self, repo: str) -> Path:
        """Where ``owner/name`` is cached; refuses names that could leave the cache directory."""
        parts = repo.split("/")
        if len(parts) != 2 or not all(_NAME.match(p) and not p.startswith(".") for p in parts):
            raise RepositoryError(f"repository name {repo!r} is not of the form owner/name")
        return self.root / f"{parts[0]}__{parts[1]}.git"

    def _lock(self, repo: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(repo.lower(), threading.Lock())

    def _git(self, cwd: Path | None, args: Sequence[str], token: str | None, stdin: str | None = None) -> str:
        command = ["git", *([] if cwd is None else ["-C", str(cwd)]), *args]
        try:
            done = subprocess.run(
                command,
                input=stdin,
                capture_output=True,
                text=True,
                env=_auth_env(token, self.protocols),
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RepositoryError(f"git {args[0]} took longer than {GIT_TIMEOUT} s") from exc
        if done.returncode != 0:
            message = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
            error = CloneAuthError if token and _AUTH_FAILED.search(done.stderr) else RepositoryError
            raise error(f"git {args[0]} failed: {self._redact(message[0], token)}")
        return done.stdout

    @staticmethod
    def _redact(text: str, token: str | None) -> str:
        return text.replace(token, "***") if token else text

    def prepare(
        self, repo: str, clone_url: str, token: str | None, base_sha: str, head_sha: str, number: int | None = None
    ) -> Path:
        """The clone of ``repo`` holding ``base_sha``, ``head_sha`` and the blobs changebot reads."""
        for sha in (base_sha, head_sha):
            if not _SHA.match(sha):
                raise RepositoryError(f"{sha!r} is not a full commit SHA")
        self._check_url(clone_url)
        path = self.path(repo)
        with self._lock(repo), _process_lock(path):
            if not (path / "HEAD").is_file():
                self._clone(clone_url, token, path)
            self._fetch_commits(path, token, base_sha, head_sha, number)
            self._prefetch_blobs(path, token, base_sha, head_sha)
        return path

    def prepare_branch(self, repo: str, clone_url: str, token: str | None, branch: str) -> tuple[Path, str]:
        """The clone of ``repo`` with ``branch``'s newest commit and its governed blobs; ``(path, sha)``.

        For reading governance at a branch head (the App's scheduled audit reads the calendar of the default
        branch): the branch is fetched into ``refs/heads/<branch>``, then the blobs of ``core.layout.READ``.
        """
        if not _BRANCH.match(branch) or ".." in branch or branch.endswith((".lock", "/", ".")):
            raise RepositoryError(f"branch name {branch!r} is not one changebot fetches")
        self._check_url(clone_url)
        path = self.path(repo)
        with self._lock(repo), _process_lock(path):
            if not (path / "HEAD").is_file():
                self._clone(clone_url, token, path)
            ref = f"refs/heads/{branch}"
            self._git(path, ["fetch", "--quiet", "--no-tags", "--filter=blob:none", "origin", f"+{ref}:{ref}"], token)
            sha = self._git(path, ["rev-parse", "--verify", f"{ref}^{{commit}}"], None).strip()
            tree = self._tree(path, sha)
            self._fetch_missing(path, token, {oid for name, oid in tree.items() if layout.matches(name, layout.READ)})
        return path, sha

    def _check_url(self, clone_url: str) -> None:
        parsed = urlsplit(clone_url)
        if parsed.username or parsed.password or "@" in parsed.netloc:
            raise RepositoryError("clone_url must not carry credentials")
        if self.hosts is not None and (parsed.hostname or "").lower() not in self.hosts:
            raise RepositoryError(
                f"clone_url host {parsed.hostname!r} is not the GitHub this App talks to "
                f"({', '.join(sorted(self.hosts))}): the token is not sent there"
            )

    def _clone(self, clone_url: str, token: str | None, path: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=self.root))
        try:
            self._git(
                None,
                ["clone", "--quiet", "--bare", "--filter=blob:none", "--no-tags", clone_url, str(tmp / "r")],
                token,
            )
            if path.exists():
                shutil.rmtree(path)
            (tmp / "r").rename(path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("cloned %s (bare, blobless)", path.name)

    def _has_commit(self, path: Path, sha: str) -> bool:
        try:
            self._git(path, ["cat-file", "-e", f"{sha}^{{commit}}"], None)
        except RepositoryError:
            return False
        return True

    def _fetch_commits(self, path: Path, token: str | None, base_sha: str, head_sha: str, number: int | None) -> None:
        missing = [sha for sha in dict.fromkeys((base_sha, head_sha)) if not self._has_commit(path, sha)]
        if not missing:
            return
        fetch = ["fetch", "--quiet", "--no-tags", "--filter=blob:none", "origin"]
        try:
            self._git(path, [*fetch, *missing], token)
        except RepositoryError as exc:
            log.info("fetch by SHA refused (%s); fetching branches and the pull request ref", exc)
            refspecs = ["+refs/heads/*:refs/heads/*"]
            if number is not None:
                refspecs.append(f"+refs/pull/{int(number)}/head:refs/changebot/pull/{int(number)}")
            self._git(path, [*fetch, *refspecs], token)
        still = [sha for sha in missing if not self._has_commit(path, sha)]
        if still:
            raise RepositoryError(
                f"commit {still[0]} is not in {path.name} after fetching", "was the branch force-pushed?"
            )

    def _tree(self, path: Path, sha: str) -> dict[str, str]:
        """``{path: blob oid}`` of the regular files at ``sha`` (no blob is fetched)."""
        listing = self._git(
            path, ["ls-tree", "-r", "-z", "--full-tree", "--format=%(objectmode) %(objectname) %(path)", sha], None
        )
        out: dict[str, str] = {}
        for entry in listing.split("\0"):
            if entry:
                mode, oid, name = entry.split(" ", 2)
                if mode in ("100644", "100755"):
                    out[name] = oid
        return out

    def _prefetch_blobs(self, path: Path, token: str | None, base_sha: str, head_sha: str) -> None:
        base, head = self._tree(path, base_sha), self._tree(path, head_sha)
        oids = {oid for tree in (base, head) for name, oid in tree.items() if layout.matches(name, layout.READ)}
        merge_base = self._git(path, ["merge-base", base_sha, head_sha], None).strip()
        if merge_base:
            raw = self._git(path, ["diff", "--raw", "-z", "--no-renames", "--no-abbrev", merge_base, head_sha], None)
            fields = raw.split("\0")
            for meta, _name in zip(fields[0::2], fields[1::2], strict=False):
                parts = meta.split()
                if len(parts) == 5 and parts[4] in ("A", "D"):
                    oids.add(parts[3] if parts[4] == "A" else parts[2])
        self._fetch_missing(path, token, oids)
        # A patch series is trial-applied to the base: the base blobs of the files it touches are needed too,
        # and which files those are is known only once the patches themselves are here.
        patches = {name: oid for name, oid in head.items() if layout.matches(name, (layout.PATCHES,))}
        if patches:
            from changebot.core.sequence.series import touched_paths  # noqa: PLC0415 - only for PRs with a series

            sizes = self._sizes(path, sorted(set(patches.values())))
            contents: dict[str, bytes] = {}
            total = 0
            for name, oid in sorted(patches.items()):
                total += sizes.get(oid, MAX_PATCH_READ_BYTES + 1)
                if total > MAX_PATCH_READ_BYTES:
                    log.warning("patch series in %s larger than %d bytes: not read", path.name, MAX_PATCH_READ_BYTES)
                    break
                contents[name] = self._blob(path, oid)
            self._fetch_missing(path, token, {base[p] for p in touched_paths(contents) if p in base})

    def _sizes(self, path: Path, oids: Sequence[str]) -> dict[str, int]:
        """``{oid: size}`` of blobs present in the clone (missing ones are left out, never fetched)."""
        present = sorted(self._present(path, oids))
        if not present:
            return {}
        out = self._git(
            path, ["cat-file", "--batch-check=%(objectname) %(objectsize)"], None, "\n".join(present) + "\n"
        )
        return {oid: int(size) for oid, size in (line.split(" ", 1) for line in out.splitlines())}

    def _blob(self, path: Path, oid: str) -> bytes:
        """A blob that is present in the clone, as bytes (patches need not be UTF-8)."""
        done = subprocess.run(
            ["git", "-C", str(path), "cat-file", "blob", oid], capture_output=True, timeout=GIT_TIMEOUT, check=False
        )
        if done.returncode != 0:
            raise RepositoryError(f"git cat-file failed for {oid}: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def _fetch_missing(self, path: Path, token: str | None, oids: set[str]) -> None:
        oids.discard("0" * 40)
        have = self._present(path, sorted(oids))
        wanted = sorted(oids - have)[:MAX_PREFETCH]
        if wanted:
            self._git(
                path,
                [
                    "-c",
                    "fetch.negotiationAlgorithm=noop",
                    "fetch",
                    "--quiet",
                    "--no-tags",
                    "--no-write-fetch-head",
                    "--filter=blob:none",
                    "--stdin",
                    "origin",
                ],
                token,
                stdin="\n".join(wanted) + "\n",
            )
            log.info("fetched %d blobs into %s", len(wanted), path.name)

    def _present(self, path: Path, oids: Sequence[str]) -> set[str]:
        """Which of ``oids`` are already in the clone, without fetching the others.

        git 2.39 has no switch to stop ``cat-file`` from fetching a missing object in a partial clone, so the
        local objects are listed instead (``--batch-all-objects`` never fetches).
        """
        if not oids:
            return set()
        out = self._git(
            path,
            ["cat-file", "--batch-check=%(objectname)", "--batch-all-objects", "--unordered"],
            None,
        )
        present = {line.split(" ", 1)[0] for line in out.splitlines()}
        return {oid for oid in oids if oid in present}
