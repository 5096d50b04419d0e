"""Governance files checked the way the gates read them: one function per file kind, no second copy of the rules.

The gates read governance from the base branch with their own parsers (calendars, ``when:`` expressions,
rules.json, Rego, ci_budget.json). A pull request that breaks one of those files must be told before it merges,
and ``changebot validate`` must say the same thing as the gates. So this module does not re-implement any rule:
each ``Check`` below runs the very reader its gate runs, on a *view* of the repository in which the side to
check plays the base (``as_governance``):

=====================  =================================================================================
file kind              the reader (shared with the gate)
=====================  =================================================================================
freeze calendars       ``freeze.gate.read_calendar`` (pipeline ``freeze_windows``, freeze_windows.json,
                       release-policy.yml, settings ``freeze.calendars``, the files they name)
pipeline.yaml          ``budget.pipeline.read_pipeline`` and ``budget.when.parse`` for every ``when:``;
                       ``policy.gate.repository_modules`` for its ``policies:`` entries
ci_budget.json         ``budget.gate.budget_numbers``
rules.json             ``policy.rules.parse_rules`` (JSON Logic operators included); the JavaScript of each
                       ``if`` is syntax-checked by a ``ScriptRunner`` when one is given
Rego                   ``policy.gate.run_policies`` with the configured ``PolicyEngine``, when one is given
=====================  =================================================================================

The engines are ports, as in the gates: without them (a pure caller) the JavaScript and Rego checks are left out,
and ``Engines.missing`` says so. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from changebot.core.budget.gate import budget_numbers
from changebot.core.budget.pipeline import read_pipeline
from changebot.core.budget.when import WhenError, parse
from changebot.core.context import Context, Side
from changebot.core.documents import layout
from changebot.core.documents.load import Loaded
from changebot.core.freeze.gate import read_calendar
from changebot.core.policy.gate import PolicyEngine, repository_modules, run_policies
from changebot.core.policy.rules import ScriptRunner, parse_rules
from changebot.core.settings import DEFAULT_SETTINGS, parse_settings
from changebot.model import Finding, error

#: A check of one file kind: findings for the governance of ``view.base``.
Check = Callable[[Context, "Engines"], list[Finding]]


@dataclass(frozen=True)
class Engines:
    """The sandboxed engines the JavaScript and Rego checks need; ``None`` leaves that check out."""

    scripts: ScriptRunner | None = None
    policies: PolicyEngine | None = None


NO_ENGINES = Engines()


def as_governance(ctx: Context, side: Side) -> Context:
    """A view of ``ctx`` in which ``side`` is read as the base branch (governance), with that side's settings.

    Files already parsed on ``side`` are reused, so checking the head costs no second parse of any file."""
    if side == "base":
        return ctx
    raw = ctx.head.files.get(layout.SETTINGS)
    settings = DEFAULT_SETTINGS
    if raw is not None:
        loaded = ctx.proposal(layout.SETTINGS)
        if loaded is not None and loaded.document is not None:
            settings = parse_settings(loaded.document.data)
    cache: dict[tuple[Side, str], Loaded] = {("base", p): v for (where, p), v in ctx._cache.items() if where == "head"}
    return replace(ctx, base=ctx.head, settings=settings, _cache=cache)


def calendar_findings(view: Context, _engines: Engines) -> list[Finding]:
    """Every freeze calendar source, read by the freeze gate's reader."""
    return read_calendar(view)[1]


def pipeline_findings(view: Context, _engines: Engines) -> list[Finding]:
    """pipeline.yaml: its steps and money (the budget gate's reader), every ``when:``, its ``policies:`` entries."""
    loaded = view.governance(layout.PIPELINE)
    if loaded is None or loaded.document is None:
        return []
    pipeline, findings = read_pipeline(loaded.document)
    for step in pipeline.steps if pipeline is not None else ():
        if step.when is None:
            continue
        try:
            parse(step.when)
        except WhenError as exc:
            where = step.when_line or step.line
            findings.append(error(exc.code, f"step {step.id!r}: when: {exc}", layout.PIPELINE, where))
    findings.extend(repository_modules(view, "base")[1])
    return findings


def budget_findings(view: Context, _engines: Engines) -> list[Finding]:
    """ci_budget.json: the numbers the budget gate computes the month's limits from (it reads them only beside a
    pipeline.yaml, and so does this check)."""
    loaded = view.governance(layout.CI_BUDGET)
    if loaded is None or loaded.document is None or view.governance(layout.PIPELINE) is None:
        return []
    findings: list[Finding] = []
    budget_numbers(loaded.document, findings)
    return findings


def rules_findings(view: Context, engines: Engines) -> list[Finding]:
    """rules.json: entries, actions and JSON Logic operators (the rules gate's parser); the JavaScript syntax of
    each ``if`` in the sandbox, without running it."""
    loaded = view.governance(layout.RULES)
    if loaded is None or loaded.document is None:
        return []
    doc = loaded.document
    rules, findings = parse_rules(doc)
    scripted = [r for r in rules if r.script is not None]
    if engines.scripts is None or not scripted:
        return findings
    # ``false && (...)`` compiles the expression and never evaluates it: only a syntax error can come back.
    outcomes = engines.scripts([(r.id, f"false && (\n{r.script}\n)") for r in scripted], {})
    for rule, outcome in zip(scripted, outcomes, strict=True):
        if outcome.kind != "ok":
            findings.append(
                error(
                    "rule-script-syntax",
                    f"rule {rule.id!r}: 'if' is not a JavaScript expression: {outcome.message or outcome.kind}",
                    layout.RULES,
                    doc.line((rule.index, "if")),
                )
            )
    return findings


def policy_findings(view: Context, engines: Engines) -> list[Finding]:
    """Rego: every policy the policy gate would load, compiled by the configured engine.

    The seam for the configured engine is ``Engines.policies``: whatever engine the policy gate uses is passed
    in, and only its compile errors are kept (what a policy decides is the policy gate's business)."""
    if engines.policies is None:
        return []
    modules, _, _ = repository_modules(view, "base")
    if not modules:
        return []
    outcome = run_policies(modules, {}, engines.policies)
    return [f for f in outcome.findings if f.code == "policy-compile-error"]


#: One check per file kind, in report order.
CHECKS: Mapping[str, Check] = {
    "calendar": calendar_findings,
    "pipeline": pipeline_findings,
    "ci-budget": budget_findings,
    "rules": rules_findings,
    "policy": policy_findings,
}


def governance_findings(
    view: Context, engines: Engines = NO_ENGINES, kinds: Sequence[str] = tuple(CHECKS)
) -> list[Finding]:
    """The findings of every check in ``kinds`` for the governance of ``view.base``, each reported once."""
    out: dict[Finding, None] = {}
    for kind in kinds:
        for finding in CHECKS[kind](view, engines):
            out.setdefault(finding, None)
    return list(out)
