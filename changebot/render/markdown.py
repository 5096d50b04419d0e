"""Plan -> GitHub-flavoured Markdown, as the PR comment and check-run summary show it."""

from __future__ import annotations

from datetime import timedelta

from changebot.core.commands import format_duration
from changebot.core.freeze.gate import FreezeDetail
from changebot.core.whatif.result import WhatIf
from changebot.model import GateId, GateResult, Plan, Status, Verdict
from changebot.render.gantt import Bar, gantt
from changebot.render.md import GATE_ICON, escape_cell, findings_table, mode_suffix, would_fail_line
from changebot.render.text import action_words
from changebot.render.whatif import whatif_section

#: How far ahead the calendar chart looks (the freeze gate lists windows this far ahead).
CHART_SPAN = timedelta(weeks=4)

_VERDICT = {
    Verdict.PASS: ":white_check_mark: **pass**",
    Verdict.WARN: ":warning: **warn**",
    Verdict.FAIL: ":x: **fail**",
}


def override_hint(gate: GateResult) -> list[str]:
    """How to ask for an override of a freeze in force, and who may grant one (nothing otherwise)."""
    if not isinstance(gate.detail, FreezeDetail) or gate.detail.override_policy is None:
        return []
    policy = gate.detail.override_policy
    if not policy.allowed:
        return [f"> :lock: Overrides of the freeze are not allowed here ({policy.source}).", ""]
    roles = " or ".join(f"**{escape_cell(r)}**" for r in policy.who)
    reason = f"at least {policy.reason_min_len} characters" if policy.reason_min_len else "why"
    return [
        f"> :key: To merge during the freeze, someone with the {roles} role on this repository can comment "
        f'`/changebot override freeze --reason "…"` ({reason}; `--expires` up to '
        f"{format_duration(policy.expires_max)}).",
        "",
    ]


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
        *override_hint(gate),
        "</details>",
        "",
    ]


def render_markdown(plan: Plan) -> str:
    """The whole plan as the PR comment body, ending in a newline."""
    lines = [f"### changebot: {_VERDICT[plan.verdict]}", "", "| gate | status | summary |", "|---|---|---|"]
    lines.extend(
        f"| {g.id} | {GATE_ICON[g.status]} {g.status}{mode_suffix(g)} | {escape_cell(g.summary)} |" for g in plan.gates
    )
    lines.append("")
    lines.extend(would_fail_line(plan.gates))
    for gate in plan.gates:
        lines.extend(gate_section(gate))
        if gate.id is GateId.SEQUENCE and gate.status is not Status.SKIPPED:
            from changebot.render.sequence import sequence_graphs  # noqa: PLC0415 - lazy: only with series

            lines.extend(sequence_graphs(gate))
    if plan.actions:
        lines += ["**Planned actions**", ""]
        lines.extend(f"- `{a.rule}`: {escape_cell(action_words(a))}" for a in plan.actions)
        lines.append("")
    if isinstance(plan.whatif, WhatIf):
        lines.extend(whatif_section(plan.whatif))
    lines.extend(calendar_section(plan))
    lines.append(f"<sub>evaluated at {plan.now.isoformat()}</sub>")
    return "\n".join(lines) + "\n"


def _bars(detail: FreezeDetail) -> list[Bar]:
    bars = [
        Bar(
            "Code freezes" if window.kind == "code_freeze" else "Freeze windows",
            window.name,
            window.start,
            window.end,
            critical=window.enforced,
            inactive=not window.enforced,
        )
        for window in detail.calendar
    ]
    bars += [Bar("Release plans", plan.name, plan.start, plan.end) for plan in detail.plans]
    return bars


def calendar_section(plan: Plan) -> list[str]:
    """A collapsed Mermaid Gantt chart of the coming weeks (freeze windows, code freezes, release plans), from
    the freeze gate's detail; nothing when the freeze gate has no calendar to show."""
    freeze = next((g for g in plan.gates if g.id is GateId.FREEZE), None)
    if freeze is None or not isinstance(freeze.detail, FreezeDetail):
        return []
    bars = _bars(freeze.detail)
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
