"""The what-if use case: read base and head governance and the merges of a period, replay, compare.

``whatif`` reads both sides with the same reader as ``plan``, the merges with ``adapters.git.history`` (one
``git log``, a bounded ``ls-tree`` per merge, each distinct blob once), and runs the gates whose governance
changed, under each version, for every merge. Open pull requests (the App and the Action) are passed in as
``Merge`` values with their numbers and their own proposal files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from changebot.adapters.engines.jsbox import QuickJs
from changebot.adapters.git import history
from changebot.adapters.git import reader as gitio
from changebot.core.budget.gate import budget_gate
from changebot.core.context import Context
from changebot.core.documents import layout
from changebot.core.freeze.gate import CHART_SPAN, freeze_gate, read_calendar
from changebot.core.policy.gate import policy_gate
from changebot.core.policy.rules import rules_gate, rules_settings
from changebot.core.schema.gate import changed_governance
from changebot.core.schema.governance import as_governance
from changebot.core.whatif.meaning import meaning
from changebot.core.whatif.replay import Evaluate, Governance, Merge, replay
from changebot.core.whatif.result import WhatIf
from changebot.errors import RepositoryError
from changebot.model import GateResult, Plan, PullRequest, RepoFiles
from changebot.usecases import plan as planning

DEFAULT_SINCE = timedelta(days=90)

_CALENDAR = (layout.PIPELINE, layout.FREEZE_WINDOWS, layout.RELEASE_POLICY, layout.SETTINGS)
_RULES = (layout.RULES, layout.SETTINGS)


def _policies_changed(ctx: Context, changed: Sequence[str]) -> bool:
    """Rego files, settings, or the ``policies:`` entries of pipeline.yaml changed."""
    if any(p.endswith(".rego") or p == layout.SETTINGS for p in changed):
        return True
    if layout.PIPELINE not in changed:
        return False
    before, after = ctx.mapping("base", layout.PIPELINE) or {}, ctx.mapping("head", layout.PIPELINE) or {}
    return before.get("policies") != after.get("policies")


def _gates(ctx: Context, changed: Sequence[str], opa_url: str | None) -> Evaluate:
    """The gates worth replaying: those whose governance changed (the others would decide the same twice).
    The policy gate runs only when policies changed: the default library restating another gate's failure
    would only repeat it."""
    freeze = any(p in _CALENDAR or p.endswith(".json") for p in changed)
    budget = any(p in (layout.PIPELINE, layout.CI_BUDGET, layout.SETTINGS) for p in changed)
    rules = any(p in _RULES for p in changed)
    policy = _policies_changed(ctx, changed)

    def evaluate(ctx: Context) -> list[GateResult]:
        out: list[GateResult] = []
        if freeze or policy:
            out.append(freeze_gate(ctx, ()))
        if budget or policy:
            out.append(budget_gate(ctx, None))
        if rules or policy:
            out.append(rules_gate(ctx, QuickJs(rules_settings(ctx.settings.section("rules")))))
        if policy:
            out.append(policy_gate(ctx, planning.policy_engine(ctx, opa_url), list(out)))
        return out

    return evaluate


def evaluate_whatif(
    ctx: Context,
    merges: Sequence[Merge],
    proposals: Mapping[str, RepoFiles],
    since: datetime,
    open_prs: Sequence[Merge] = (),
    opa_url: str | None = None,
) -> WhatIf:
    """The what-if for a context whose base and head carry the two governance versions."""
    branch = ctx.pr.base_branch or "main"
    new_view = as_governance(ctx, "head")
    changed = changed_governance(ctx) + sorted(
        p for p in ctx.base.files if layout.is_governance(p) and p not in ctx.head.files
    )
    result = WhatIf(ctx.base.ref or "base", ctx.head.ref or "head", branch, ctx.now, since)
    if not changed:
        return result
    changes = tuple(meaning(ctx, new_view, ctx.now))
    old, new = Governance(ctx.base, ctx.settings), Governance(ctx.head, new_view.settings)
    evaluate = _gates(ctx, changed, opa_url)
    consequences = replay(old, new, [*merges, *open_prs], proposals, evaluate, branch)
    end = ctx.now + CHART_SPAN
    return WhatIf(
        result.base,
        result.head,
        branch,
        ctx.now,
        since,
        tuple(changed),
        changes,
        len(merges),
        len(open_prs),
        tuple(consequences),
        tuple(read_calendar(ctx)[0].windows(ctx.now, end)),
        tuple(read_calendar(new_view)[0].windows(ctx.now, end)),
    )


def attach(
    plan: Plan, ctx: Context, base: str | None, since: timedelta = DEFAULT_SINCE, open_prs: Sequence[Merge] = ()
) -> Plan:
    """``plan`` with its what-if when the pull request changes governance (the merges are read from ``base`` in
    ``ctx.repo`` when it is a git repository; a history that cannot be read is replayed as empty). ``open_prs``
    (the App and the Action) are other open pull requests, whose head commits are in ``ctx.repo``. The verdict
    is left as it is."""
    if not touches_governance(ctx):
        return plan
    merges: list[Merge] = []
    proposals: dict[str, RepoFiles] = {}
    root = Path(ctx.repo)
    start = ctx.now - since
    if base is not None and gitio.is_repo(root):
        try:
            repo = gitio.open_repo(root)
            merges = history.merges(repo, base, start, ctx.now)
            shas = [m.sha for m in (*merges, *open_prs)]
            proposals = history.proposals(repo, shas, ctx.settings.limits)
        except RepositoryError:
            merges, proposals, open_prs = [], {}, ()
    return replace(plan, whatif=evaluate_whatif(ctx, merges, proposals, start, open_prs))


def touches_governance(ctx: Context) -> bool:
    """True when the head adds, edits or deletes a governance file."""
    return bool(changed_governance(ctx)) or any(
        layout.is_governance(p) and p not in ctx.head.files for p in ctx.base.files
    )


def whatif(
    root: Path,
    base: str,
    head: str,
    now: datetime,
    since: timedelta = DEFAULT_SINCE,
    branch: str | None = None,
    opa_url: str | None = None,
) -> WhatIf:
    """Replay the merges into ``base`` since ``now - since`` under base and head governance."""
    co = planning.checkout(root, base, head)
    ctx = planning.context(co, PullRequest(base_branch=branch or base.removeprefix("origin/")), now)
    start = now - since
    if not touches_governance(ctx):
        return WhatIf(base, head, ctx.pr.base_branch or "main", now, start)
    repo = gitio.open_repo(root)
    merges = history.merges(repo, base, start, now)
    proposals = history.proposals(repo, [m.sha for m in merges], co.settings.limits)
    return evaluate_whatif(ctx, merges, proposals, start, opa_url=opa_url)
