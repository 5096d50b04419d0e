"""The budget gate's price list: step by step, as text, Markdown or JSON. Pure."""

from __future__ import annotations

from changebot.core.budget.gate import BudgetDetail, BudgetMonth, PricedStep
from changebot.core.budget.when import Runs
from changebot.model import GateResult, Status
from changebot.render.json import gate_to_json, json_text
from changebot.render.md import escape_cell, findings_table
from changebot.render.text import finding_line


def _usd(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def _cost(step: PricedStep) -> str:
    return _usd(round(step.cost_usd, 6))


def _runs_cell(step: PricedStep) -> str:
    if step.run.runs is Runs.MAYBE:
        return f"maybe: {escape_cell(step.run.reason)}"
    return str(step.run.runs)


def _month_line(month: BudgetMonth | None) -> str:
    if month is None:
        return "month: no .maestro/ci_budget.json"
    if month.error is not None:
        return f"month: lane {month.lane}: {month.error}"
    spent = month.spent_usd
    line = (
        f"month {month.period}, lane {month.lane}: spent {_usd(spent) if spent is not None else 'unknown'}; "
        f"soft limit {_usd(month.soft_usd)}, hard limit {_usd(month.hard_usd)}"
    )
    if spent is not None:
        line += f"; after this run {_usd(month.projected_low_usd)} to {_usd(month.projected_high_usd)}"
    return line


def _detail(gate: GateResult) -> BudgetDetail:
    if not isinstance(gate.detail, BudgetDetail):
        raise TypeError(f"expected the budget gate's detail, found {type(gate.detail).__name__}")
    return gate.detail


def render_budget_text(gate: GateResult) -> str:
    """The price list for a terminal, ending in a newline."""
    if gate.status is Status.SKIPPED:
        return f"budget: skipped: {gate.summary}\n"
    d = _detail(gate)
    width = max([len(s.run.step.id) for s in d.steps] + [4])
    lines = [f"budget ({d.event} run, lane {d.lane}): {gate.status}", ""]
    lines.append(f"  {'step':<{width}}  runs   {'cost':>9}  basis")
    for s in d.steps:
        lines.append(f"  {s.run.step.id:<{width}}  {s.run.runs!s:<5}  {_cost(s):>9}  {s.basis}")
        if s.run.runs is Runs.MAYBE:
            lines.append(f"  {'':<{width}}  {'':<5}  {'':>9}  may run: {s.run.reason}")
    lines += [
        "",
        f"  low (will run):             {_usd(d.low_usd)}",
        f"  high (will run + may run):  {_usd(d.high_usd)}",
        f"  per-run cap:                {_usd(d.hard_cap_usd) if d.hard_cap_usd is not None else 'none'}",
        "  " + _month_line(d.month),
    ]
    if gate.findings:
        lines += ["", "findings:"]
        lines.extend(f"  {finding_line(f)}" for f in gate.findings)
    return "\n".join(lines) + "\n"


def render_budget_markdown(gate: GateResult) -> str:
    """The price list as a Markdown table, ending in a newline."""
    if gate.status is Status.SKIPPED:
        return f"**budget**: skipped: {escape_cell(gate.summary)}\n"
    d = _detail(gate)
    lines = [
        f"### CI budget: {gate.status} ({escape_cell(d.event)} run, lane `{escape_cell(d.lane)}`)",
        "",
        "| step | runs | cost | basis |",
        "|---|---|---:|---|",
    ]
    lines.extend(
        f"| `{escape_cell(s.run.step.id)}` | {_runs_cell(s)} | {_cost(s)} | {escape_cell(s.basis)} |" for s in d.steps
    )
    cap = _usd(d.hard_cap_usd) if d.hard_cap_usd is not None else "none"
    lines += [
        "",
        f"**low** {_usd(d.low_usd)} · **high** {_usd(d.high_usd)} · **per-run cap** {cap}",
        "",
        escape_cell(_month_line(d.month)),
        "",
    ]
    if gate.findings:
        lines += [*findings_table(gate.findings), ""]
    return "\n".join(lines)


def render_budget_json(gate: GateResult) -> str:
    """The gate as the plan's JSON writes it, alone."""
    return json_text(gate_to_json(gate))
