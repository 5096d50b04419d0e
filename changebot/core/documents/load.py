"""Bytes to data: safe, size-bounded, line-aware loading of YAML and JSON.

This module does no I/O: callers hand it the bytes they read. It never raises on bad input; every problem
(too large, not UTF-8, binary, empty, a syntax error, a duplicate key, an unsupported tag, an alias bomb)
comes back as a ``Finding`` naming the file and, where known, the line.

YAML is read with PyYAML's *composer* only (the C one when available): nothing is constructed from tags, so
``!!python/object`` and friends can never run. The node tree is then turned into plain JSON-like data by
``_Builder``, which

* resolves scalars the YAML 1.2 core way for booleans (only ``true``/``false``; ``yes``/``on`` stay
  strings, as in js-yaml) and keeps timestamps as the strings they were written as, so that JSON Schema
  ``format: date``/``date-time`` applies and nothing is reinterpreted in a local zone;
* refuses duplicate keys, naming both lines;
* counts every node it builds, aliases included, and stops at ``Limits.max_nodes``: a "billion laughs"
  document costs a bounded amount of work however it nests;
* records the 1-based line and column of every value, addressed by its JSON path, in ``Document.marks``.

JSON is parsed by the standard library (strictly, with duplicate keys refused); its marks come from the same
YAML composer, which reads JSON text as YAML flow style. If that composition fails (JSON that is not
valid YAML, rare), values fall back to line 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from changebot.model import Finding, error

try:  # pragma: no cover - depends on how PyYAML was built
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Limits:
    """Caps on what is read. Defaults are generous for real governance files and small for attacks."""

    max_file_bytes: int = 1024 * 1024
    max_repo_bytes: int = 64 * 1024 * 1024
    max_nodes: int = 200_000
    max_depth: int = 200


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    column: int


@dataclass(frozen=True)
class Document:
    """A loaded file: its data as JSON-like Python values, and where each value was written."""

    path: str
    data: Any
    marks: Mapping[JsonPath, Mark] = field(default_factory=dict)

    def mark(self, path: JsonPath = ()) -> Mark | None:
        """The position of the value at ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while True:
            found = self.marks.get(probe)
            if found is not None:
                return found
            if not probe:
                return None
            probe = probe[:-1]

    def line(self, path: JsonPath = ()) -> int | None:
        """The 1-based line of the value at ``path`` (or its nearest ancestor)."""
        found = self.mark(path)
        return found.line if found else None


@dataclass(frozen=True)
class Loaded:
    """The result of loading one file: a document, or the findings that prevented it."""

    document: Document | None
    findings: tuple[Finding, ...] = ()


def json_path(path: JsonPath) -> str:
    """``$.a.b[0]`` for a JSON path tuple, quoting keys that are not plain identifiers."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + json.dumps(part, ensure_ascii=False) + "]"
    return out


def _decode(path: str, raw: bytes, limits: Limits) -> tuple[str | None, list[Finding]]:
    if len(raw) > limits.max_file_bytes:
        return None, [
            error(
                "file-too-large",
                f"file is {len(raw):,} bytes; the limit is {limits.max_file_bytes:,} bytes "
                "(raise limits.max_file_bytes in .maestro/changebot.yaml if this is intended)",
                path,
            )
        ]
    if b"\x00" in raw:
        return None, [error("binary-file", "file contains NUL bytes: this is a binary file, not text", path)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [
            error(
                "not-utf8", f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})", path, line
            )
        ]
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return None, [error("empty-file", "file is empty", path)]
    return text, []


class _TooMuch(Exception):
    """Raised inside the builder when a document exceeds the node or depth cap."""


class _Duplicate(Exception):
    def __init__(self, key: str, first: int, second: int, column: int) -> None:
        super().__init__(key)
        self.key, self.first, self.second, self.column = key, first, second, column


class _BadTag(Exception):
    def __init__(self, tag: str, line: int, column: int) -> None:
        super().__init__(tag)
        self.tag, self.line, self.column = tag, line, column


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


class _BadNumber(Exception):
    def __init__(self, text: str, line: int, column: int) -> None:
        super().__init__(text)
        self.text, self.line, self.column = text, line, column


#: Largest integer magnitude read, in bits: Python converts at most 4,300 decimal digits between ``int`` and
#: ``str`` (``sys.get_int_max_str_digits``), and every integer read must survive ``json.dumps`` later.
_MAX_INT_BITS = 14_000


class _Builder:
    """Turns a composed YAML node tree into JSON-like data, recording marks, with bounded work."""

    def __init__(self, limits: Limits, record: bool = True) -> None:
        self._limits = limits
        self._budget = limits.max_nodes
        self._scalars = yaml.constructor.SafeConstructor()
        self.marks: dict[JsonPath, Mark] = {}
        self._record = record

    def build(self, node: yaml.Node, path: JsonPath = ()) -> Any:
        self._budget -= 1
        if self._budget < 0 or len(path) > self._limits.max_depth:
            raise _TooMuch
        if self._record and path not in self.marks:
            self.marks[path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise _BadTag(node.tag, node.start_mark.line + 1, node.start_mark.column + 1)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise _BadTag(node.tag, node.start_mark.line + 1, node.start_mark.column + 1)
            return self._mapping(node, path)
        raise _BadTag(str(node.tag), node.start_mark.line + 1, node.start_mark.column + 1)  # pragma: no cover

    def _pairs(self, node: yaml.MappingNode, depth: int = 0) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        """Key/value nodes with ``<<`` merge keys expanded (explicit keys win over merged ones).

        Every merged pair counts against the node budget and merges nest at most ``max_depth`` deep, so merges
        of merges (each level doubling the pairs) or a mapping merged into itself stay bounded too.
        """
        if depth > self._limits.max_depth:
            raise _TooMuch
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        own: list[tuple[yaml.Node, yaml.Node]] = []
        for key, value in node.value:
            if key.tag == _MERGE:
                sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise _BadTag("merge of a non-mapping", key.start_mark.line + 1, key.start_mark.column + 1)
                    for pair in self._pairs(source, depth + 1):
                        self._budget -= 1
                        if self._budget < 0:
                            raise _TooMuch
                        merged.append(pair)
            else:
                own.append((key, value))
        own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        yield from ((k, v) for k, v in merged if not (isinstance(k, yaml.ScalarNode) and k.value in own_keys))
        yield from own

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        own = {id(k) for k, _ in node.value}
        first_line: dict[str, int] = {}
        for key_node, value_node in self._pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise _BadTag("a non-scalar mapping key", key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            key_value = self._scalar(key_node)
            key = key_value if isinstance(key_value, str) else json.dumps(key_value)
            if id(key_node) in own:
                line = key_node.start_mark.line + 1
                if key in first_line:
                    raise _Duplicate(key, first_line[key], line, key_node.start_mark.column + 1)
                first_line[key] = line
            out[key] = self.build(value_node, (*path, key))
        return out

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag, value = node.tag, node.value
        if tag in (_STR, _TIMESTAMP):
            return value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            if value in _TRUE:
                return True
            if value in _FALSE:
                return False
            return value  # yes/no/on/off: strings, as YAML 1.2 and js-yaml read them
        if tag in (_INT, _FLOAT):
            number = self._scalars.construct_yaml_int if tag == _INT else self._scalars.construct_yaml_float
            try:
                found = number(node)
            except (ValueError, IndexError):  # "!!int ''", "0b_", more digits than sys.get_int_max_str_digits()
                found = None
            if found is None or (isinstance(found, int) and found.bit_length() > _MAX_INT_BITS):
                raise _BadNumber(value, node.start_mark.line + 1, node.start_mark.column + 1)
            return found
        raise _BadTag(tag, node.start_mark.line + 1, node.start_mark.column + 1)


def _yaml_problem(path: str, exc: yaml.YAMLError) -> Finding:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return error("yaml-syntax", message, path)
    return error("yaml-syntax", message, path, mark.line + 1, mark.column + 1)


def _compose(text: str) -> yaml.Node | None:
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _build(path: str, node: yaml.Node, limits: Limits) -> Loaded:
    builder = _Builder(limits)
    try:
        data = builder.build(node)
    except _TooMuch:
        return Loaded(
            None,
            (
                error(
                    "yaml-too-complex",
                    f"document expands to more than {limits.max_nodes:,} values or nests deeper "
                    f"than {limits.max_depth} levels (an alias bomb?); refusing to load it",
                    path,
                ),
            ),
        )
    except _Duplicate as dup:
        return Loaded(
            None,
            (
                error(
                    "duplicate-key",
                    f"duplicate key {dup.key!r} (first defined on line {dup.first})",
                    path,
                    dup.second,
                    dup.column,
                ),
            ),
        )
    except _BadNumber as bad:
        shown = bad.text if len(bad.text) <= 24 else bad.text[:20] + "..."
        return Loaded(
            None,
            (
                error(
                    "unreadable-number",
                    f"number {shown!r} cannot be read: more than 4,300 decimal digits, or not a number at all",
                    path,
                    bad.line,
                    bad.column,
                ),
            ),
        )
    except _BadTag as bad:
        return Loaded(
            None,
            (
                error(
                    "unsupported-tag",
                    f"unsupported YAML tag or construct {bad.tag!r}: changebot reads plain "
                    "mappings, lists and scalars only",
                    path,
                    bad.line,
                    bad.column,
                ),
            ),
        )
    return Loaded(Document(path, data, builder.marks))


def load_yaml(path: str, raw: bytes, limits: Limits = DEFAULT_LIMITS) -> Loaded:
    """Load one YAML document from ``raw`` bytes. Never raises."""
    text, problems = _decode(path, raw, limits)
    if text is None:
        return Loaded(None, tuple(problems))
    try:
        node = _compose(text)
    except yaml.composer.ComposerError as exc:
        if "expected a single document" in str(exc):
            return Loaded(
                None,
                (
                    error(
                        "multiple-documents",
                        "file holds more than one YAML document; changebot expects exactly one",
                        path,
                        *_mark_of(exc),
                    ),
                ),
            )
        return Loaded(None, (_yaml_problem(path, exc),))
    except yaml.YAMLError as exc:
        return Loaded(None, (_yaml_problem(path, exc),))
    except RecursionError:
        return Loaded(None, (error("yaml-too-complex", "document nests too deeply to read", path),))
    if node is None:
        return Loaded(None, (error("empty-file", "file holds no YAML document", path),))
    return _build(path, node, limits)


def _mark_of(exc: yaml.MarkedYAMLError) -> tuple[int | None, int | None]:
    mark = exc.problem_mark or exc.context_mark
    return (mark.line + 1, mark.column + 1) if mark else (None, None)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key, 0, 0, 0)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_json(path: str, raw: bytes, limits: Limits = DEFAULT_LIMITS) -> Loaded:
    """Load one JSON document from ``raw`` bytes, strictly (no NaN, no duplicate keys). Never raises."""
    text, problems = _decode(path, raw, limits)
    if text is None:
        return Loaded(None, tuple(problems))
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return Loaded(None, (error("json-syntax", f"JSON syntax error: {exc.msg}", path, exc.lineno, exc.colno),))
    except _Duplicate as dup:
        located = _locate_duplicate(path, text, limits)
        return located or Loaded(None, (error("duplicate-key", f"duplicate key {dup.key!r}", path),))
    except ValueError as exc:
        return Loaded(None, (error("json-syntax", f"JSON syntax error: {exc}", path),))
    except RecursionError:
        return Loaded(None, (error("json-too-complex", "document nests too deeply to read", path),))
    marks: Mapping[JsonPath, Mark] = {}
    try:
        node = _compose(text)
        if node is not None:
            builder = _Builder(limits)
            builder.build(node)
            marks = builder.marks
    except (yaml.YAMLError, _TooMuch, _Duplicate, _BadTag, _BadNumber, RecursionError):
        marks = {(): Mark(1, 1)}
    return Loaded(Document(path, data, marks))


def _locate_duplicate(path: str, text: str, limits: Limits) -> Loaded | None:
    """Re-read JSON text as YAML to say on which line a duplicate key sits."""
    try:
        node = _compose(text)
    except (yaml.YAMLError, RecursionError):
        return None
    if node is None:
        return None
    loaded = _build(path, node, limits)
    return loaded if loaded.document is None else None


def load_any(path: str, raw: bytes, limits: Limits = DEFAULT_LIMITS) -> Loaded:
    """Load by extension: ``.json`` strictly as JSON, everything else as YAML."""
    if path.endswith(".json"):
        return load_json(path, raw, limits)
    return load_yaml(path, raw, limits)
