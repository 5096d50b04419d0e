"""Use cases: read the repository, run the core, return values. One function per thing a user asks for.

This is the only place that wires adapters to the core. Nothing here prints or posts: the CLI, the Action and
the App render and publish what these functions return.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from changebot.adapters.engines import jsbox, worker
from changebot.adapters.engines.jsbox import QuickJs
from changebot.adapters.engines.rego import EmbeddedRego
from changebot.adapters.engines.worker import prestart
from changebot.adapters.git import reader as gitio
from changebot.core.budget.gate import budget_gate
from changebot.core.budget.spend import SpendSource
from changebot.core.context import Context, make_context
from changebot.core.documents import layout
from changebot.core.documents.load import Limits, load_any
from changebot.core.freeze.gate import freeze_gate
from changebot.core.policy.gate import ENGINES, PolicyEngine, policy_gate, policy_settings
from changebot.core.policy.rules import RulesDetail, rules_gate, rules_settings
from changebot.core.schema.gate import schema_gate
from changebot.core.schema.governance import Engines
from changebot.core.settings import DEFAULT_SETTINGS, Settings, parse_settings
from changebot.core.verdict import ordered, verdict
from changebot.errors import UsageError
from changebot.model import (
    ChangedFile,
    GateId,
    GateMode,
    GateResult,
    Override,
    Plan,
    PullRequest,
    RepoFiles,
    Status,
    error,
    skipped,
)
from changebot.usecases.sequence import sequence_result

if TYPE_CHECKING:
    import git


@dataclass(frozen=True)
class Checkout:
    """The two sides of a pull request as read from disk, and what changed between them."""

    root: Path
    base: RepoFiles
    head: RepoFiles
    changed: tuple[ChangedFile, ...]
    settings: Settings


def _read(
    root: Path, repo: git.Repo | None, base: str | None, head: str | None, limits: Limits
) -> tuple[RepoFiles, RepoFiles]:
    if repo is None:
        tree = gitio.read_directory(root, limits)
        return tree, tree
    base_ref = base if base is not None else "HEAD"
    head_ref = head if head is not None else "HEAD"
    return gitio.read_commit(repo, base_ref, limits), gitio.read_commit(repo, head_ref, limits)


def settings_from(base: RepoFiles) -> Settings:
    """changebot's settings as the base side has them (defaults when absent or unreadable)."""
    raw = base.files.get(layout.SETTINGS)
    if raw is None:
        return DEFAULT_SETTINGS
    loaded = load_any(layout.SETTINGS, raw)
    return parse_settings(loaded.document.data) if loaded.document else DEFAULT_SETTINGS


def checkout(root: Path, base: str | None = None, head: str | None = None) -> Checkout:
    """Read both sides. Without refs the working tree (or plain directory) is both base and head."""
    repo = gitio.open_repo(root) if base is not None or head is not None else None  # opened once
    base_files, head_files = _read(root, repo, base, head, DEFAULT_SETTINGS.limits)
    settings = settings_from(base_files)
    if settings.limits != DEFAULT_SETTINGS.limits:
        base_files, head_files = _read(root, repo, base, head, settings.limits)
    changed: tuple[ChangedFile, ...] = ()
    if repo is not None:
        changed = gitio.changed_files(repo, base or "HEAD", head or "HEAD")
    return Checkout(root, base_files, head_files, changed, settings)


def context(co: Checkout, pr: PullRequest, now: datetime) -> Context:
    """The evaluation context for a checkout; the PR's changed files default to what git says changed."""
    if not pr.files:
        pr = replace(pr, files=co.changed)
    if now.tzinfo is None:
        raise UsageError("--now must include a UTC offset or 'Z' (e.g. 2025-09-20T12:00:00Z)")
    return make_context(co.base, co.head, pr, now, co.settings, repo=str(co.root))


def policy_engine(ctx: Context, opa_url: str | None = None, engine: str | None = None) -> PolicyEngine:
    """The engine for the ``policy`` gate.

    ``engine`` (``--policy-engine``), else ``CHANGEBOT_POLICY_ENGINE``, else settings ``policy.engine``:
    ``embedded``; ``opa``, the binary at ``CHANGEBOT_OPA_PATH`` or on ``PATH``; ``auto``, ``opa`` when that
    binary is found, else embedded; ``opa-server``, the server at ``--opa-url`` or ``policy.opa_url``. An
    ``--opa-url`` alone selects ``opa-server``. ``opa`` without a binary, or ``opa-server`` without a URL, is
    a usage error (exit 2): never a silent fall-back to another engine's verdicts."""
    settings = policy_settings(ctx.settings.section("policy"))
    chosen = engine or os.environ.get("CHANGEBOT_POLICY_ENGINE") or ("opa-server" if opa_url else settings.engine)
    if chosen not in ENGINES:
        raise UsageError(f"unknown policy engine {chosen!r}: expected one of {', '.join(ENGINES)}")
    if chosen == "opa-server":
        url = opa_url or settings.opa_url
        if not url:
            raise UsageError("policy engine opa-server needs --opa-url or policy.opa_url")
        from changebot.adapters.engines.opa import OpaServer  # noqa: PLC0415 - lazy: only with an OPA server

        return OpaServer(url, settings.timeout_seconds, settings.retries)
    if chosen in ("opa", "auto"):
        from changebot.adapters.engines.opa_binary import OpaBinary, find_opa  # noqa: PLC0415 - only with opa

        binary = find_opa(os.environ.get("CHANGEBOT_OPA_PATH"))
        if binary is not None:
            return OpaBinary(binary, settings.timeout_seconds, settings.strict)
        if chosen == "opa":
            raise UsageError(
                "policy engine opa: no opa binary (set CHANGEBOT_OPA_PATH or put opa on PATH; "
                "the Action's opa-version input installs one)"
            )
    return EmbeddedRego(settings.timeout_seconds)


def _within(result: GateResult, budget: worker.GateBudget) -> GateResult:
    """``result``, failed with a ``gate-over-budget`` finding when its evaluations ran into the gate's budget."""
    if not budget.spent:
        return result
    finding = error(
        "gate-over-budget",
        f"the {budget.what} ran past its {budget.seconds:g} s budget: what was not evaluated by then failed "
        "(never a pass)",
    )
    return replace(result, status=Status.FAIL, findings=(*result.findings, finding))


def engines(ctx: Context, policy: PolicyEngine | None = None) -> Engines:
    """The sandboxes the governance checks compile with: QuickJS for rules' ``if``, the policy gate's engine."""
    scripts = QuickJs(rules_settings(ctx.settings.section("rules")))
    return Engines(scripts, policy if policy is not None else policy_engine(ctx))


def gates(
    ctx: Context,
    overrides: Sequence[Override] = (),
    opa_url: str | None = None,
    spend: SpendSource | None = None,
    engine_name: str | None = None,
) -> list[GateResult]:
    """Every gate, evaluated. Gates not built yet are ``skipped`` with the reason, never ``pass``.

    ``overrides`` are the break-glass overrides in force for this head (the GitHub layer decides which, see
    ``core.override_rules.effective``); a gate that can be overridden takes them. freeze, budget and sequence
    are computed first: the ``policy`` gate's input document carries their results (and the ``rules`` gate's).
    The report order comes from ``core.gate.ordered``. ``opa_url`` sends policies to an OPA server. ``spend``
    is the month-to-date CI spend source for the budget gate (``--ledger``, or the Actions API), ``None`` if unknown.
    Each result carries its ``GateMode`` from the base branch's settings; an ``off`` gate is not evaluated.
    """
    engine = policy_engine(ctx, opa_url, engine_name)
    if isinstance(engine, EmbeddedRego) and ctx.settings.mode(GateId.POLICY) is not GateMode.OFF:
        prestart(engine.address_space)  # the sandbox children start while the other gates run
    if layout.RULES in ctx.base.files and ctx.settings.mode(GateId.RULES) is not GateMode.OFF:
        prestart(jsbox.ADDRESS_SPACE)

    def run(gate: GateId, evaluate: Callable[[], GateResult]) -> GateResult:
        mode = ctx.settings.mode(gate)
        if mode is GateMode.OFF:
            return replace(skipped(gate, f"not evaluated: mode off in {layout.SETTINGS}"), mode=mode)
        return replace(evaluate(), mode=mode)

    def rules_within() -> GateResult:
        with worker.gate_budget("rules gate") as rules_budget:
            settings = rules_settings(ctx.settings.section("rules"))
            return _within(rules_gate(ctx, QuickJs(settings)), rules_budget)

    def policy_within() -> GateResult:
        with worker.gate_budget("policy gate") as policy_budget:
            return _within(policy_gate(ctx, engine, [freeze, budget, sequence, rules]), policy_budget)

    schema = run(GateId.SCHEMA, lambda: schema_gate(ctx, engines(ctx, engine)))
    freeze = run(GateId.FREEZE, lambda: freeze_gate(ctx, overrides))
    budget = run(GateId.BUDGET, lambda: budget_gate(ctx, spend))
    sequence = run(GateId.SEQUENCE, lambda: sequence_result(ctx))
    rules = run(GateId.RULES, rules_within)
    policy = run(GateId.POLICY, policy_within)
    return [schema, rules, policy, freeze, budget, sequence]


def plan(
    ctx: Context,
    base: str | None = None,
    head: str | None = None,
    overrides: Sequence[Override] = (),
    opa_url: str | None = None,
    spend: SpendSource | None = None,
    engine_name: str | None = None,
) -> Plan:
    """The full plan for one pull request, with the overrides in force; the rules gate's planned actions
    become ``Plan.actions``."""
    results = ordered(gates(ctx, overrides, opa_url, spend, engine_name))
    actions = next((g.detail.actions for g in results if isinstance(g.detail, RulesDetail)), ())
    return Plan(
        verdict=verdict(results),
        gates=results,
        now=ctx.now,
        pr=ctx.pr,
        repo=ctx.repo,
        base=base,
        head=head,
        actions=actions,
    )
