"""npm packages the tests read, fetched once at pinned versions into a cache outside the checkout.

Each ``Pinned`` package names the registry's ``sha512`` integrity of its tarball and the few files the tests
read from it. ``fetch`` runs ``npm pack`` (the tarball only: no dependencies, no install scripts), checks the
integrity, and keeps just those files under ``cache_root()/npm/<name>@<version>/`` — a few MB instead of the
hundreds an ``npm install`` leaves. Later runs read the cache and need neither npm nor the registry.

``cache_root()`` is ``$CHANGEBOT_TEST_CACHE``, else ``$XDG_CACHE_HOME/changebot-tests``, else
``~/.cache/changebot-tests``. Without the cache and without npm or the registry, a test that needs a package
skips with that reason (``tests.support.required.require``); ``.ci/run`` turns the skip into a failure.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.required import require

CACHE_ENV = "CHANGEBOT_TEST_CACHE"
DONE = ".complete"


@dataclass(frozen=True)
class Pinned:
    """One npm package at one version: its tarball's integrity and the files (package-relative) tests read."""

    name: str
    version: str
    integrity: str
    keep: tuple[str, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def cache_root() -> Path:
    """Where fetched fixtures live, outside the package tree."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "changebot-tests"


def _where(package: Pinned) -> Path:
    return cache_root() / "npm" / f"{package.name.replace('/', '+')}@{package.version}"


def _integrity(tarball: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode("ascii")


def _pack(package: Pinned, into: Path) -> Path:
    npm = shutil.which("npm")
    require(npm is not None, f"npm is not on PATH: Node.js and npm fetch {package.spec} for these tests")
    assert npm is not None
    done = subprocess.run(
        [npm, "pack", "--silent", "--pack-destination", str(into), package.spec],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=into,
    )
    tarballs = list(into.glob("*.tgz"))
    if done.returncode != 0 or len(tarballs) != 1:
        reason = (done.stderr.strip().splitlines() or ["no tarball"])[-1]
        require(False, f"{package.spec} could not be fetched from the npm registry ({reason})")
    return tarballs[0]


def fetch(package: Pinned) -> Path:
    """The package's kept files, under the directory returned (``<dir>/<kept path>``); fetched on first use."""
    target = _where(package)
    if (target / DONE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        work = Path(tmp)
        tarball = _pack(package, work)
        got = _integrity(tarball)
        if got != package.integrity:
            raise AssertionError(f"{package.spec}: tarball integrity {got} is not the pinned {package.integrity}")
        staged = work / "files"
        with tarfile.open(tarball) as archive:
            for name in package.keep:
                member = archive.getmember(f"package/{name}")
                source = archive.extractfile(member)
                if source is None:
                    raise AssertionError(f"{package.spec}: {name} is not a file in the tarball")
                out = staged / name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(source.read())
        (staged / DONE).write_text(package.integrity + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            staged.rename(target)
        except OSError:
            if not (target / DONE).is_file():  # not another run that finished the same fetch first
                raise
    return target
