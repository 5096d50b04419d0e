"""Plan -> the JSON document other tools rely on (CONTRIBUTING.md, "The JSON contract"; schemas/plan.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from changebot import __version__
from changebot.core.whatif.result import WhatIf
from changebot.model import Finding, GateResult, Plan

#: Keys every gate object has; a gate detail's JSON may not reuse them.
GATE_KEYS = frozenset({"id", "status", "mode", "summary", "findings"})


def finding_to_json(finding: Finding) -> dict[str, Any]:
    """One finding as the contract writes it."""
    return {
        "severity": str(finding.severity),
        "code": finding.code,
        "message": finding.message,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
    }


def detail_to_json(gate: GateResult) -> dict[str, Any]:
    """The gate's detail as the keys the gate object carries beside ``findings`` (``GateDetail.to_json``)."""
    detail = gate.detail.to_json()
    clash = GATE_KEYS & set(detail)
    if clash:
        raise ValueError(f"gate {gate.id} detail reuses reserved key(s) {sorted(clash)}")
    return detail


def gate_to_json(gate: GateResult) -> dict[str, Any]:
    """One gate: ``id``, ``status``, ``mode``, ``summary``, ``findings``, then its detail's keys beside them."""
    return {
        "id": str(gate.id),
        "status": str(gate.status),
        "mode": str(gate.mode),
        "summary": gate.summary,
        "findings": [finding_to_json(f) for f in gate.findings],
        **detail_to_json(gate),
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The whole plan as a JSON-ready mapping."""
    return {
        "changebot": __version__,
        "verdict": str(plan.verdict),
        "now": plan.now.isoformat(),
        "repo": plan.repo,
        "base": plan.base,
        "head": plan.head,
        "pr": {
            "event": plan.pr.event,
            "number": plan.pr.number,
            "base_branch": plan.pr.base_branch,
            "author": plan.pr.author,
            "title": plan.pr.title,
            "labels": list(plan.pr.labels),
            "files": [f.path for f in plan.pr.files],
        },
        "gates": [gate_to_json(g) for g in plan.gates],
        "actions": [{"rule": a.rule, "do": a.do, "with": dict(a.with_)} for a in plan.actions],
        **({"whatif": plan.whatif.to_json()} if isinstance(plan.whatif, WhatIf) else {}),
    }


def json_text(value: Any) -> str:
    """``value`` as the JSON every ``--format json`` writes: indented, UTF-8 as is, ending in a newline."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def render_json(plan: Plan) -> str:
    """The plan as indented JSON text, ending in a newline."""
    return json_text(plan_to_json(plan))
