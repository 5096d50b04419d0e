"""The ``budget`` gate: what the CI run this pull request triggers will cost, against the per-run cap and the month.

Price of a step, first that applies: its ``cost_usd``; its ``minutes`` x ``budget.usd_per_minute`` (settings,
default 0.008, GitHub's Linux rate); its recorded cost in the spend source's history (the ledger's ``step``
rows); otherwise ``budget.default_step_minutes`` (default 10) x the rate. The **low** estimate adds the steps that
will run, the **high** one adds the steps that may run (see ``changebot.core.budget.pipeline``).

Limits (all read from the **base** branch):

* per run, ``pipeline.budgets.hard_cap_usd``: **fail** when the low estimate is over it, **warn** when only the
  high one is;
* per month and lane, from ``.maestro/ci_budget.json``: soft = ``monthlyUsd x prio[lane] x softPct``, hard =
  ``monthlyUsd x prio[lane] x hardPct``. With month-to-date spend from the ``SpendSource``: **fail** when spend +
  low is over hard, **warn** when spend + high is over soft (or over hard). Without a spend source the month is
  reported as unknown (a notice), never as fine.

The lane is ``budget.lanes[event]`` from settings when set; otherwise ``pull_request`` for pull_request events
and the target branch (``main``) for every other event (``core.budget.lanes``, the rule the spend source sorts
past runs by too). A lane with no ``prio``, or a ``prio`` of 0, is an error:
nothing says what share of the month it may use. No pipeline: **skipped**. Pure (the spend source is handed in).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from changebot.core.budget.lanes import lane_of
from changebot.core.budget.pipeline import Pipeline, StepRun, money, plan_steps, read_pipeline, run_facts
from changebot.core.budget.spend import SpendSource
from changebot.core.budget.when import Runs
from changebot.core.context import Context
from changebot.core.documents import layout
from changebot.core.documents.load import Document
from changebot.core.freeze.gate import default_branch
from changebot.model import (
    Finding,
    GateDetail,
    GateId,
    GateResult,
    error,
    notice,
    skipped,
    status_from_findings,
    warning,
)

DEFAULT_USD_PER_MINUTE = 0.008
DEFAULT_STEP_MINUTES = 10.0


def usd(value: float) -> str:
    """``$1,234.57``."""
    return f"${value:,.2f}"


@dataclass(frozen=True)
class PricedStep:
    """A step, whether it runs, what it costs and why that figure."""

    run: StepRun
    cost_usd: float
    basis: str

    def to_json(self) -> dict[str, Any]:
        """The step as the gate's detail writes it."""
        return {
            "id": self.run.step.id,
            "runs": str(self.run.runs),
            "cost_usd": round(self.cost_usd, 6),
            "basis": self.basis,
            "when": self.run.step.when,
        }


@dataclass(frozen=True)
class BudgetMonth:
    """The lane's month from ``.maestro/ci_budget.json``; ``error`` (and nothing else) when it cannot be read.

    Money is in USD as reported (rounded to 6 places); ``spent_usd`` and the projections are ``None`` when the
    month-to-date spend is unknown.
    """

    lane: str
    error: str | None = None
    period: str = ""
    monthly_usd: float = 0.0
    prio: float = 0.0
    soft_pct: float = 0.0
    hard_pct: float = 0.0
    soft_usd: float = 0.0
    hard_usd: float = 0.0
    spent_usd: float | None = None
    projected_low_usd: float | None = None
    projected_high_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The month as the gate's JSON writes it (``{lane, error, spent_usd}`` when it cannot be read)."""
        if self.error is not None:
            return {"lane": self.lane, "error": self.error, "spent_usd": self.spent_usd}
        return {
            "lane": self.lane,
            "period": self.period,
            "monthly_usd": self.monthly_usd,
            "prio": self.prio,
            "soft_pct": self.soft_pct,
            "hard_pct": self.hard_pct,
            "soft_usd": self.soft_usd,
            "hard_usd": self.hard_usd,
            "spent_usd": self.spent_usd,
            "projected_low_usd": self.projected_low_usd,
            "projected_high_usd": self.projected_high_usd,
        }


@dataclass(frozen=True)
class BudgetDetail(GateDetail):
    """The budget gate's detail: the run's price range (USD, rounded to 6 places), each priced step, the month."""

    event: str
    lane: str
    low_usd: float
    high_usd: float
    hard_cap_usd: float | None
    usd_per_minute: float
    steps: tuple[PricedStep, ...]
    month: BudgetMonth | None

    def to_json(self) -> dict[str, Any]:
        """The detail in the plan's JSON."""
        return {
            "event": self.event,
            "lane": self.lane,
            "low_usd": self.low_usd,
            "high_usd": self.high_usd,
            "hard_cap_usd": self.hard_cap_usd,
            "usd_per_minute": self.usd_per_minute,
            "steps": [p.to_json() for p in self.steps],
            "month": None if self.month is None else self.month.to_json(),
        }


@dataclass(frozen=True)
class BudgetSettings:
    """The ``budget`` section of the settings with defaults applied."""

    usd_per_minute: float
    default_step_minutes: float
    lanes: Mapping[str, str]


def budget_settings(ctx: Context) -> BudgetSettings:
    """Settings with defaults; wrong types fall back to defaults (the schema gate reports them)."""
    section = ctx.settings.section("budget")

    def number(key: str, default: float) -> float:
        value = section.get(key, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
        return float(value) if ok else default

    lanes = section.get("lanes")
    return BudgetSettings(
        number("usd_per_minute", DEFAULT_USD_PER_MINUTE),
        number("default_step_minutes", DEFAULT_STEP_MINUTES),
        {str(k): v for k, v in lanes.items() if isinstance(v, str)} if isinstance(lanes, Mapping) else {},
    )


def price(runs: tuple[StepRun, ...], settings: BudgetSettings, spend: object | None) -> list[PricedStep]:
    """Each step's cost and basis (see the module docstring for the order of preference)."""
    history = getattr(spend, "step_cost_usd", None)
    rate = settings.usd_per_minute
    out = []
    for run in runs:
        step = run.step
        recorded = history(step.id) if callable(history) and step.cost_usd is None and step.minutes is None else None
        if step.cost_usd is not None:
            out.append(PricedStep(run, step.cost_usd, "cost_usd"))
        elif step.minutes is not None:
            out.append(PricedStep(run, step.minutes * rate, f"{step.minutes:g} min x ${rate:g}/min"))
        elif isinstance(recorded, int | float) and not isinstance(recorded, bool):
            out.append(PricedStep(run, float(recorded), "recorded history (mean per run)"))
        else:
            minutes = settings.default_step_minutes
            out.append(PricedStep(run, minutes * rate, f"default {minutes:g} min x ${rate:g}/min"))
    return out


def lane_for(ctx: Context, settings: BudgetSettings) -> str:
    """The budget lane of this run (``core.budget.lanes``): the target branch is the branch it is for."""
    return lane_of(ctx.pr.event, ctx.pr.base_branch or default_branch(ctx), settings.lanes)


def budget_numbers(doc: Document, findings: list[Finding]) -> dict[str, float | None]:
    """``monthlyUsd``, ``softPct`` and ``hardPct`` of a ci_budget.json, and every ``prio`` share: a missing or
    bad number is a finding (``None`` in the result). The one reader of these numbers, for the gate and checks."""
    data = doc.data if isinstance(doc.data, Mapping) else {}
    path = doc.path
    numbers: dict[str, float | None] = {}
    for key in ("monthlyUsd", "softPct", "hardPct"):
        if key not in data:
            findings.append(error("budget-missing", f"ci_budget.json has no {key!r}", path, doc.line(())))
        numbers[key] = money(data.get(key), path, doc.line((key,)), f"ci_budget.json {key}", findings)
    soft, hard = numbers["softPct"], numbers["hardPct"]
    if soft is not None and hard is not None and soft > hard:
        findings.append(
            error(
                "budget-soft-over-hard",
                f"softPct {soft:g} is above hardPct {hard:g}: the soft limit must not exceed the hard one",
                path,
                doc.line(("softPct",)),
            )
        )
    prio = data.get("prio")
    if isinstance(prio, Mapping):
        for lane, share in prio.items():
            money(share, path, doc.line(("prio", lane)), f"prio[{lane!r}]", findings)
    return numbers


def _month(
    ctx: Context,
    lane: str,
    lanes: Mapping[str, str],
    low: float,
    high: float,
    spend: SpendSource | None,
    findings: list[Finding],
) -> BudgetMonth | None:
    loaded = ctx.governance(layout.CI_BUDGET)
    if loaded is None:
        return None
    findings.extend(loaded.findings)
    doc = loaded.document
    if doc is None:
        return None
    data = doc.data if isinstance(doc.data, Mapping) else {}
    path = doc.path
    numbers = budget_numbers(doc, findings)
    prio_map = data.get("prio")
    prio_raw = prio_map.get(lane) if isinstance(prio_map, Mapping) else None
    prio = money(prio_raw, path, doc.line(("prio", lane)), f"prio[{lane!r}]", [])  # budget_numbers reported it
    if prio_raw is None or prio == 0:
        found = "is 0" if prio == 0 else "is missing"
        findings.append(
            error(
                "budget-prio-missing",
                f"prio[{lane!r}] {found}: ci_budget.json must give lane {lane!r} a share of the month above 0 "
                f"(lanes with a prio: {', '.join(prio_map) if isinstance(prio_map, Mapping) else 'none'})",
                path,
                doc.line(("prio", lane)) if prio_raw is not None else doc.line(("prio",)),
            )
        )
    monthly, soft_pct, hard_pct = numbers["monthlyUsd"], numbers["softPct"], numbers["hardPct"]
    if monthly is None or soft_pct is None or hard_pct is None or not prio:
        return BudgetMonth(lane, error="ci_budget.json cannot be read for this lane")
    soft, hard = monthly * prio * soft_pct, monthly * prio * hard_pct
    spent = spend.month_to_date_usd(lane, ctx.now, lanes) if spend is not None else None
    formula = f"monthlyUsd {monthly:g} x prio[{lane}] {prio:g}"
    month = BudgetMonth(
        lane=lane,
        period=ctx.now.astimezone(UTC).strftime("%Y-%m"),
        monthly_usd=monthly,
        prio=prio,
        soft_pct=soft_pct,
        hard_pct=hard_pct,
        soft_usd=round(soft, 6),
        hard_usd=round(hard, 6),
        spent_usd=spent,
        projected_low_usd=None if spent is None else round(spent + low, 6),
        projected_high_usd=None if spent is None else round(spent + high, 6),
    )
    if spent is None:
        findings.append(
            notice(
                "budget-month-unknown",
                f"month-to-date spend for lane {lane!r} is unknown (pass --ledger FILE); limits are soft "
                f"{usd(soft)}, hard {usd(hard)}",
                path,
            )
        )
    elif spent + low > hard:
        findings.append(
            error(
                "budget-month-hard",
                f"lane {lane!r}: month-to-date {usd(spent)} + this run {usd(low)} = {usd(spent + low)} is over the "
                f"hard limit {usd(hard)} ({formula} x hardPct {hard_pct:g})",
                path,
                doc.line(("hardPct",)),
            )
        )
    elif spent + high > soft:
        over = "hard" if spent + high > hard else "soft"
        limit = hard if over == "hard" else soft
        findings.append(
            warning(
                f"budget-month-{over}-risk" if over == "hard" else "budget-month-soft",
                f"lane {lane!r}: month-to-date {usd(spent)} + this run up to {usd(high)} = {usd(spent + high)} is "
                f"over the {over} limit {usd(limit)} ({formula} x {over}Pct "
                f"{hard_pct if over == 'hard' else soft_pct:g})",
                path,
                doc.line((f"{over}Pct",)),
            )
        )
    return month


def _cap(pipeline: Pipeline, low: float, high: float, findings: list[Finding]) -> None:
    cap = pipeline.hard_cap_usd
    if cap is None:
        return
    if low > cap:
        findings.append(
            error(
                "budget-run-cap",
                f"this run costs at least {usd(low)}, over the per-run cap hard_cap_usd {usd(cap)}",
                pipeline.path,
                pipeline.hard_cap_line,
            )
        )
    elif high > cap:
        findings.append(
            warning(
                "budget-run-cap-risk",
                f"this run may cost up to {usd(high)}, over the per-run cap hard_cap_usd {usd(cap)} "
                f"(at least {usd(low)})",
                pipeline.path,
                pipeline.hard_cap_line,
            )
        )


def estimate(ctx: Context, spend: SpendSource | None) -> tuple[Pipeline | None, list[PricedStep], list[Finding]]:
    """Read the pipeline from base and price every step for ``ctx.pr.event``."""
    loaded = ctx.governance(layout.PIPELINE)
    if loaded is None:
        return None, [], []
    findings = list(loaded.findings)
    if loaded.document is None:
        return None, [], findings
    pipeline, more = read_pipeline(loaded.document)
    findings += more
    if pipeline is None:
        return None, [], findings
    runs, more = plan_steps(pipeline, run_facts(ctx.pr, default_branch(ctx), ctx.changed_paths()))
    findings += more
    return pipeline, price(runs, budget_settings(ctx), spend), findings


def budget_gate(ctx: Context, spend: SpendSource | None) -> GateResult:
    """Price the run and judge it against the per-run cap and the month."""
    if ctx.governance(layout.PIPELINE) is None:
        return skipped(GateId.BUDGET, f"no pipeline in this repository ({layout.PIPELINE} is absent on the base)")
    settings = budget_settings(ctx)
    pipeline, priced, findings = estimate(ctx, spend)
    low = math.fsum(p.cost_usd for p in priced if p.run.runs is Runs.YES)
    high = low + math.fsum(p.cost_usd for p in priced if p.run.runs is Runs.MAYBE)
    lane = lane_for(ctx, settings)
    month = None
    if pipeline is not None:
        _cap(pipeline, low, high, findings)
        month = _month(ctx, lane, settings.lanes, low, high, spend, findings)
    status = status_from_findings(findings)
    will = sum(1 for p in priced if p.run.runs is Runs.YES)
    may = sum(1 for p in priced if p.run.runs is Runs.MAYBE)
    summary = f"{ctx.pr.event} run: {usd(low)}" + (f" to {usd(high)}" if high > low else "")
    summary += f" ({will} step(s) will run, {may} may run)"
    if pipeline is not None and pipeline.hard_cap_usd is not None:
        summary += f"; per-run cap {usd(pipeline.hard_cap_usd)}"
    if month is not None and month.spent_usd is not None:
        summary += f"; lane {lane} month {usd(month.spent_usd)} of soft {usd(month.soft_usd)}"
    detail = BudgetDetail(
        event=ctx.pr.event,
        lane=lane,
        low_usd=round(low, 6),
        high_usd=round(high, 6),
        hard_cap_usd=pipeline.hard_cap_usd if pipeline else None,
        usd_per_minute=settings.usd_per_minute,
        steps=tuple(priced),
        month=month,
    )
    return GateResult(GateId.BUDGET, status, summary, tuple(findings), detail)
