"""The ``opa`` engine's limits: a slow package and a conflicting one fail alone, the rest still decide."""

from __future__ import annotations

from pathlib import Path

from changebot.adapters.engines.opa_binary import OpaBinary
from changebot.core.policy.decisions import Module
from changebot.core.policy.gate import compile_policies, run_policies
from tests.support.opa import require_opa

SLOW = 'package slow\n\nimport rego.v1\n\ndeny contains "x" if count(numbers.range(1, 300000000)) > 1\n'
CONFLICT = "package conflict\n\nimport rego.v1\n\nallow := true\n\nallow := false if input.x\n"
OK = 'package ok\n\nimport rego.v1\n\nwarn contains "still decided" if true\n'


def test_a_package_past_its_deadline_or_in_conflict_fails_alone() -> None:
    modules = [Module("p/slow.rego", SLOW), Module("p/conflict.rego", CONFLICT), Module("p/ok.rego", OK)]
    outcome = run_policies(modules, {"x": True}, OpaBinary(require_opa(), timeout_seconds=1))
    found = [(f.code, f.path, f.line, f.message) for f in outcome.findings]
    assert found[0][:3] == ("policy-eval-error", "p/conflict.rego", 7)
    assert "eval_conflict_error: rule data.conflict.allow produced conflicting values" in found[0][3]
    assert "/tmp" not in found[0][3] and "p/conflict.rego:5" in found[0][3]
    assert found[1:] == [
        ("policy-warn", "p/ok.rego", 5, "package ok: still decided"),
        ("policy-timeout", "p/slow.rego", None, "package slow: opa eval did not finish within 1 s (stopped)"),
    ]


def test_a_binary_that_is_not_opa_fails_closed(tmp_path: Path) -> None:
    fake = tmp_path / "opa"
    fake.write_text("#!/bin/sh\necho not opa\nexit 0\n", encoding="utf-8")
    fake.chmod(0o755)
    outcome = run_policies([Module("p/ok.rego", OK)], {}, OpaBinary(str(fake)))
    assert [(f.severity.value, f.code, f.path) for f in outcome.findings] == [
        ("error", "policy-unavailable", "p/ok.rego")
    ]
    assert f"could not run {fake}" in outcome.findings[0].message
    unchecked = compile_policies([Module("p/ok.rego", OK)], OpaBinary(str(fake)))
    assert [(f.code, f.path) for f in unchecked] == [("policy-compile-error", "p/ok.rego")]
