"""JSON Schema validation of loaded documents, reported as findings people can act on.

Pure: the schemas are changebot's own (``schemas/*.schema.json``, shipped data read like code) or a
repository's ``.maestro/changespec.schema.yml`` already loaded from the base branch. Validation uses
``jsonschema``'s ``Draft202012Validator`` with format checking on and a ``referencing.Registry`` that holds
changebot's schemas and refuses to retrieve anything else: a ``$ref`` to a URL is never fetched.

Findings follow check-jsonschema's habit: the best match first (``jsonschema.exceptions.relevance``), each
naming the file, the line (``Document.line`` of the error's instance path), the JSON path
(``$.work_items[0].id``), what was expected and what was found; past ``max_findings`` the rest of a file's
errors are summarised as "N other errors" instead of flooding the comment.

``jsonschema`` is imported lazily, inside the functions that need it, so ``changebot --version`` and a
repository with nothing to validate stay fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from changebot.core.documents import layout, resources
from changebot.core.documents.load import Document, json_path
from changebot.model import Finding, error, notice

if TYPE_CHECKING:  # pragma: no cover
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

#: File pattern -> schema name (``schemas/<name>.schema.json``). First match wins.
KINDS: tuple[tuple[str, str], ...] = (
    (layout.BUNDLES, "bundle"),
    (".maestro/changes/*.yml", "bundle"),
    (layout.PLANS, "release-plan"),
    (".maestro/plan-*.yml", "release-plan"),
    (layout.FREEZE_WINDOWS, "freeze-windows"),
    (layout.PIPELINE, "pipeline"),
    (layout.CI_BUDGET, "ci-budget"),
    (layout.RULES, "rules"),
    (layout.XREPO, "xrepo"),
    (layout.ORCHESTRATOR_STATE, "orchestrator-state"),
    (layout.RELEASE_POLICY, "release-policy"),
    (layout.SETTINGS, "changebot"),
)

#: The schemas this module applies (every file in ``schemas/`` is in the registry, so any can ``$ref`` another).
SHIPPED: tuple[str, ...] = (
    "bundle",
    "release-plan",
    "freeze-windows",
    "pipeline-freeze-windows",
    "pipeline",
    "ci-budget",
    "rules",
    "xrepo",
    "orchestrator-state",
    "release-policy",
    "changebot",
    "plan",
)

#: A custom format for IANA zone names (``America/Denver``); unknown to other validators, which ignore it.
TIME_ZONE_FORMAT = "x-iana-time-zone"

DEFAULT_MAX_FINDINGS = 3

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def kind_of(path: str) -> str | None:
    """The schema name for a repository path, or ``None`` when changebot has no schema for it."""
    for pattern, name in KINDS:
        if layout.matches(path, (pattern,)):
            return name
    return None


def _refuse(uri: str) -> Any:
    """Registry retrieval hook: changebot never fetches a schema."""
    from referencing.exceptions import NoSuchResource  # noqa: PLC0415 - imported lazily, see module docstring

    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _is_time_zone(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        ZoneInfo(instance)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        return False
    return True


@cache
def format_checker() -> Any:
    """jsonschema's format checker (date, date-time, ...) plus ``x-iana-time-zone``."""
    from jsonschema import FormatChecker  # noqa: PLC0415 - imported lazily, see module docstring

    checker = FormatChecker()
    checker.checks(TIME_ZONE_FORMAT)(_is_time_zone)
    return checker


@cache
def _registry() -> Any:
    from referencing import Registry, Resource  # noqa: PLC0415 - imported lazily, see module docstring

    names = sorted(
        {*SHIPPED, *(p.name.removesuffix(".schema.json") for p in resources.data_dir("schemas").glob("*.schema.json"))}
    )
    resources_ = [
        (str(resources.schema(name)["$id"]), Resource.from_contents(resources.schema(name))) for name in names
    ]
    empty = Registry(retrieve=_refuse)  # type: ignore[call-arg]
    return empty.with_resources(resources_)


_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "x-expected"})


def _pointer(document: Any, fragment: str) -> Any:
    """The value at a JSON Pointer fragment (``/$defs/slug``)."""
    node = document
    for part in fragment.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def inlined(name: str) -> Any:
    """Shipped schema ``name`` with every ``$ref`` to a shipped schema replaced by its target.

    Validating a change bundle spends most of its time resolving ``$ref`` through the registry; the shipped
    schemas are not recursive, so their references are expanded once, when the validator is built. A
    reference's sibling keywords are merged into the target (annotations win from the referring side);
    should they clash, the target is kept under ``allOf`` instead. Anything else is left for the registry.
    """
    root = resources.schema(name)
    known = {f"{n}.schema.json": n for n in SHIPPED}

    def expand(node: Any, home: Any, depth: int = 0) -> Any:
        if isinstance(node, list):
            return [expand(item, home, depth) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        out = {key: expand(value, home, depth) for key, value in node.items() if key != "$ref"}
        if not isinstance(ref, str):
            return out
        if depth > 20:  # not expected in shipped schemas: leave deep chains to the registry
            return node
        document, _, fragment = ref.partition("#")
        if document and document not in known:
            return {**out, "$ref": ref}
        target_home = resources.schema(known[document]) if document else home
        target = expand(_pointer(target_home, fragment), target_home, depth + 1)
        if not isinstance(target, dict):
            return {**out, "allOf": [target]}
        target = {k: v for k, v in target.items() if k not in {"$schema", "$id"}}
        if any(k in target and k not in _ANNOTATIONS for k in out):
            return {**out, "allOf": [target]}
        return {**target, **out}

    return expand(root, root)


@cache
def validator(name: str) -> Validator:
    """The validator for shipped schema ``name``, built once per process (references expanded)."""
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - imported lazily, see module docstring

    return Draft202012Validator(inlined(name), registry=_registry(), format_checker=format_checker())


def foreign_validator(schema: Mapping[str, Any] | bool) -> Validator:
    """A validator for a schema found in the repository: 2020-12, formats checked, nothing retrieved."""
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - imported lazily, see module docstring
    from referencing import Registry  # noqa: PLC0415 - imported lazily, see module docstring

    return Draft202012Validator(
        schema,
        registry=Registry(retrieve=_refuse),  # type: ignore[call-arg]
        format_checker=format_checker(),
    )


def schema_problems(doc: Document, label: str) -> list[Finding]:
    """Findings for a document that should itself be a JSON Schema (the repository's changespec schema)."""
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - imported lazily, see module docstring
    from jsonschema.exceptions import best_match  # noqa: PLC0415 - imported lazily, see module docstring

    if not isinstance(doc.data, dict | bool):
        return [
            error(
                "changespec-schema-invalid",
                f"{label}: expected a JSON Schema (a mapping), found {_found(doc.data)}",
                doc.path,
                doc.line(()),
            )
        ]
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    worst = best_match(meta.iter_errors(doc.data))
    if worst is None:
        return _reference_problems(doc)
    where = tuple(worst.absolute_path)
    return [
        error(
            "changespec-schema-invalid",
            f"{label} is not a valid JSON Schema at {json_path(where)}: {worst.message}",
            doc.path,
            doc.line(where),
        )
    ]


def _references(node: Any, where: tuple[str | int, ...] = ()) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Every ``$ref`` string in a schema document, with its JSON path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield (*where, key), value
            else:
                yield from _references(value, (*where, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _references(value, (*where, i))


def _reference_problems(doc: Document) -> list[Finding]:
    """``$ref``s a repository schema may not use (anything outside itself) or that point nowhere."""
    out: list[Finding] = []
    for where, ref in _references(doc.data):
        mark = doc.mark(where)
        line, column = (mark.line, mark.column) if mark else (None, None)
        if not ref.startswith("#"):
            out.append(
                error(
                    "schema-ref-refused",
                    f"{json_path(where)}: expected a reference inside this schema ('#/$defs/...'), found {ref!r}: "
                    "changebot never fetches remote or external schemas; copy the definition under $defs",
                    doc.path,
                    line,
                    column,
                )
            )
            continue
        try:
            _pointer(doc.data, ref[1:])
        except (KeyError, IndexError, TypeError, ValueError):
            out.append(
                error(
                    "schema-ref-unresolvable",
                    f"{json_path(where)}: expected a reference to a definition in this schema, found {ref!r}, "
                    "which points nowhere",
                    doc.path,
                    line,
                    column,
                )
            )
    return out


def findings_for(
    doc: Document, check: Validator, label: str, max_findings: int = DEFAULT_MAX_FINDINGS
) -> list[Finding]:
    """Validate ``doc`` with ``check``; the best match first, then the rest in line order, then a summary."""
    from referencing.exceptions import Unresolvable  # noqa: PLC0415 - imported lazily, see module docstring

    try:
        errors = list(check.iter_errors(doc.data))
    except Unresolvable as exc:
        ref = getattr(exc, "ref", str(exc))
        return [
            error(
                "schema-ref-refused",
                f"{label} refers to {ref!r}, which is not in the schema itself: changebot never fetches "
                "remote or external schemas ($ref), so this file was not checked",
                doc.path,
                doc.line(()),
            )
        ]
    if not errors:
        return []
    picked = [_descend(e) for e in _ranked(errors, doc)[: max(1, max_findings)]]
    best, rest = picked[0], sorted(picked[1:], key=lambda e: doc.line(tuple(e.absolute_path)) or 0)
    out = [_finding(doc, e, label) for e in (best, *rest)]
    hidden = len(errors) - len(picked)
    if hidden > 0:
        out.append(
            notice(
                "more-schema-errors",
                f"{hidden} other schema error(s) in this file not shown "
                "(raise schema.max_findings_per_file in .maestro/changebot.yaml to see them)",
                doc.path,
            )
        )
    return out


def _ranked(errors: Iterable[ValidationError], doc: Document) -> list[ValidationError]:
    """Most relevant first, as ``jsonschema.exceptions.relevance`` judges (errors higher up in the document
    first, ``anyOf``/``oneOf`` after other keywords), ties broken by line rather than by key name."""
    weak = {"anyOf", "oneOf"}

    def key(err: ValidationError) -> tuple[int, bool, int]:
        return (len(err.path), err.validator in weak, doc.line(tuple(err.absolute_path)) or 0)

    return sorted(errors, key=key)


def _descend(err: ValidationError) -> ValidationError:
    """Like ``best_match``'s descent into ``anyOf``/``oneOf``, but stop where the schema explains itself."""
    from jsonschema.exceptions import relevance  # noqa: PLC0415 - imported lazily, see module docstring

    while err.context:
        context = list(err.context)
        if isinstance(err.schema, dict) and "x-expected" in err.schema:
            # The alternatives explain themselves; go deeper only to a value inside this one that is wrong.
            context = [e for e in context if e.relative_path]
            if not context:
                return err
        ranked = sorted(context, key=relevance)
        if len(ranked) >= 2 and relevance(ranked[0]) == relevance(ranked[1]):
            return err
        err = ranked[0]
    return err


def _found(value: Any) -> str:
    """A short description of an instance: its kind and, for scalars, its value."""
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:6])
        return f"a mapping with keys {keys}" if value else "an empty mapping"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kebab(keyword: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", str(keyword)).lower()


def _expected(err: ValidationError) -> str:
    """What the schema wanted, in words."""
    schema = err.schema if isinstance(err.schema, dict) else {}
    value = err.validator_value
    keyword = err.validator
    if "x-expected" in schema and keyword in {"pattern", "format", "anyOf", "oneOf", "allOf", "not"}:
        return str(schema["x-expected"])
    if keyword == "type":
        types = value if isinstance(value, list) else [value]
        return " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
    if keyword == "enum":
        return "one of " + ", ".join(repr(v) for v in (value if isinstance(value, list) else [value]))
    if keyword == "const":
        return repr(value)
    if keyword == "pattern":
        return f"text matching /{value}/"
    if keyword == "format":
        return f"a valid {value}"
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if keyword in bounds:
        return f"a number {bounds[str(keyword)]} {value}"
    if keyword in {"minItems", "maxItems"}:
        return f"{'at least' if keyword == 'minItems' else 'at most'} {value} item(s)"
    if keyword in {"minLength", "maxLength"}:
        return f"{'at least' if keyword == 'minLength' else 'at most'} {value} character(s)"
    if keyword == "uniqueItems":
        return "no repeated items"
    return str(err.message)


def _finding(doc: Document, err: ValidationError, label: str) -> Finding:
    where = tuple(err.absolute_path)
    instance = err.instance
    keyword = str(err.validator)
    code = "schema-" + _kebab(keyword)
    if keyword == "required" and isinstance(instance, dict):
        required = err.validator_value if isinstance(err.validator_value, list) else []
        missing = [k for k in required if k not in instance]
        key = missing[0] if missing else "?"
        have = ", ".join(instance) or "none (an empty mapping)"
        message = f"{json_path(where)}: expected required key {key!r}, found keys: {have}"
    elif keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = set(err.schema.get("properties", {})) if isinstance(err.schema, dict) else set()
        extras = [k for k in instance if k not in allowed]
        if extras:
            where = (*where, extras[0])
        message = (
            f"{json_path(where)}: unexpected key {', '.join(repr(k) for k in extras)}; "
            f"expected one of {', '.join(sorted(allowed)) or 'no keys'}"
        )
    elif keyword == "propertyNames":
        message = f"{json_path(where)}: key {_found(instance)} is not an allowed name ({err.message})"
    else:
        if keyword == "type" and not where:
            code = {"object": "not-a-mapping", "array": "not-a-list"}.get(str(err.validator_value), code)
        message = f"{json_path(where)}: expected {_expected(err)}, found {_found(instance)}"
        if keyword == "type" and err.validator_value == "string" and isinstance(instance, dict) and len(instance) == 1:
            message += " (an unquoted ': ' makes YAML read the text as a key; quote the whole text)"
    mark = doc.mark(where)
    return error(
        code,
        f"{message} ({label})",
        doc.path,
        mark.line if mark else None,
        mark.column if mark else None,
    )
