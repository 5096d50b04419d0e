"""The conformance suite: the embedded engine against OPA, the ``opa`` engine against OPA.

* OPA's own conformance cases for the builtins governance policies use: every case listed in
  ``conformance_agree.json`` must still agree (a regorus upgrade that breaks one fails CI); the per-area numbers
  are in benchmarks/README.md ("policy engines").
* The divergence classes of the README's table, pinned both ways, so that the table stays true.
* The FORMATS shapes and the default library through both engines and a real OPA server: the ``opa`` engine's
  verdict is OPA's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from changebot.adapters.engines.opa import OpaServer
from changebot.adapters.engines.opa_binary import OpaBinary
from changebot.adapters.engines.rego import EmbeddedRego, library_modules
from changebot.core.policy.decisions import Module
from changebot.core.policy.gate import run_policies
from tests.adapters.test_policy_engines import EXPECTED_SUITE, MODULES, SUITE_INPUT, summary
from tests.support.conformance import EXPECTED, agreement
from tests.support.opa import require_conformance, require_opa
from tests.support.opa_server import opa_server
from tests.support.rego_suite import SUITE


def test_cases_that_agreed_with_opa_still_agree() -> None:
    found = agreement(require_conformance())
    expected: dict[str, list[str]] = json.loads(EXPECTED.read_text(encoding="utf-8"))
    regressed = sorted(case for area, ids in expected.items() for case in ids if not found.get(area, {}).get(case))
    assert regressed == []
    assert sum(len(ids) for ids in expected.values()) >= 500  # the file is not emptied to make this pass


#: (class, Rego expression, OPA's value, the embedded engine's value). ``fails`` says which way each divergence
#: goes in a ``deny if <expr>`` policy: open (the embedded engine passes where OPA denies) or closed.
DIVERGENCES: list[tuple[str, str, Any, Any]] = [
    ("decimal", "0.1 + 0.2 > 0.3", False, True),
    ("strings_count", 'strings.count("aaaa", "aa")', 2, 3),
    ("regex_word", 'regex.match(`^\\w+$`, "café")', False, True),
    ("regex_digit", 'regex.match(`^\\d+$`, "٣")', False, True),
    ("glob_doublestar", 'glob.match("**/*.md", ["/"], "README.md")', False, True),
    ("yaml_bool", 'yaml.unmarshal("enabled: yes")', {"enabled": "yes"}, {"enabled": "yes"}),
    ("not_undefined", "count({1 | not input.owner.name})", 1, 1),
]


def _values(engine: Any) -> dict[str, Any]:
    modules = [
        Module(f"{name}.rego", f"package div.{name}\n\nimport rego.v1\n\nvalue := {expr}\n")
        for name, expr, _, _ in DIVERGENCES
    ]
    names = [f"div.{name}" for name, _, _, _ in DIVERGENCES]
    evaluation = engine.evaluate(modules, names, {})
    assert evaluation.compile_errors == {}
    return {name.removeprefix("div."): r.value["value"] for name, r in zip(names, evaluation.results, strict=True)}


def test_the_divergence_classes_are_as_the_readme_says() -> None:
    assert _values(OpaBinary(require_opa())) == {name: opa for name, _, opa, _ in DIVERGENCES}
    assert _values(EmbeddedRego()) == {name: embedded for name, _, _, embedded in DIVERGENCES}


def test_the_opa_engine_decides_the_real_world_shapes_as_an_opa_server_does(tmp_path: Path) -> None:
    binary = require_opa()
    by_binary = run_policies(MODULES, SUITE_INPUT, OpaBinary(binary))
    assert summary(by_binary) == EXPECTED_SUITE == summary(run_policies(MODULES, SUITE_INPUT, EmbeddedRego()))
    policies = {Path(path).name: source for path, source in SUITE.items()}
    with opa_server(binary, tmp_path, policies, v0_compatible=True) as url:
        over_http = run_policies(MODULES, SUITE_INPUT, OpaServer(url))
    assert summary(over_http) == summary(by_binary)


def test_the_default_library_decides_alike_in_both_engines() -> None:
    bundles = [
        {"path": ".maestro/changes/a.yaml", "spec": {"release_tag": "v1"}},
        {"path": ".maestro/changes/b.yaml", "spec": {"data": {"pii": True}, "owners": {"DRI": "ana"}}},
        {"path": ".maestro/changes/c.yaml", "spec": {"release_tag": "v2", "owners": {"DRI": "bo"}, "window": {}}},
    ]
    data_input = {"bundles": bundles}
    library = list(library_modules())
    by_opa = summary(run_policies(library, data_input, OpaBinary(require_opa())))
    assert by_opa == summary(run_policies(library, data_input, EmbeddedRego()))
    assert sorted((path, message.split(": ", 1)[1][:40]) for _, _, message, path, _ in by_opa) == [
        (".maestro/changes/a.yaml", "release bundle v1 has no owners.DRI (exp"),
        (".maestro/changes/a.yaml", "release bundle v1 has no window {start, "),
        (".maestro/changes/b.yaml", "bundle handles PII (data.pii: true) but "),
    ]
