"""The shell's layering: github/ (shared by the App and the Action) never reaches up into app/ or cli/, and its
modules import one another without cycles (imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "changebot"
GITHUB = sorted((PACKAGE / "github").glob("*.py"))


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_github_imports_neither_app_nor_cli(path: Path) -> None:
    upward = sorted(m for m in imports(path) if m.startswith(("changebot.app", "changebot.cli")))
    assert upward == []


def test_github_modules_import_each_other_without_cycles() -> None:
    names = {p.stem for p in GITHUB if p.stem != "__init__"}
    graph = {
        p.stem: {m.split(".")[2] for m in imports(p) if m.startswith("changebot.github.") and m.split(".")[2] in names}
        for p in GITHUB
        if p.stem != "__init__"
    }

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or reaches(nxt, goal, seen | {nxt}) for nxt in graph[start] - seen)

    assert [name for name in sorted(graph) if reaches(name, name, set())] == []
