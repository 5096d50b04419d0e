"""The sandbox child: ``python -I .../adapters/engines/sandbox.py``, started by ``changebot.adapters.engines.worker``.

It imports only the standard library and the engine it needs, never changebot itself, so it can run by path.

It reads one JSON request line on stdin and answers on stdout, one JSON line per item (see ``worker`` for the
protocol). It does nothing else: no files, no network, no environment beyond what the parent passes. Two
operations:

``js``
    Each item is a rule ``{"id", "src"}``: its ``if`` expression runs in a *fresh* QuickJS context with a time
    limit, a memory limit and a stack limit, whose only non-standard global is ``payload`` (parsed from JSON
    inside the context, so no host object is reachable). QuickJS has no ``require``, ``import`` of files,
    ``std``/``os`` modules or ``console`` unless a host adds them, and this one adds none.
``rego``
    The header carries ``modules`` ``[{"path", "source"}]`` and ``input``; each item is a query such as
    ``data.changebot.bundles``. Every module is first compiled alone (OPA v1 syntax, then v0 syntax for files
    written with ``import future.keywords``); one that compiles in neither is reported as a note and left
    out, and the rest still run. Results are the query's value as JSON, or ``undefined``.

The parent sets an address-space limit (``CHANGEBOT_SANDBOX_AS``) as a backstop for native allocations.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

#: The reply channel: a private copy of the original stdout. File descriptor 1 itself is pointed at /dev/null in
#: ``main`` so that nothing an engine prints (a Rego ``print``, a native library's diagnostics) can corrupt it.
_OUT: list[Any] = [sys.stdout.buffer]


def _emit(message: Mapping[str, Any]) -> None:
    _OUT[0].write(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
    _OUT[0].flush()


def _js_kind(text: str) -> str:
    if "interrupted" in text:
        return "timeout"
    if "out of memory" in text:
        return "memory"
    return "error"


def _run_js(request: Mapping[str, Any]) -> None:
    # The C extension itself: the ``quickjs`` wrapper package adds a thread pool we do not use (and 50 ms).
    import _quickjs as quickjs  # noqa: PLC0415 - imported only in the child that needs it

    _emit({"ready": True})
    payload_json = json.dumps(request.get("payload"))
    time_limit = float(request.get("time_limit", 0.05))
    memory_limit = int(request.get("memory_limit", 32 * 1024 * 1024))
    offset = int(request.get("offset", 0))
    for n, item in enumerate(request["items"]):
        index = offset + n
        ctx = quickjs.Context()
        ctx.set_memory_limit(memory_limit)
        ctx.set_max_stack_size(512 * 1024)
        ctx.set("__changebot_payload", payload_json)
        ctx.eval("globalThis.payload = JSON.parse(__changebot_payload); delete globalThis.__changebot_payload;")
        ctx.set_time_limit(time_limit)
        try:
            value = ctx.eval(str(item["src"]))
        except quickjs.StackOverflow as exc:
            _emit({"i": index, "kind": "error", "message": _first_line(str(exc))})
            continue
        except quickjs.JSException as exc:
            text = _first_line(str(exc))
            _emit({"i": index, "kind": _js_kind(text), "message": text})
            continue
        if isinstance(value, bool):
            _emit({"i": index, "kind": "ok", "value": value})
        else:
            _emit({"i": index, "kind": "error", "message": f"returned {_js_type(value)}, expected true or false"})


def _js_type(value: object) -> str:
    if value is None:
        return "null or undefined"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    return "an object"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def _rego_message(exc: BaseException) -> str:
    text = str(exc).split("Stack backtrace:")[0].strip()
    return "\n".join(line.rstrip() for line in text.splitlines())


#: sprintf verbs regorus renders as Go does: plain ``%v %s %d %x %X %b %c``, ``%5d``/``%05d`` and ``%.2f``.
#: Every other verb, flag, width or precision is refused or rendered differently (``%q``, ``%T``, ``%+v``,
#: ``%-5s``, ``%e``, ``%o``, ``%5.2f``, ``%[1]v``...).
_SAFE_VERB = re.compile(r"%(?:%|[vsdxXbc]|0?\d+d|\.\d+f)")
_GO_VERB = re.compile(r"%[-+# 0]*(?:\*|\d+)?(?:\.(?:\*|\d*))?(?:\[\d+\])?(?:[A-Za-z%]|$)")
_FUNCTION_HEAD = re.compile(r"^[ \t]*(?:default[ \t]+)?([A-Za-z_][\w.]*)[ \t]*\(", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+data\.([\w.]+)(?:[ \t]+as[ \t]+(\w+))?", re.MULTILINE)
_KNOWN: dict[str, bool] = {}


def _has_builtin(regorus: Any, name: str) -> bool:
    """Whether regorus knows the function ``name``: a one-line probe policy that calls it."""
    if name not in _KNOWN:
        probe = regorus.Engine()
        try:
            probe.add_policy("probe.rego", f"package changebot_probe\n\nx := {name}(1)\n")
            probe.eval_query_as_json("data.changebot_probe.x")
        except Exception as exc:
            _KNOWN[name] = "could not find function" not in str(exc)
        else:
            _KNOWN[name] = True
    return _KNOWN[name]


def _function_name(node: Any) -> str | None:
    if not isinstance(node, dict):
        return None
    if "Var" in node:
        return str(node["Var"].get("value"))
    if "RefDot" in node:
        head = _function_name(node["RefDot"].get("refr"))
        field = node["RefDot"].get("field")
        return f"{head}.{field[1]}" if head and isinstance(field, list) and len(field) > 1 else None
    return None


def _calls(node: Any) -> list[tuple[str, int, Any]]:
    """(function name, line, first argument node) of every call in an AST (regorus' JSON)."""
    out: list[tuple[str, int, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            call = item.get("Call")
            if isinstance(call, dict):
                name = _function_name(call.get("fcn"))
                params = call.get("params") or [None]
                if name:
                    out.append((name, int(call.get("span", {}).get("line", 0)), params[0]))
            stack.extend(item.values())
    return out


def unsupported(regorus: Any, engine: Any, path: str, sources: list[str]) -> list[str]:
    """Every call in the module just added to ``engine`` that the embedded engine would get wrong: a builtin it
    lacks or a sprintf verb it refuses or renders unlike OPA. Found at load time, before any evaluation,
    whether or not the branch that makes the call ever runs. ``sources`` are all modules (their functions and
    imports are not builtins)."""
    defined = {m.group(1).rsplit(".", 1)[-1] for src in sources for m in _FUNCTION_HEAD.finditer(src)}
    aliases = {m.group(2) or m.group(1).rsplit(".", 1)[-1] for src in sources for m in _IMPORT.finditer(src)}
    hint = "set policy.engine: opa to run it with OPA itself"
    found: list[tuple[int, str]] = []
    for policy in json.loads(engine.get_ast_as_json()):
        if policy.get("source", {}).get("file") != path:
            continue
        for name, line, first in _calls(policy.get("ast")):
            head = name.split(".", 1)[0]
            if name.rsplit(".", 1)[-1] in defined or head in ("data", "input") or head in aliases:
                continue
            if not _has_builtin(regorus, name):
                found.append((line, f"calls {name}, which the embedded engine (regorus) does not have: {hint}"))
            elif name == "sprintf" and isinstance(first, dict) and "String" in first:
                text = str(first["String"].get("value", ""))
                for verb in _GO_VERB.findall(text):
                    if not _SAFE_VERB.fullmatch(verb):
                        found.append((line, f"sprintf verb {verb} is refused or rendered unlike OPA: {hint}"))
    return [f"{message} (at {path}:{line})" for line, message in sorted(found)]


def _compile(regorus: Any, path: str, source: str) -> tuple[bool | None, str, list[str]]:
    """(use v0 syntax?, error, packages) for one module compiled on its own; ``None`` when it does not compile."""
    errors: list[str] = []
    for v0 in (False, True):
        engine = regorus.Engine()
        engine.set_rego_v0(v0)
        try:
            engine.add_policy(path, source)
        except Exception as exc:
            errors.append(_rego_message(exc))
            continue
        problems = unsupported(regorus, engine, path, _SOURCES)
        if problems:
            return None, "; ".join(problems), []
        return v0, "", [p.removeprefix("data.") for p in engine.get_packages()]
    legacy = "future.keywords" in source or ("rego.v1" not in source and " if " not in source)
    return None, errors[1] if legacy else errors[0], []


#: The sources of every module of the request (set by ``_run_rego``), so that calls to their functions are
#: not mistaken for builtins.
_SOURCES: list[str] = []


def _run_rego(request: Mapping[str, Any]) -> None:
    import regorus  # noqa: PLC0415 - imported only in the child that needs it

    _emit({"ready": True})
    engine = regorus.Engine()
    _SOURCES[:] = [str(m["source"]) for m in request.get("modules", [])]
    for module in request.get("modules", []):
        path, source = str(module["path"]), str(module["source"])
        v0, message, packages = _compile(regorus, path, source)
        if v0 is None:
            _emit({"note": "compile-error", "path": path, "message": message})
            continue
        engine.set_rego_v0(v0)
        try:
            engine.add_policy(path, source)
        except Exception as exc:
            _emit({"note": "compile-error", "path": path, "message": _rego_message(exc)})
            continue
        _emit({"note": "module", "path": path, "packages": packages, "v0": v0})
    engine.set_input_json(json.dumps(request.get("input")))
    offset = int(request.get("offset", 0))
    rules = [str(r) for r in request.get("rules", [])]
    for n, query in enumerate(request["items"]):
        index = offset + n
        try:
            _emit({"i": index, **_query(engine, str(query))})
        except Exception as exc:  # the engine raises plain RuntimeError for every failure
            message = _rego_message(exc)
            if "multiple outputs" not in message or not rules:
                _emit({"i": index, "kind": "error", "message": message})
                continue
            # regorus 0.9 wrongly reports a conflict when a package's document is built from a complete rule
            # defined in two files (``default allow := false`` in one, ``allow if ...`` in another); the rules
            # themselves evaluate correctly, so the document is assembled from the rules the gate reads.
            document: dict[str, Any] = {}
            try:
                for rule in rules:
                    answer = _query(engine, f"{query}.{rule}")
                    if answer["kind"] == "ok":
                        document[rule] = answer["value"]
            except Exception as again:
                _emit({"i": index, "kind": "error", "message": _rego_message(again)})
                continue
            _emit({"i": index, "kind": "ok", "value": document})


def _query(engine: Any, query: str) -> dict[str, Any]:
    """``{"kind": "ok", "value": ...}`` or ``{"kind": "undefined"}`` for one query; raises on engine errors."""
    result = json.loads(engine.eval_query_as_json(query))
    rows = result.get("result") or []
    if not rows or not rows[0].get("expressions"):
        return {"kind": "undefined"}
    return {"kind": "ok", "value": rows[0]["expressions"][0].get("value")}


def main() -> None:
    """Read one request, answer it, exit."""
    limit = os.environ.get("CHANGEBOT_SANDBOX_AS")
    if limit:
        import resource  # noqa: PLC0415 - imported only in the child that needs it

        resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
    _OUT[0] = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    request = json.loads(sys.stdin.buffer.readline())
    if request.get("op") == "js":
        _run_js(request)
    elif request.get("op") == "rego":
        _run_rego(request)
    _emit({"done": True})


if __name__ == "__main__":
    main()
