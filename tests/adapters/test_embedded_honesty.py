"""The embedded engine says what it cannot run: missing builtins and sprintf verbs are load-time errors with
file:line and a hint, and its evaluation errors carry their line. The real OPA runs the same files."""

from __future__ import annotations

from changebot.adapters.engines.opa_binary import OpaBinary
from changebot.adapters.engines.rego import EmbeddedRego
from changebot.core.policy.decisions import Module
from changebot.core.policy.gate import compile_policies, run_policies
from tests.support.opa import require_opa

HINT = "set policy.engine: opa to run it with OPA itself"
#: Calls that only run when ``input.never`` is true: regorus reported them only if that branch ran.
UNREACHED = """\
package hashes

import rego.v1

lib_format(x) := sprintf("%v", [x])

deny contains msg if {
	input.never
	msg := crypto.sha256(input.pr.title)
}

deny contains msg if {
	input.never
	msg := sprintf("%q is %-5s|", [input.pr.title, lib_format(1)])
}

warn contains msg if {
	msg := sprintf("%d file(s), %v%% done, %.1f", [count(input.pr.files), 50, 1.25])
}
"""
DATA = {"never": False, "pr": {"title": "t", "files": ["a", "b"]}}


def test_missing_builtins_and_refused_verbs_are_found_before_evaluation() -> None:
    outcome = run_policies([Module(".maestro/policies/hashes.rego", UNREACHED)], DATA, EmbeddedRego())
    found = [(f.code, f.line, f.message.split(": ", 1)[1]) for f in outcome.findings]
    assert found == [
        (
            "policy-compile-error",
            9,
            f"calls crypto.sha256, which the embedded engine (regorus) does not have: {HINT} "
            "(at .maestro/policies/hashes.rego:9)",
        ),
        (
            "policy-compile-error",
            14,
            f"sprintf verb %-5s is refused or rendered unlike OPA: {HINT} (at .maestro/policies/hashes.rego:14)",
        ),
        (
            "policy-compile-error",
            14,
            f"sprintf verb %q is refused or rendered unlike OPA: {HINT} (at .maestro/policies/hashes.rego:14)",
        ),
    ]
    assert [p.result for p in outcome.packages] == ["not-compiled"]


def test_the_real_opa_runs_what_the_embedded_engine_refuses() -> None:
    outcome = run_policies([Module(".maestro/policies/hashes.rego", UNREACHED)], DATA, OpaBinary(require_opa()))
    assert [(f.code, f.line, f.message) for f in outcome.findings] == [
        ("policy-warn", 17, "package hashes: 2 file(s), 50% done, 1.2")
    ]


def test_an_evaluation_error_carries_its_line() -> None:
    source = (
        'package div\n\nimport rego.v1\n\ndeny contains m if {\n\tx := 1 / input.zero\n\tm := sprintf("%v", [x])\n}\n'
    )
    outcome = run_policies([Module(".maestro/policies/div.rego", source)], {"zero": 0}, EmbeddedRego())
    assert [(f.code, f.path, f.line) for f in outcome.findings] == [
        ("policy-eval-error", ".maestro/policies/div.rego", 6)
    ]


def test_a_library_finding_names_its_package_and_points_at_no_file_outside_the_repository() -> None:
    library = Module(
        "rules/changebot/extra.rego",
        'package changebot.extra\n\nimport rego.v1\n\ndeny contains "no"\n',
        origin="changebot",
    )
    outcome = run_policies([library], {}, EmbeddedRego())
    assert [(f.code, f.path, f.line, f.message) for f in outcome.findings] == [
        ("policy-deny", None, None, "package changebot.extra: no")
    ]


def test_compile_policies_reports_with_the_configured_engine_and_evaluates_nothing() -> None:
    count = Module(
        ".maestro/policies/count.rego", 'package count\n\nimport rego.v1\n\ndeny contains "n" if {\n\tcount(5) > 1\n}\n'
    )
    hashes = Module(".maestro/policies/hashes.rego", UNREACHED)
    by_opa = compile_policies([count, hashes], OpaBinary(require_opa()))
    assert [(f.path, f.line) for f in by_opa] == [(".maestro/policies/count.rego", 6)]
    assert "rego_type_error: count: invalid argument(s)" in by_opa[0].message
    by_embedded = compile_policies([count, hashes], EmbeddedRego())
    assert [(f.path, f.line) for f in by_embedded] == [(".maestro/policies/hashes.rego", n) for n in (9, 14, 14)]
