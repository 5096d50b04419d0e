"""The renderers import each other without cycles: shared Markdown helpers live in ``render.md``."""

from __future__ import annotations

import ast
from pathlib import Path

import changebot.render

RENDER = Path(changebot.render.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every ``changebot.render`` module ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("changebot.render."):
            found.add(node.module.removeprefix("changebot.render."))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("changebot.render.") for a in node.names if a.name.startswith("changebot.render.")
            )
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module names), or ``None``."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for target in sorted(graph.get(name, ())):
            found = visit(target, [*path, name])
            if found:
                return found
        done.add(name)
        return None

    return next((c for c in (visit(n, []) for n in sorted(graph)) if c), None)


def test_no_import_cycle_in_render() -> None:
    graph = {p.stem: _imports(p) for p in RENDER.glob("*.py")}
    assert _cycle(graph) is None
    assert "markdown" not in graph["sequence"]
