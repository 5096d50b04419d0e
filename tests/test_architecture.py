"""The functional core stays pure, and the package has no import cycles.

``core/`` and ``render/`` import nothing above them (checked on full module names, so
``from changebot.adapters.git import reader`` is caught, not just ``import git``), no I/O module, and do not
read the clock, a file or the environment. The layer contracts themselves are in pyproject.toml
(``lint-imports``); the cycle test below also catches a package that imports a module that imports it back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "changebot"
IO_MODULES = {
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
_SHELL = ("changebot.adapters", "changebot.usecases", "changebot.github", "changebot.app", "changebot.cli")
ABOVE = {"core": ("changebot.render", *_SHELL), "render": _SHELL}
CLOCK = ("datetime.now", "datetime.utcnow", "date.today", "time.time", "time.monotonic")
BUILTINS = {"open", "eval", "exec", "input"}
PURE = sorted((PACKAGE / "core").rglob("*.py")) + sorted((PACKAGE / "render").rglob("*.py"))


def module_name(path: Path) -> str:
    """``changebot/core/freeze/gate.py`` -> ``changebot.core.freeze.gate`` (a package is its ``__init__``)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Every module name an import in ``tree`` may bind, relative imports resolved against ``module``."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = [*here[: len(here) - node.level + 1]] if node.level else []
            base = ".".join([*parts, *([node.module] if node.module else [])])
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """What makes ``source`` (the text of ``module``, in ``core`` or ``render``) impure, one line each."""
    layer = module.split(".")[1]
    tree = ast.parse(source)
    found: list[str] = []
    for name in imported_names(tree, module, is_package):
        if name.split(".")[0] in IO_MODULES:
            found.append(f"{module} imports {name} (I/O)")
        above = next((a for a in ABOVE[layer] if name == a or name.startswith(a + ".")), None)
        if above is not None:
            found.append(f"{module} imports {name}: {layer} may not import {above}")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        if called in CLOCK or called.endswith(tuple("." + c for c in CLOCK)):
            found.append(f"{module} reads the clock: {called}()")
        if isinstance(node.func, ast.Name) and node.func.id in BUILTINS:
            found.append(f"{module} calls {called}()")
    return found


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_pure_modules_do_no_io_and_import_nothing_above_them(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert violations(source, module_name(path), path.name == "__init__.py") == []


def test_there_are_pure_modules_to_check() -> None:
    assert len(PURE) >= 5


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("changebot.core.freeze.gate", "from changebot.adapters.git import reader"),
        ("changebot.core.freeze.gate", "import changebot.adapters.git.reader"),
        ("changebot.core.freeze.gate", "from changebot import adapters"),
        ("changebot.core.freeze.gate", "from ...adapters.git import reader"),
        ("changebot.core.context", "from .. import usecases"),
        ("changebot.core.context", "from changebot.render.markdown import table"),
        ("changebot.core.context", "from changebot.cli import main"),
        ("changebot.render.text", "from changebot.github.publish import publish"),
        ("changebot.render.text", "from changebot.adapters import ledger"),
        ("changebot.core.context", "import subprocess"),
        ("changebot.core.context", "from os import environ"),
        ("changebot.core.context", "from datetime import datetime\nNOW = datetime.now()"),
        ("changebot.core.context", "import datetime\nNOW = datetime.datetime.now()"),
        ("changebot.core.context", "TEXT = open('x').read()"),
    ],
)
def test_the_checker_catches(module: str, source: str) -> None:
    assert violations(source, module) != []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("changebot.core.freeze.gate", "from changebot.core.context import Context\nfrom changebot.model import Plan"),
        ("changebot.core.freeze.gate", "from . import windows\nfrom ..documents import layout"),
        ("changebot.render.text", "from changebot.core.verdict import verdict\nfrom changebot import __version__"),
        ("changebot.core.context", "from datetime import datetime\nWHEN = datetime.fromisoformat('2026-01-01')"),
    ],
)
def test_the_checker_lets_inward_imports_through(module: str, source: str) -> None:
    assert violations(source, module) == []


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component: list[str] = []
            while not component or component[-1] != module:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def _path(graph: grimp.ImportGraph, component: list[str]) -> str:
    """One import chain round the cycle, for the failure message."""
    first, second = component[0], next(m for m in component[1:] if graph.find_shortest_chain(component[0], m))
    there = graph.find_shortest_chain(first, second) or (first, second)
    back = graph.find_shortest_chain(second, first) or (second, first)
    return " -> ".join([*there, *back[1:]])


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("changebot", cache_dir=None)
    cycles = _cycles(graph)
    assert cycles == [], "import cycles:\n" + "\n".join(_path(graph, c) for c in cycles)


def test_the_cycle_finder_reports_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
    assert _path(graph, ["p.a", "p.b", "p.c"]) == "p.a -> p.b -> p.c -> p.a"
