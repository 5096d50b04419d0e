"""Plan -> GitHub-flavoured Markdown, as the PR comment and check-run summary show it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from changebot.model import GateId, GateResult, Plan, Status, Verdict
from changebot.render.gantt import Bar, gantt
from changebot.render.md import GATE_ICON, escape_cell, findings_table
from changebot.render.sequence import sequence_graphs

#: How far ahead the calendar chart looks (the freeze gate lists windows this far ahead).
CHART_SPAN = timedelta(weeks=4)

_VERDICT = {
    Verdict.PASS: ":white_check_mark: **pass**",
    Verdict.WARN: ":warning: **warn**",
    Verdict.FAIL: ":x: **fail**",
}


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
