"""``requirements/action.txt``, the lock the Action installs with ``--require-hashes``, stays current.

It must pin, with hashes, exactly the packages changebot needs (its ``pyproject.toml`` dependencies and what
they depend on, plus the build backend), at versions ``pyproject.toml`` allows. When a test here fails,
regenerate the lock as CONTRIBUTING.md ("Releasing") says.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.repos import REPO_ROOT

LOCK = REPO_ROOT / "requirements" / "action.txt"
BUILD = REPO_ROOT / "requirements" / "build.in"
REGENERATE = "regenerate requirements/action.txt (CONTRIBUTING.md, 'Releasing')"


def locked() -> dict[str, tuple[Version, int]]:
    """Package -> (pinned version, number of hashes)."""
    text = LOCK.read_text(encoding="utf-8")
    out: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            out[canonicalize_name(match.group(1))] = (Version(match.group(2)), block.count("--hash=sha256:"))
    return out


def direct() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [line.strip() for line in BUILD.read_text(encoding="utf-8").splitlines()]
    build = [line for line in lines if line and not line.startswith("#")]
    return [Requirement(r) for r in [*project["dependencies"], *build]]


def closure(roots: list[Requirement]) -> set[str]:
    """Every distribution ``roots`` need in this environment (markers evaluated here, with the extras a
    requirement names followed: ``psycopg[binary]`` needs ``psycopg-binary``)."""
    env = default_environment()
    seen: set[tuple[str, str]] = set()
    todo = [(r, "") for r in roots if r.marker is None or r.marker.evaluate({**env, "extra": ""})]
    while todo:
        req, _ = todo.pop()
        name = canonicalize_name(req.name)
        for extra in ("", *sorted(req.extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for raw in metadata.requires(name) or []:
                dep = Requirement(raw)
                if dep.marker is None or dep.marker.evaluate({**env, "extra": extra}):
                    todo.append((dep, extra))
    return {name for name, _ in seen}


def test_every_locked_package_is_pinned_with_its_hashes() -> None:
    lock = locked()
    assert len(lock) > 20
    assert [name for name, (_, hashes) in lock.items() if hashes == 0] == []
    assert "--find-links" not in LOCK.read_text(encoding="utf-8")  # nothing machine-local


def test_the_lock_pins_every_dependency_at_a_version_pyproject_allows() -> None:
    lock = locked()
    for req in direct():
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is not in the lock: {REGENERATE}"
        assert req.specifier.contains(lock[name][0], prereleases=True), f"{req} excludes {lock[name][0]}: {REGENERATE}"


def test_the_lock_holds_exactly_what_changebot_needs() -> None:
    needed = closure(direct())
    lock = set(locked())
    assert sorted(needed - lock) == [], REGENERATE
    assert sorted(lock - needed) == [], REGENERATE
