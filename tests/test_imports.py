"""One import style for the test helpers: ``tests.support.<helper>``, one module object each, no ``conftest``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.support.repos import REPO_ROOT

TESTS = REPO_ROOT / "tests"


def test_every_test_module_is_loaded_once_under_the_tests_package() -> None:
    outside = {
        name: module.__file__
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
        and Path(str(module.__file__)).resolve().is_relative_to(TESTS)
        and not name.startswith("tests.")
        and name != "tests"
    }
    assert outside == {}, "test modules imported under a second name (a second module object)"


def test_nothing_imports_conftest() -> None:
    importers = [
        path.relative_to(REPO_ROOT).as_posix()
        for folder in ("tests", "benchmarks", "changebot")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if re.search(r"(?m)^\s*(from|import)\s+(tests\.)?conftest\b", path.read_text(encoding="utf-8"))
    ]
    assert importers == []


def test_tests_is_a_package_all_the_way_down() -> None:
    """Every folder holding Python files is a package (data folders such as ``render/golden`` need not be)."""
    folders = {p.parent for p in TESTS.rglob("*.py")}
    assert [p.relative_to(REPO_ROOT).as_posix() for p in sorted(folders) if not (p / "__init__.py").is_file()] == []
