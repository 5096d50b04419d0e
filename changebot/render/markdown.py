"""Plan -> GitHub-flavoured Markdown, as the PR comment and check-run summary show it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from changebot.model import Finding, GateId, GateResult, Plan, Status, Verdict
from changebot.render.gantt import Bar, gantt

#: How far ahead the calendar chart looks (the freeze gate lists windows this far ahead).
CHART_SPAN = timedelta(weeks=4)

#: The icon of each gate status (the plan table, the sections, the sequence report).
GATE_ICON = {
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


def code_cell(text: str) -> str:
    """``text`` as inline code inside one table cell: pipes escaped, line breaks as spaces, and a fence of more
    backticks than ``text`` holds in a row (file names may contain any of these)."""
    flat = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _where(finding: Finding) -> str:
    return code_cell(finding.where()) if finding.path else "—"


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
        f"<details{opened}><summary>{GATE_ICON[gate.status]} <b>{gate.id}</b>: {escape_cell(gate.summary)}</summary>",
        "",
        *findings_table(gate.findings),
        "",
        "</details>",
        "",
    ]


def render_markdown(plan: Plan) -> str:
    """The whole plan as the PR comment body, ending in a newline."""
    lines = [f"### changebot: {_VERDICT[plan.verdict]}", "", "| gate | status | summary |", "|---|---|---|"]
    lines.extend(f"| {g.id} | {GATE_ICON[g.status]} {g.status} | {escape_cell(g.summary)} |" for g in plan.gates)
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
    lines.extend(calendar_section(plan))
    lines.append(f"<sub>evaluated at {plan.now.isoformat()}</sub>")
    return "\n".join(lines) + "\n"


def _bars(entries: Any, section: str, kind: str) -> list[Bar]:
    bars: list[Bar] = []
    for entry in entries if isinstance(entries, list) else []:
        try:
            start, end = datetime.fromisoformat(entry["start"]), datetime.fromisoformat(entry["end"])
        except (KeyError, TypeError, ValueError):
            continue
        enforced = bool(entry.get("enforced", True)) and kind == "freeze"
        label = "Code freezes" if entry.get("kind") == "code_freeze" else section
        bars.append(
            Bar(
                label,
                str(entry.get("name", "")),
                start,
                end,
                critical=enforced,
                inactive=kind == "freeze" and not entry.get("enforced", True),
            )
        )
    return bars


def calendar_section(plan: Plan) -> list[str]:
    """A collapsed Mermaid Gantt chart of the coming weeks (freeze windows, code freezes, release plans), from
    the freeze gate's detail; nothing when the freeze gate has no calendar to show."""
    freeze = next((g for g in plan.gates if g.id is GateId.FREEZE), None)
    if freeze is None:
        return []
    bars = _bars(freeze.detail.get("calendar"), "Freeze windows", "freeze")
    bars += _bars(freeze.detail.get("plans"), "Release plans", "plan")
    if not bars:
        return []
    chart = gantt(bars, plan.now, plan.now + CHART_SPAN, "Coming freezes")
    return [
        "<details><summary>:calendar: Freeze calendar, next 4 weeks</summary>",
        "",
        chart.rstrip("\n"),
        "",
        "</details>",
        "",
    ]
