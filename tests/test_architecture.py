"""The functional core stays pure: no I/O modules, no environment, no clock in core/ or render/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "changebot"
FORBIDDEN_MODULES = {
    "git",
    "github",
    "httpx",
    "subprocess",
    "requests",
    "socket",
    "os",
    "shutil",
    "urllib",
    "http",
    "asyncio",
    "multiprocessing",
    "threading",
    "tempfile",
    "time",
}
PURE = sorted((PACKAGE / "core").rglob("*.py")) + sorted((PACKAGE / "render").rglob("*.py"))


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_pure_modules_do_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            called = ast.unparse(node.func)
            assert called not in {"datetime.now", "datetime.utcnow", "date.today", "time.time", "open"}, (
                f"{path.name} reads the clock or a file: {called}"
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"open", "eval", "exec", "input"}, f"{path.name} calls {node.func.id}"


def test_there_are_pure_modules_to_check() -> None:
    assert len(PURE) >= 5
