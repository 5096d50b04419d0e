"""Bounded rules and policy gates: caps on how many rules and policies are evaluated, and one time budget per
gate shared by the base evaluation and the head preview (issue 16, item 15)."""

from __future__ import annotations

import pytest

from changebot.adapters.engines import worker
from changebot.adapters.engines.rego import EmbeddedRego
from changebot.core.policy.gate import MAX_POLICY_MODULES, policy_gate
from changebot.core.policy.rules import MAX_RULES
from changebot.model import Status
from changebot.usecases.plan import gates
from tests.support.policy_helpers import context, dumps, rule

RULES = ".maestro/rules.json"
HANG = "/^(a+)+$/.test('a'.repeat(40) + 'b')"  # QuickJS cannot interrupt it: each costs its whole deadline


def _by_id(ctx_base: dict[str, str], ctx_head: dict[str, str] | None = None) -> dict[str, object]:
    return {str(g.id): g for g in gates(context(ctx_base, ctx_head))}


def test_more_rules_than_the_cap_are_refused_before_any_runs() -> None:
    many = dumps([rule(f"r{n}", "payload.title.length > 0") for n in range(MAX_RULES + 1)])
    ctx = context({RULES: many})
    [result] = [g for g in gates(ctx) if str(g.id) == "rules"]
    assert result.status is Status.FAIL
    assert [(f.code, f.path, f.message) for f in result.findings] == [
        (
            "rules-too-many",
            RULES,
            f"rules.json holds {MAX_RULES + 1:,} rules; the limit is {MAX_RULES:,}: none was evaluated",
        )
    ]


def test_more_policy_files_than_the_cap_are_refused_before_any_runs() -> None:
    files = {f".maestro/policies/p{n}.rego": f"package p{n}\n\ndeny contains 'x' if false\n" for n in range(300)}
    gate = policy_gate(context(files), EmbeddedRego(), [])
    assert gate.status is Status.FAIL
    [finding] = [f for f in gate.findings if f.code == "policy-too-many"]
    assert finding.message.startswith(f"{300 + len(EmbeddedRego().library())} policy modules; the limit is")
    assert f"{MAX_POLICY_MODULES:,}" in finding.message


def test_the_base_and_the_head_preview_share_one_rules_gate_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "GATE_SECONDS", 3.0)
    base = {RULES: dumps([rule(f"slow{n}", HANG) for n in range(6)])}
    head = {RULES: dumps([rule(f"slower{n}", HANG) for n in range(6)])}
    [result] = [g for g in gates(context(base, head)) if str(g.id) == "rules"]
    assert result.status is Status.FAIL
    budget = [f for f in result.findings if f.code == "gate-over-budget"]
    assert [f.message for f in budget] == [
        "the rules gate ran past its 3 s budget: what was not evaluated by then failed (never a pass)"
    ]
    preview = result.detail.to_json()["head"]
    assert {r["error"] for r in preview["rules"]} == {"not evaluated: the rules gate's 3 s budget ran out"}
