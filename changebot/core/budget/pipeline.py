"""``.maestro/pipeline.yaml`` -> steps, and which of them run for one event.

A step runs *yes*, *no* or *maybe* (see ``changebot.core.budget.when``). What is known about each event:

============================  ====================================  ===========  =====================
event                         ``branch``                            ``tag``      ``files_changed()``
============================  ====================================  ===========  =====================
``pull_request``              the PR's head branch (unknown if not  ``""``       the PR's changed files
                              given)
``push`` (the merge)          the base branch                       ``""``       the PR's changed files
``schedule``                  the default branch                    ``""``       false (no diff)
``workflow_dispatch``         the base branch                       ``""``       false (no diff)
any other event               the base branch                       unknown      the PR's changed files
============================  ====================================  ===========  =====================

``event`` is always known; ``input.*`` and every other name are unknown. ``step_succeeded(id)`` is true when
step ``id`` runs *yes* (the estimate prices the run in which steps succeed), false when it runs *no*, unknown
when it *maybe* runs; naming a step that does not exist, or one that comes later, is a finding. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from changebot.core.budget.when import UNKNOWN, Facts, Runs, Truth, Value, WhenError, evaluate, parse, runs
from changebot.core.documents.load import Document
from changebot.model import Finding, PullRequest, error

KNOWN_EVENTS = ("pull_request", "push", "schedule", "workflow_dispatch")


@dataclass(frozen=True)
class Step:
    """One pipeline step: its id, ``when`` text, and price hints (``cost_usd`` or ``minutes``)."""

    id: str
    line: int | None
    when: str | None = None
    when_line: int | None = None
    cost_usd: float | None = None
    minutes: float | None = None


@dataclass(frozen=True)
class Pipeline:
    """The parts of pipeline.yaml that changebot uses."""

    path: str
    name: str | None
    steps: tuple[Step, ...]
    hard_cap_usd: float | None = None
    hard_cap_line: int | None = None


@dataclass(frozen=True)
class RunFacts:
    """What is known about the run being priced: the event, branch and tag, and the changed files."""

    event: str
    branch: str | None
    tag: str | None
    files: frozenset[str] | None


@dataclass(frozen=True)
class StepRun:
    """A step and whether it runs for the event, with the reason in words."""

    step: Step
    runs: Runs
    reason: str


def money(
    value: Any, path: str, line: int | None, what: str, findings: list[Finding], code: str = "bad-money"
) -> float | None:
    """A non-negative number, or ``None`` plus a finding (booleans and strings are not numbers)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        findings.append(error(code, f"{what} must be a non-negative number, found {value!r}", path, line))
        return None
    if value < 0 or not math.isfinite(value):
        findings.append(error(code, f"{what} must be a non-negative number, found {value!r}", path, line))
        return None
    return float(value)


def read_pipeline(doc: Document) -> tuple[Pipeline | None, list[Finding]]:
    """Read the pipeline mapping; bad steps and bad numbers are findings, the rest is kept."""
    findings: list[Finding] = []
    data = doc.data
    block = data.get("pipeline") if isinstance(data, Mapping) else None
    if not isinstance(block, Mapping):
        findings.append(
            error("pipeline-shape", "expected a top-level 'pipeline:' mapping with 'steps'", doc.path, doc.line(()))
        )
        return None, findings
    budgets = block.get("budgets")
    cap: float | None = None
    cap_line: int | None = None
    if isinstance(budgets, Mapping) and "hard_cap_usd" in budgets:
        cap_line = doc.line(("pipeline", "budgets", "hard_cap_usd"))
        cap = money(budgets["hard_cap_usd"], doc.path, cap_line, "pipeline.budgets.hard_cap_usd", findings)
    raw_steps = block.get("steps")
    if not isinstance(raw_steps, list):
        findings.append(
            error("pipeline-shape", "pipeline.steps must be a list of steps", doc.path, doc.line(("pipeline",)))
        )
        raw_steps = []
    steps: list[Step] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_steps):
        where = ("pipeline", "steps", index)
        line = doc.line(where)
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not raw["id"]:
            findings.append(error("pipeline-step-shape", "a step must be a mapping with a string 'id'", doc.path, line))
            continue
        step_id = raw["id"]
        if step_id in seen:
            findings.append(error("pipeline-duplicate-step", f"step id {step_id!r} is used twice", doc.path, line))
        seen.add(step_id)
        when = raw.get("when")
        if when is not None and not isinstance(when, str | bool):
            findings.append(
                error("when-syntax", f"'when' must be an expression string, found {when!r}", doc.path, line)
            )
            when = None
        cost = money(raw.get("cost_usd"), doc.path, doc.line((*where, "cost_usd")), f"{step_id}.cost_usd", findings)
        minutes = money(raw.get("minutes"), doc.path, doc.line((*where, "minutes")), f"{step_id}.minutes", findings)
        steps.append(
            Step(
                id=step_id,
                line=line,
                when=("true" if when else "false") if isinstance(when, bool) else when,
                when_line=doc.line((*where, "when")) if "when" in raw else None,
                cost_usd=cost,
                minutes=minutes,
            )
        )
    name = block.get("name")
    return Pipeline(doc.path, name if isinstance(name, str) else None, tuple(steps), cap, cap_line), findings


def run_facts(pr: PullRequest, default_branch: str, changed: frozenset[str]) -> RunFacts:
    """What is known about the run ``pr`` triggers for its event (the table in the module docstring)."""
    base = pr.base_branch or default_branch
    if pr.event == "pull_request":
        return RunFacts(pr.event, pr.head_branch, "", changed)
    if pr.event == "push":
        return RunFacts(pr.event, base, "", changed)
    if pr.event == "schedule":
        return RunFacts(pr.event, default_branch, "", None)
    if pr.event == "workflow_dispatch":
        return RunFacts(pr.event, base, "", None)
    return RunFacts(pr.event, base, None, changed)


def _names(facts: RunFacts) -> dict[str, Value]:
    names: dict[str, Value] = {"event": facts.event}
    if facts.branch is not None:
        names["branch"] = facts.branch
    if facts.tag is not None:
        names["tag"] = facts.tag
    return names


def plan_steps(pipeline: Pipeline, facts: RunFacts) -> tuple[tuple[StepRun, ...], list[Finding]]:
    """Each step with yes/no/maybe for ``facts``; a bad ``when`` is a finding and its step *maybe* runs."""
    findings: list[Finding] = []
    done: dict[str, Runs] = {}
    all_ids = {s.id for s in pipeline.steps}
    out: list[StepRun] = []
    for step in pipeline.steps:

        def succeeded(step_id: str, current: str = step.id) -> Truth:
            if step_id not in all_ids:
                raise WhenError("when-unknown-step", f"step_succeeded({step_id!r}) names no step in this pipeline")
            if step_id not in done:
                raise WhenError(
                    "when-forward-step",
                    f"step_succeeded({step_id!r}) names a step that runs after {current!r} (or itself)",
                )
            state = done[step_id]
            return UNKNOWN if state is Runs.MAYBE else state is Runs.YES

        if step.when is None:
            result, reason = Runs.YES, "no 'when': always runs"
        else:
            try:
                truth = evaluate(parse(step.when), Facts(_names(facts), facts.files, succeeded))
            except WhenError as exc:
                findings.append(
                    error(exc.code, f"step {step.id!r}: when: {exc}", pipeline.path, step.when_line or step.line)
                )
                result, reason = Runs.MAYBE, "its 'when' could not be evaluated"
            else:
                result = runs(truth)
                reason = f"when: {step.when}"
                if result is Runs.MAYBE:
                    reason += " (undecided before the run)"
        done[step.id] = result
        out.append(StepRun(step, result, reason))
    return tuple(out), findings
