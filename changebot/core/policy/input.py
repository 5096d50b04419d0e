"""The input document every Rego policy receives (``schemas/policy-input.schema.json``). Pure.

Sections: ``pr`` (facts about the pull request), ``bundles`` and ``plans`` (what the head proposes, each as
``{path, spec}`` with ``spec`` the mapping as written), ``freeze``, ``budget``, ``sequence`` and ``rules``
(what those gates concluded, or ``null`` when a gate was skipped) and ``governance`` (which governance files the
pull request edits, who owns them, who approved). The other gates' sections are built from their
``GateResult.detail`` in its JSON form (``GateDetail.to_json``: the same keys as in the plan's JSON), so a
policy can say "no change to a frozen branch without an override" without knowing how freeze windows are
computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from changebot.core.context import Context
from changebot.core.documents import layout
from changebot.core.policy import governance
from changebot.core.policy.rules import bundles
from changebot.model import GateId, GateResult, Status

#: Keys copied from each upstream gate's detail into its input section (missing keys become ``null``).
SECTION_KEYS: Mapping[GateId, tuple[str, ...]] = {
    GateId.FREEZE: ("frozen", "branch", "windows", "overrides"),
    GateId.BUDGET: ("low_usd", "high_usd", "hard_cap_usd", "lane"),
    GateId.SEQUENCE: ("applies", "series"),
    GateId.RULES: ("actions", "rules"),
}


def plans(ctx: Context) -> list[dict[str, Any]]:
    """Every release plan the head proposes, as ``{path, spec}``."""
    specs = ((path, ctx.mapping("head", path)) for path in ctx.paths("head", layout.PLANS))
    return [{"path": path, "spec": spec} for path, spec in specs if spec is not None]


def gate_section(result: GateResult | None) -> dict[str, Any] | None:
    """A gate's input section: its status, summary and detail keys; ``None`` when skipped or absent."""
    if result is None or result.status is Status.SKIPPED:
        return None
    section: dict[str, Any] = {"status": str(result.status), "summary": result.summary}
    detail = result.detail.to_json()
    for key in SECTION_KEYS.get(result.id, ()):
        section[key] = detail.get(key)
    return section


def governance_changes(ctx: Context) -> list[str]:
    """Governance files (read from base) that the pull request edits: directly, through a patch series, or by
    weakening a release plan's freeze (``core.policy.governance``)."""
    return governance.governance_changes(ctx)


def build_input(ctx: Context, upstream: Sequence[GateResult], owners: Sequence[str] = ()) -> dict[str, Any]:
    """The whole input document for this pull request."""
    by_id = {g.id: g for g in upstream}
    pr = ctx.pr
    return {
        "pr": {
            "number": pr.number,
            "event": pr.event,
            "base": pr.base_branch or ctx.base.ref,
            "head": pr.head_branch or ctx.head.ref,
            "base_sha": pr.base_sha or ctx.base.commit,
            "head_sha": pr.head_sha or ctx.head.commit,
            "author": pr.author,
            "title": pr.title,
            "labels": list(pr.labels),
            "draft": pr.draft,
            "files": [f.path for f in pr.files],
            "changes": [{"status": f.status, "path": f.path, "old_path": f.old_path} for f in pr.files],
            "approvals": list(pr.approvals),
        },
        "now": ctx.now.isoformat(),
        "bundles": bundles(ctx),
        "plans": plans(ctx),
        "freeze": gate_section(by_id.get(GateId.FREEZE)),
        "budget": gate_section(by_id.get(GateId.BUDGET)),
        "sequence": gate_section(by_id.get(GateId.SEQUENCE)),
        "rules": gate_section(by_id.get(GateId.RULES)),
        "governance": {"changed": governance_changes(ctx), "owners": list(owners)},
    }
