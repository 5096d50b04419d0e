"""Plan -> GitHub-flavoured Markdown, as the PR comment and check-run summary show it."""

from __future__ import annotations

from changebot.model import Finding, GateId, GateResult, Plan, Status, Verdict

_ICON = {
    Status.PASS: ":white_check_mark:",
    Status.WARN: ":warning:",
    Status.FAIL: ":x:",
    Status.SKIPPED: ":fast_forward:",
}
_VERDICT = {
    Verdict.PASS: ":white_check_mark: **pass**",
    Verdict.WARN: ":warning: **warn**",
    Verdict.FAIL: ":x: **fail**",
}


def escape_cell(text: str) -> str:
    """Make ``text`` safe inside one table cell (pipes, newlines, and HTML-ish brackets)."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _where(finding: Finding) -> str:
    return f"`{finding.where()}`" if finding.path else "—"


def findings_table(findings: tuple[Finding, ...]) -> list[str]:
    """A table of findings: severity, where, code, message."""
    lines = ["| severity | where | code | message |", "|---|---|---|---|"]
    lines.extend(f"| {f.severity} | {_where(f)} | `{f.code}` | {escape_cell(f.message)} |" for f in findings)
    return lines


def gate_section(gate: GateResult) -> list[str]:
    """A collapsible section per gate that has findings."""
    if not gate.findings:
        return []
    opened = " open" if gate.status is Status.FAIL else ""
    return [
        f"<details{opened}><summary>{_ICON[gate.status]} <b>{gate.id}</b>: {escape_cell(gate.summary)}</summary>",
        "",
        *findings_table(gate.findings),
        "",
        "</details>",
        "",
    ]


def render_markdown(plan: Plan) -> str:
    """The whole plan as the PR comment body, ending in a newline."""
    lines = [f"### changebot: {_VERDICT[plan.verdict]}", "", "| gate | status | summary |", "|---|---|---|"]
    lines.extend(f"| {g.id} | {_ICON[g.status]} {g.status} | {escape_cell(g.summary)} |" for g in plan.gates)
    lines.append("")
    for gate in plan.gates:
        lines.extend(gate_section(gate))
        if gate.id is GateId.SEQUENCE and gate.detail.get("series"):
            from changebot.render.sequence import sequence_graphs  # noqa: PLC0415 - render.sequence imports this

            lines.extend(sequence_graphs(gate))
    if plan.actions:
        lines += ["**Planned actions**", ""]
        lines.extend(f"- `{a.rule}`: {a.do} {escape_cell(str(dict(a.with_)))}" for a in plan.actions)
        lines.append("")
    lines.append(f"<sub>evaluated at {plan.now.isoformat()}</sub>")
    return "\n".join(lines) + "\n"
