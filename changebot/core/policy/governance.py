"""Which governance files a pull request edits, by any road. Pure.

The governance-approval rule (settings ``policy.governance_owners``) asks for an owner's approval when this list is
not empty. A pull request edits governance in three ways, and each one counts:

* **directly**: it adds, edits, renames or deletes a governance file (``layout.is_governance``);
* **through a patch series**: a patch under ``.orchestrator/patches/`` that the head adds or changes targets a
  governance file (a series is applied after the merge, so its targets are changes this PR asks for);
* **by weakening a release plan's freeze**: a plan the pull request touches, whose base version freezes the
  branch (``freeze.code_freeze``), is deleted, loses its freeze, or freezes a shorter span on the head. The freeze gate
  reads plans from the base, so the head cannot unfreeze itself; this makes sure the merge cannot either
  without an owner.

Paths are returned as repository paths (the policy input's ``governance.changed``), sorted and unique.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from changebot.core.context import Context, Side
from changebot.core.documents import layout
from changebot.core.freeze import calendars

#: Where patch series live (``core.sequence.series.ROOT``).
SERIES_ROOT = ".orchestrator/patches/"


def governance_changes(ctx: Context) -> list[str]:
    """Every governance file the pull request edits directly, through a patch series, or by weakening a plan's
    freeze."""
    direct = {p for p in ctx.changed_paths() if layout.is_governance(p)}
    return sorted(direct | series_governance_targets(ctx) | weakened_plans(ctx))


def _changed_on_head(ctx: Context, path: str) -> bool:
    return ctx.head.files.get(path) != ctx.base.files.get(path)


def series_governance_targets(ctx: Context) -> set[str]:
    """Governance files that patches the head adds or changes under ``.orchestrator/patches/`` would edit.

    Every file there is read as a patch, whatever its name or depth, so that renaming a patch cannot hide it.
    """
    candidates = [p for p in ctx.head.files if p.startswith(SERIES_ROOT) and _changed_on_head(ctx, p)]
    if not candidates:
        return set()
    from changebot.core.sequence.patches import parse_patch  # noqa: PLC0415 - lazy: only with a series

    limit = ctx.settings.limits.max_file_bytes
    out: set[str] = set()
    for path in candidates:
        for change in parse_patch(path, ctx.head.files[path], limit).patch.changes:
            out.update(p for p in change.paths if layout.is_governance(p))
    return out


def _freeze_span(ctx: Context, side: Side, path: str) -> tuple[datetime, datetime] | bool | None:
    """The span a plan's ``freeze.code_freeze`` freezes on ``side``: ``None`` when the plan has no freeze there,
    ``False`` when it has freeze data that does not give a span (malformed, or the plan does not load)."""
    if path not in ctx.files(side).files:
        return None
    data = ctx.mapping(side, path)
    if data is None:
        return False
    freeze = data.get("freeze")
    if freeze is None:
        return None
    if not isinstance(freeze, Mapping) or "code_freeze" not in freeze:
        return False
    loaded = ctx.load(side, path)
    if loaded is None or loaded.document is None:
        return False
    out = calendars.Collected()
    calendars.code_freeze(loaded.document, out)
    if len(out.fixed) != 1:
        return False
    return out.fixed[0].start, out.fixed[0].end


def weakened_plans(ctx: Context) -> set[str]:
    """Release plans the pull request touches whose base version freezes the branch and whose head version freezes
    less (or not at all)."""
    out: set[str] = set()
    changed = ctx.changed_paths()
    for path in ctx.paths("base", layout.PLANS):
        if path not in changed:
            continue  # a plan the pull request does not touch (the base may have moved on since it forked)
        base = _freeze_span(ctx, "base", path)
        if base is None:
            continue
        head = _freeze_span(ctx, "head", path)
        if head == base:
            continue
        if isinstance(base, tuple) and isinstance(head, tuple) and head[0] <= base[0] and head[1] >= base[1]:
            continue
        out.add(path)
    return out
