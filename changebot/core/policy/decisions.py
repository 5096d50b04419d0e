"""Policy answers -> findings: conftest's conventions and the ``decision`` object. Pure.

A package's document (what ``data.<package>`` evaluates to) is read like conftest reads it: ``deny``,
``violation`` and ``deny_reasons`` fail, ``warn`` warns; a ``decision`` object ``{allow, reasons, warnings}`` is
understood too, and a lone boolean ``allow``/``allow_merge`` as a last resort. A message is a string or an
object ``{msg, path, line}`` / ``{msg, path, key}``. Undefined, empty and wrongly typed answers fail closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from changebot.model import Finding, error, warning

FAIL_KEYS = ("deny", "violation", "deny_reasons")
WARN_KEYS = ("warn",)
#: Every rule name the gate reads from a package.
GATE_RULES = (*FAIL_KEYS, *WARN_KEYS, "decision", "allow", "allow_merge")


@dataclass(frozen=True)
class Module:
    """One Rego file: where it came from, its text, and whether its findings fail (``enforce``)."""

    path: str
    source: str
    enforce: bool = True
    origin: str = "repository"


@dataclass(frozen=True)
class QueryResult:
    """The answer to one ``data.<package>`` query: ``kind`` is ``ok``, ``undefined``, ``error``, ``timeout``,
    ``crashed`` or ``unavailable`` (the engine could not be reached); ``code`` refines errors."""

    kind: str
    value: Any = None
    message: str = ""
    code: str = ""


@dataclass(frozen=True)
class Evaluation:
    """One answer per package, in order, plus modules that did not compile (``{path: message}``)."""

    results: tuple[QueryResult, ...]
    compile_errors: Mapping[str, str] = field(default_factory=dict)


_SEGMENT = re.compile(r'\s*(?:\.?\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*("(?:[^"\\]|\\.)*")\s*\])')
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def package_segments(ref: str) -> tuple[str, ...]:
    """The path of a package reference: ``a.b`` and ``a["b"]`` are ``("a", "b")``; ``a["b-c"]`` is
    ``("a", "b-c")``. Text that is not a reference ends the path where it stops parsing."""
    segments: list[str] = []
    at = 0
    while at < len(ref):
        found = _SEGMENT.match(ref, at)
        if found is None or found.end() == at:
            break
        segments.append(found.group(1) if found.group(1) is not None else str(json.loads(found.group(2))))
        at = found.end()
    return tuple(segments)


def package_ref(segments: tuple[str, ...]) -> str:
    """A package path written back as a reference: identifiers dotted, other keys bracketed and quoted."""
    out = ""
    for n, segment in enumerate(segments):
        if _IDENTIFIER.fullmatch(segment):
            out += segment if n == 0 else f".{segment}"
        else:
            out += f"[{json.dumps(segment)}]"
    return out


def message_line(message: str) -> int | None:
    """The line an engine's message names: regorus' ``--> file:line:col`` or the ``(at file:line)`` that the
    ``opa`` engine appends."""
    found = re.search(r"-->\s*[^:\n]+:(\d+):\d+", message) or re.search(r"\(at [^:\n]+:(\d+)\)", message)
    return int(found.group(1)) if found else None


def _rule_line(source: str, name: str) -> int | None:
    found = re.search(rf"^[ \t]*(?:default[ \t]+)?{re.escape(name)}\b", source, re.MULTILINE)
    return source.count("\n", 0, found.start()) + 1 if found else None


#: Finds the line of a key in a repository file: ``(path, json path) -> line``.
Locate = Callable[[str, tuple[str | int, ...]], int | None]


def no_lines(path: str, key: tuple[str | int, ...]) -> int | None:
    del path, key
    return None


def _message(item: Any, locate: Locate = no_lines) -> tuple[str, str | None, int | None]:
    """(text, path, line) of one message: a string, or ``{msg, path, line}``, or ``{msg, path, key}`` where
    ``key`` is the JSON path (a list, or a dotted string) of the value the message is about."""
    if isinstance(item, str):
        return item, None, None
    if isinstance(item, Mapping):
        text = item.get("msg", item.get("message"))
        path = item.get("path") if isinstance(item.get("path"), str) else None
        line = item.get("line") if isinstance(item.get("line"), int) else None
        key = item.get("key")
        if isinstance(key, str):
            key = key.split(".")
        if path is not None and line is None and isinstance(key, list):
            line = locate(path, tuple(k for k in key if isinstance(k, str | int)))
        return (text if isinstance(text, str) else json.dumps(item, sort_keys=True)), path, line
    return json.dumps(item, sort_keys=True), None, None


def _messages(value: Any) -> list[Any] | None:
    """A rule's messages: a set/array as a list, ``true`` as one item, ``false`` as none; None for other types."""
    if isinstance(value, list):
        return value
    if isinstance(value, bool):
        return [True] if value else []
    if isinstance(value, Mapping):
        return list(value.values()) if all(isinstance(v, str) for v in value.values()) else None
    return None


def interpret(package: str, result: QueryResult, where: Module, locate: Locate = no_lines) -> list[Finding]:
    """Findings for one package's answer (before ``enforce`` is applied)."""
    path = where.path
    if result.kind == "undefined":
        message = f"package {package}: the query data.{package} is undefined (no decision): failing closed"
        return [error("policy-undefined", message, path)]
    if result.kind != "ok":
        code = result.code or f"policy-{result.kind}"
        return [error(code, f"package {package}: {result.message or result.kind}", path, message_line(result.message))]
    value = result.value
    if not isinstance(value, Mapping):
        found = type(value).__name__
        return [
            error(
                "policy-bad-result", f"package {package}: expected an object from data.{package}, found {found}", path
            )
        ]
    if not value:
        message = f"package {package}: data.{package} is empty (no deny, warn or decision is defined): failing closed"
        return [error("policy-undefined", message, path)]
    out = _conventions(package, value, where, locate)
    recognised = any(key in value for key in (*FAIL_KEYS, *WARN_KEYS, "decision"))
    if "decision" in value:
        out.extend(_decision(package, value["decision"], where, locate))
    if not recognised:
        allow = _allow(package, value, where)
        if allow is not None:
            return allow
        names = ", ".join(sorted(value)[:8])
        message = (
            f"package {package} defines none of deny, violation, deny_reasons, warn, decision, allow, allow_merge "
            f"(it has {names}): nothing in it is read; check the rule names"
        )
        out.append(warning("policy-no-gate-rules", message, path))
    return out


def _conventions(package: str, value: Mapping[str, Any], where: Module, locate: Locate) -> list[Finding]:
    """conftest's conventions: ``deny``/``violation``/``deny_reasons`` fail, ``warn`` warns."""
    out: list[Finding] = []
    for keys, make, code in ((FAIL_KEYS, error, "policy-deny"), (WARN_KEYS, warning, "policy-warn")):
        for key in (k for k in keys if k in value):
            items = _messages(value[key])
            line = _rule_line(where.source, key)
            if items is None:
                found = type(value[key]).__name__
                message = f"package {package}: '{key}' must be a set of messages, found {found}"
                out.append(error("policy-bad-result", message, where.path, line))
                continue
            for item in items:
                text, at, at_line = (f"{key} is true", None, None) if item is True else _message(item, locate)
                out.append(make(code, f"package {package}: {text}", at or where.path, at_line if at else line))
    return out


def _allow(package: str, value: Mapping[str, Any], where: Module) -> list[Finding] | None:
    """A lone boolean ``allow``/``allow_merge``: false fails; ``None`` when the package has neither."""
    for key in ("allow", "allow_merge"):
        if key in value:
            if value[key] is True:
                return []
            if value[key] is False:
                return [
                    error(
                        "policy-deny", f"package {package}: {key} is false", where.path, _rule_line(where.source, key)
                    )
                ]
            return [error("policy-bad-result", f"package {package}: '{key}' must be true or false", where.path)]
    return None


def _decision(package: str, decision: Any, where: Module, locate: Locate) -> list[Finding]:
    path, line = where.path, _rule_line(where.source, "decision")
    if not isinstance(decision, Mapping) or not isinstance(decision.get("allow"), bool):
        return [
            error(
                "policy-bad-result",
                f"package {package}: 'decision' must be an object with a boolean 'allow'",
                path,
                line,
            )
        ]
    out: list[Finding] = []
    reasons = _messages(decision.get("reasons", []))
    warnings_ = _messages(decision.get("warnings", []))
    if reasons is None or warnings_ is None:
        return [
            error(
                "policy-bad-result",
                f"package {package}: decision.reasons and decision.warnings must be lists of messages",
                path,
                line,
            )
        ]
    if decision["allow"] is False:
        if not reasons:
            out.append(
                error("policy-deny", f"package {package}: decision.allow is false (no reason given)", path, line)
            )
        for item in reasons:
            text, at, at_line = _message(item, locate)
            out.append(error("policy-deny", f"package {package}: {text}", at or path, at_line if at else line))
    for item in warnings_:
        text, at, at_line = _message(item, locate)
        out.append(warning("policy-warn", f"package {package}: {text}", at or path, at_line if at else line))
    return out
