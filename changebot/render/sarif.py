"""Findings -> SARIF 2.1.0, the format GitHub code scanning (``github/codeql-action/upload-sarif``) reads.

One run, tool ``changebot``: a rule per finding code (with its gate, help text and a link to the README
section that explains it), a result per finding at its file, line and column, and levels mapped from severity
(``error`` -> ``error``, ``warning`` -> ``warning``, ``notice`` -> ``note``). Code scanning refuses a result
without a location, so a finding about no file is placed on ``.maestro/changebot.yaml``, where the gate that
raised it is configured. Pure functions; the output is checked against the official SARIF 2.1.0 JSON Schema in
the tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from changebot import __version__
from changebot.model import Finding, GateId, GateMode, Plan, Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
HOME = "https://github.com/changebot/changebot"
#: Where a finding with no file is reported (code scanning needs a location for every result).
NO_FILE = ".maestro/changebot.yaml"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}

#: Per gate: the README section that explains its findings, and what to do about one.
_GATE_HELP: dict[GateId, tuple[str, str]] = {
    GateId.SCHEMA: (
        "finding-codes",
        "A governed file does not load, does not match its JSON Schema, or disagrees with another file. Fix the "
        "file at the place shown; `changebot validate` checks it again locally.",
    ),
    GateId.RULES: (
        "rulesjson-the-rules-gate",
        "A rule in .maestro/rules.json (read from the base branch) matched this change, or could not be evaluated.",
    ),
    GateId.POLICY: (
        "rego-policies-the-policy-gate",
        "A Rego policy (read from the base branch) denied or warned about this change, or could not be evaluated "
        "(policy engines fail closed).",
    ),
    GateId.FREEZE: (
        "changebot-freeze",
        "A freeze window is in force for the target branch, or a freeze calendar could not be read. Wait for the "
        "window to end or ask for an override with `/changebot override freeze --reason ...`.",
    ),
    GateId.BUDGET: (
        "changebot-budget",
        "The estimated CI cost of this change is over the per-run cap or its lane's share of the month, or the "
        "pipeline could not be read.",
    ),
    GateId.SEQUENCE: (
        "patch-series-changebot-sequence",
        "A patch series does not apply in order on the base branch, or is malformed.",
    ),
}


def _name(code: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", code) if part) or "Finding"


def _rule(code: str, gate: GateId, first: Finding) -> dict[str, Any]:
    anchor, text = _GATE_HELP[gate]
    uri = f"{HOME}#{anchor}"
    return {
        "id": code,
        "name": _name(code),
        "shortDescription": {"text": f"changebot {gate} gate: {code}"},
        "fullDescription": {"text": text},
        "help": {"text": f"{text} See {uri}", "markdown": f"{text} See [the README]({uri})."},
        "helpUri": uri,
        "defaultConfiguration": {"level": _LEVEL[first.severity]},
        "properties": {"tags": ["changebot", str(gate)]},
    }


def _location(finding: Finding) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": finding.path or NO_FILE, "uriBaseId": "%SRCROOT%"}}
    if finding.path is not None and finding.line is not None:
        region: dict[str, Any] = {"startLine": finding.line}
        if finding.column is not None:
            region["startColumn"] = finding.column
        physical["region"] = region
    return {"physicalLocation": physical}


def sarif_log(found: Sequence[tuple[GateId, GateMode, Finding]], command: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log of ``found`` (gate, the gate's mode, finding), from ``changebot <command>``."""
    rules: dict[str, dict[str, Any]] = {}
    index: dict[str, int] = {}
    results = []
    for gate, mode, finding in found:
        if finding.code not in rules:
            index[finding.code] = len(rules)
            rules[finding.code] = _rule(finding.code, gate, finding)
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": _LEVEL[finding.severity],
            "message": {"text": finding.message or finding.code},
            "locations": [_location(finding)],
            "properties": {"gate": str(gate), "mode": str(mode)},
        }
        results.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "changebot",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": HOME,
                        "rules": list(rules.values()),
                    }
                },
                "automationDetails": {"id": f"changebot/{command}/"},
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository's root."}}},
                "results": results,
            }
        ],
    }


def _text(log: dict[str, Any]) -> str:
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def render_sarif(plan: Plan) -> str:
    """``changebot plan --format sarif``: every gate's findings."""
    return _text(sarif_log([(g.id, g.mode, f) for g in plan.gates for f in g.findings], "plan"))


def render_sarif_findings(findings: Sequence[Finding], mode: GateMode = GateMode.ENFORCE) -> str:
    """``changebot validate --format sarif``: the schema gate's findings."""
    return _text(sarif_log([(GateId.SCHEMA, mode, f) for f in findings], "validate"))
