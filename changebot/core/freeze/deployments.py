"""Deployment protection: may a deployment to a GitHub environment go ahead now? Pure.

``.maestro/changebot.yaml`` on the default branch maps environments to the branch whose freeze calendar governs
them and to what happens during a freeze::

    deployments:
      production: {branch: main, during_freeze: wait}   # or reject (the default)

``branch`` defaults to the freeze gate's default branch (``freeze.default_branch``, else ``main``).

``review`` answers, for one environment at ``now``:

* ``Approve`` when no enforced window freezes the environment's branch, or when a freeze override is in force
  on a pull request that carried the deployed commit (the hotfix path: the comment names the override, its
  actor and its reason);
* ``Reject`` during a freeze with ``during_freeze: reject``, naming the window and when it ends;
* ``Wait`` during a freeze with ``during_freeze: wait``: the deployment stays pending until ``ends``, when the
  shell reviews it again;
* ``Reject`` whenever the answer is not known for sure (fail closed): an environment that is not listed, a
  ``deployments`` entry that does not read, a freeze calendar with errors, a freeze that lasts past the horizon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from changebot.core.context import Context
from changebot.core.documents import layout
from changebot.core.freeze.gate import FreezeDetail, default_branch, freeze_gate
from changebot.core.freeze.windows import iso
from changebot.model import Override, Status

MODES = ("reject", "wait")


@dataclass(frozen=True)
class DeploymentRule:
    """One environment's entry: the branch whose freeze governs it, and what a freeze does to a deployment."""

    branch: str
    during_freeze: str = "reject"


@dataclass(frozen=True)
class Approve:
    """Let the deployment go ahead; ``override`` is the freeze override that made it possible, if any."""

    comment: str
    override: Override | None = None


@dataclass(frozen=True)
class Reject:
    """Refuse the deployment (``window`` and ``ends`` when a freeze is the reason)."""

    comment: str
    window: str | None = None
    ends: datetime | None = None


@dataclass(frozen=True)
class Wait:
    """Keep the deployment pending until ``ends``, the end of freeze ``window``; ``frozen`` says what freezes
    it (for ``refused``)."""

    comment: str
    window: str
    ends: datetime
    frozen: str = ""


def refused(wait: Wait, why: str) -> Reject:
    """The rejection a wait becomes where nothing can hold the deployment (``why``)."""
    return Reject(f"{wait.frozen}: {why}", wait.window, wait.ends)


Review = Approve | Reject | Wait


def _where(ctx: Context, *path: str | int) -> str:
    loaded = ctx.governance(layout.SETTINGS)
    line = loaded.document.line(path) if loaded is not None and loaded.document is not None else None
    return f"{layout.SETTINGS}:{line}" if line else layout.SETTINGS


def rule_for(ctx: Context, environment: str) -> DeploymentRule | Reject:
    """The ``deployments`` entry of ``environment`` in the base branch's settings, or the rejection that says
    why there is none usable (naming the settings file and line)."""
    section = ctx.settings.raw.get("deployments")
    if section is None:
        section = {}
    if not isinstance(section, Mapping):
        return Reject(f"'deployments' in {_where(ctx, 'deployments')} must be a mapping; failing closed")
    entry = section.get(environment)
    if entry is None:
        return Reject(
            f"environment {environment!r} is not governed by changebot: add it under 'deployments' in "
            f"{layout.SETTINGS} on the default branch; until then its deployments are rejected"
        )
    where = ("deployments", environment)
    if not isinstance(entry, Mapping):
        return Reject(f"deployments.{environment} in {_where(ctx, *where)} must be a mapping; failing closed")
    branch = entry.get("branch", default_branch(ctx))
    if not isinstance(branch, str) or not branch:
        return Reject(f"deployments.{environment}.branch in {_where(ctx, *where)} must name a branch; failing closed")
    mode = entry.get("during_freeze", "reject")
    if mode not in MODES:
        return Reject(
            f"deployments.{environment}.during_freeze in {_where(ctx, *where, 'during_freeze')} is {mode!r}, "
            f"not one of {', '.join(MODES)}; failing closed"
        )
    return DeploymentRule(branch, str(mode))


def review(ctx: Context, environment: str, overrides: Sequence[tuple[int, Override]] = ()) -> Review:
    """Review a deployment to ``environment`` at ``ctx.now``: ``ctx`` reads governance from the default branch;
    ``overrides`` are the freeze overrides in force on the pull requests (by number) that carried the deployed
    commit, already checked against the base branch's rules by the caller."""
    rule = rule_for(ctx, environment)
    if isinstance(rule, Reject):
        return rule
    ctx = replace(ctx, pr=replace(ctx.pr, base_branch=rule.branch))
    gate = freeze_gate(ctx, ())
    detail = gate.detail if isinstance(gate.detail, FreezeDetail) else None
    if detail is None or not detail.frozen:
        if gate.status is Status.FAIL:
            problems = "; ".join(f.message for f in gate.findings if f.severity == "error")
            return Reject(f"the freeze calendar of {rule.branch!r} has errors; failing closed: {problems}")
        if gate.status is Status.SKIPPED:
            return Approve(f"no freeze calendar governs {rule.branch!r}: {environment!r} may deploy")
        return Approve(f"no freeze window covers {rule.branch!r} now: {environment!r} may deploy")
    window = next(w for w in detail.windows if w.enforced)
    ends = detail.open_at
    until = "past the horizon (freeze.horizon_days)" if ends is None else f"until {iso(ends, window.zone)}"
    frozen = f"{rule.branch!r} is frozen by {window.name!r} {until}"
    if overrides:
        number, override = overrides[0]
        return Approve(
            f"{frozen}, but pull request #{number} carries a freeze override by {override.actor}: "
            f"{override.reason!r}; {environment!r} may deploy",
            override,
        )
    if rule.during_freeze == "wait" and ends is not None:
        waits = f"{frozen}: the deployment to {environment!r} waits and is approved then"
        return Wait(waits, window.name, ends, frozen)
    return Reject(f"{frozen}: deployments to {environment!r} are rejected during a freeze", window.name, ends)
