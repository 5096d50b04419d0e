"""The ``schema`` gate: every governed file loads, and has the shape its kind requires.

Files are judged as the head has them (the state the repository would be in after the merge), plus the base
versions of governance files the head leaves untouched, since those are what the other gates read.
"""

from __future__ import annotations

from changebot.core import layout
from changebot.core.context import Context
from changebot.model import Finding, GateId, GateResult, Status, error, status_from_findings


def _kind_findings(path: str, data: object) -> list[Finding]:
    """Shape checks that hold for every file of a kind."""
    if layout.matches(path, (layout.BUNDLES, ".maestro/changes/*.yml", layout.PLANS)) and not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "null"
        return [error("not-a-mapping", f"expected a mapping at the top level, found {found}", path, 1)]
    return []


def file_findings(ctx: Context) -> list[Finding]:
    """Load and shape findings for every structured file changebot reads."""
    findings: list[Finding] = list(ctx.head.findings)
    for path in sorted(ctx.head.files):
        if not path.endswith((".yaml", ".yml", ".json")):
            continue
        loaded = ctx.proposal(path)
        if loaded is None:
            continue
        findings.extend(loaded.findings)
        if loaded.document is not None:
            findings.extend(_kind_findings(path, loaded.document.data))
    return findings


def schema_gate(ctx: Context) -> GateResult:
    """Decide the ``schema`` gate."""
    findings = tuple(sorted(file_findings(ctx), key=lambda f: (f.path or "", f.line or 0, f.code)))
    status = status_from_findings(findings)
    checked = sum(1 for p in ctx.head.files if p.endswith((".yaml", ".yml", ".json")))
    if status is Status.PASS:
        summary = f"{checked} file(s) checked, all valid" if checked else "no .maestro files: nothing to govern"
    else:
        errors = sum(1 for f in findings if f.severity == "error")
        summary = f"{errors} error(s) in {len({f.path for f in findings})} of {checked} file(s)"
    return GateResult(GateId.SCHEMA, status, summary, findings)
