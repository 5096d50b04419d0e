"""The real OPA for the tests: built once from the Go module proxy at a pinned version.

``opa_path()`` runs ``GOBIN=.cache/opa/<version> go install github.com/open-policy-agent/opa@<version>`` the first
time (about a minute cold, nothing after), under a file lock so that parallel test processes build it once. The
same ``go install`` leaves OPA's sources in the module cache, where ``conformance_root()`` finds OPA's own
conformance cases (``v1/test/cases/testdata/v1/<area>/*.yaml``): none are copied into this repository.

``require_opa()`` gives the binary or skips with the reason; in CI (``CHANGEBOT_REQUIRE_FIXTURES=1``) a missing
binary fails instead (``tests.support.required``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from tests.support.required import require

#: The pinned OPA release.
OPA_VERSION = "v1.22.4"
MODULE = "github.com/open-policy-agent/opa"
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "opa" / OPA_VERSION


def _go() -> str | None:
    return shutil.which("go")


@cache
def _build() -> tuple[str | None, str]:
    """(path of the pinned ``opa``, or None; why not)."""
    binary = CACHE / "opa"
    if binary.is_file() and os.access(binary, os.X_OK):
        return str(binary), ""
    go = _go()
    if go is None:
        return None, f"neither go nor a built opa {OPA_VERSION} ({binary}) is available"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE.parent / f".{OPA_VERSION}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.is_file():
            env = {**os.environ, "GOBIN": str(CACHE), "CGO_ENABLED": "0"}
            done = subprocess.run(
                [go, "install", f"{MODULE}@{OPA_VERSION}"], env=env, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                return None, f"go install {MODULE}@{OPA_VERSION} failed: {done.stderr.strip()[-500:]}"
    return str(binary), ""


def opa_path() -> str | None:
    """The pinned ``opa``, built on first use; ``None`` when it cannot be had."""
    return _build()[0]


def require_opa() -> str:
    """The pinned ``opa``; skips locally (fails in CI) when neither it nor Go is available."""
    path, why = _build()
    require(path is not None, f"the real OPA is needed: {why}")
    assert path is not None
    return path


@cache
def conformance_root() -> Path | None:
    """OPA's conformance cases in the Go module cache (present once ``opa_path`` has run ``go install``)."""
    go = _go()
    if go is None or opa_path() is None:
        return None
    modcache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, check=False).stdout.strip()
    root = Path(modcache) / f"{MODULE}@{OPA_VERSION}" / "v1" / "test" / "cases" / "testdata" / "v1"
    if root.is_dir():
        return root
    subprocess.run([go, "mod", "download", f"{MODULE}@{OPA_VERSION}"], capture_output=True, check=False, cwd=CACHE)
    return root if root.is_dir() else None


def require_conformance() -> Path:
    """OPA's conformance cases; skips locally (fails in CI) without them."""
    root = conformance_root()
    require(root is not None, f"OPA's conformance cases ({MODULE}@{OPA_VERSION} in the Go module cache) are needed")
    assert root is not None
    return root
