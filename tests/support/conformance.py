"""OPA's own conformance cases, run through the embedded engine (regorus) and compared with OPA's answer.

The cases live in the Go module cache (``tests.support.opa.conformance_root``), one YAML file per group:
``{cases: [{note, query, modules, data, input | input_term, want_result | want_error(_code), strict_error,
sort_bindings}]}``. OPA's answer is the case's own expectation: the pinned OPA passes its own suite. The areas
are the builtins and constructs governance policies use. ``strict_error`` cases are read as OPA evaluates by
default (builtin errors are undefined, not errors), because that is how the ``opa`` engine runs.

``benchmarks/conformance.py`` prints the agreement per area and rewrites ``tests/adapters/conformance_agree.json``
(the case ids that agree), which ``tests/adapters/test_conformance.py`` holds the engine to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: Area -> OPA testdata directories (``v1/test/cases/testdata/v1/<dir>``).
AREAS: Mapping[str, tuple[str, ...]] = {
    "strings": (
        "strings",
        "trim",
        "trimleft",
        "trimright",
        "trimprefix",
        "trimsuffix",
        "trimspace",
        "replacen",
        "sprintf",
    ),
    "regex": ("regexmatch", "regexfind", "regexfindallstringsubmatch", "regexreplace", "regexsplit", "regexisvalid"),
    "glob": ("globmatch", "globsmatch", "globquotemeta"),
    "numbers": ("arithmetic", "comparisonexpr", "numbersrange", "aggregates", "casts"),
    "time": ("time",),
    "semver": ("semvercompare", "semverisvalid"),
    "yaml/json": ("jsonbuiltins", "jsonfilter", "jsonremove", "jsonpatch"),
    "sets/objects": (
        "sets",
        "union",
        "intersection",
        "objectget",
        "objectunion",
        "objectkeys",
        "objectremove",
        "objectfilter",
    ),
    "with": ("withkeyword",),
    "not": ("negation",),
    "comprehensions": ("comprehensions",),
}
EXPECTED = Path(__file__).resolve().parents[1] / "adapters" / "conformance_agree.json"


@dataclass(frozen=True)
class Case:
    """One conformance case; ``ident`` is ``<dir>/<file>#<note>``."""

    ident: str
    query: str
    modules: tuple[str, ...]
    data: Mapping[str, Any] | None
    input: Any
    has_input: bool
    want: list[Any] | None
    want_error: bool
    sort_bindings: bool


def cases(root: Path, area: str) -> Iterator[Case]:
    """The runnable cases of ``area`` (a case whose ``input_term`` is not JSON cannot be given to either engine
    as a document and is left out)."""
    for directory in AREAS[area]:
        for path in sorted((root / directory).glob("*.yaml")):
            for raw in yaml.safe_load(path.read_text(encoding="utf-8")).get("cases", []):
                has_input = "input" in raw or "input_term" in raw
                value = raw.get("input")
                if "input_term" in raw:
                    try:
                        value = json.loads(raw["input_term"])
                    except ValueError:
                        continue
                strict = bool(raw.get("strict_error"))
                want_error = ("want_error" in raw or "want_error_code" in raw) and not strict
                want = [] if strict else raw.get("want_result")
                yield Case(
                    f"{directory}/{path.name}#{raw.get('note', '')}",
                    str(raw["query"]),
                    tuple(raw.get("modules") or ()),
                    raw.get("data"),
                    value,
                    has_input,
                    want,
                    want_error,
                    bool(raw.get("sort_bindings")),
                )


def _rows(answer: Mapping[str, Any]) -> list[Any]:
    return [row.get("bindings", {}) for row in answer.get("result", []) or []]


def _canonical(rows: list[Any], sort: bool) -> list[str]:
    out = [json.dumps(r, sort_keys=True) for r in rows]
    return sorted(out) if sort else out


def embedded_agrees(case: Case) -> bool:
    """Whether regorus gives OPA's answer for ``case`` (an error where OPA errors counts as agreement)."""
    import regorus  # noqa: PLC0415

    engine = regorus.Engine()
    try:
        for n, module in enumerate(case.modules):
            engine.add_policy(f"case{n}.rego", module)
        if case.data is not None:
            engine.add_data_json(json.dumps(case.data))
        if case.has_input:
            engine.set_input_json(json.dumps(case.input))
        answer = json.loads(engine.eval_query_as_json(case.query))
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return case.want_error
    if case.want_error or case.want is None:
        return False
    return _canonical(_rows(answer), case.sort_bindings) == _canonical(list(case.want), case.sort_bindings)


def opa_agrees(case: Case, binary: str) -> bool:
    """Whether ``opa eval`` (the pinned binary) gives the case's expected answer through this same harness: a
    check on the harness, used by ``benchmarks/conformance.py --confirm``, not by the tests (one process a case)."""
    import subprocess  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        args = [binary, "eval", "--format", "json"]
        for n, module in enumerate(case.modules):
            (Path(tmp) / f"m{n}.rego").write_text(module, encoding="utf-8")
            args += ["-d", str(Path(tmp) / f"m{n}.rego")]
        if case.data is not None:
            (Path(tmp) / "data.json").write_text(json.dumps(case.data), encoding="utf-8")
            args += ["-d", str(Path(tmp) / "data.json")]
        if case.has_input:
            (Path(tmp) / "input.json").write_text(json.dumps(case.input), encoding="utf-8")
            args += ["-i", str(Path(tmp) / "input.json")]
        done = subprocess.run([*args, case.query], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return case.want_error
    if case.want_error or case.want is None:
        return False
    rows = _rows(json.loads(done.stdout))
    return _canonical(rows, case.sort_bindings) == _canonical(list(case.want), case.sort_bindings)


def agreement(root: Path) -> dict[str, dict[str, bool]]:
    """Area -> case id -> whether the embedded engine agrees with OPA."""
    return {area: {c.ident: embedded_agrees(c) for c in cases(root, area)} for area in AREAS}
