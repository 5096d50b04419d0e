"""Which governance files a pull request edits, by any road. Pure.

The governance-approval rule (settings ``policy.governance_owners``) asks for an owner's approval when this list is
not empty. A pull request edits governance in three ways, and each one counts:

* **directly**: it adds, edits, renames or deletes a governance file (``layout.is_governance``);
* **through a patch series**: a patch under ``.orchestrator/patches/`` that the head adds or changes targets a
  governance file, or a release plan whose base version has freeze data (a series is applied after the merge,
  so its targets are changes this PR asks for);
* **by weakening a release plan's freeze**: a plan the pull request touches, whose base version freezes the
  branch (``freeze.code_freeze``), is deleted, loses its freeze, or freezes a shorter span on the head. The freeze gate
  reads plans from the base, so the head cannot unfreeze itself; this makes sure the merge cannot either
  without an owner.

Paths are returned as repository paths (the policy input's ``governance.changed``), sorted and unique.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from changebot.core.context import Context, Side
from changebot.core.documents import layout
from changebot.core.freeze import calendars

#: Where patch series live (``core.sequence.series.ROOT``).
SERIES_ROOT = ".orchestrator/patches/"

#: The lines of a patch that name a path: git's ``diff --git`` header, the unified ``---``/``+++`` lines and
#: the extended ``rename``/``copy`` headers. Found anywhere in the file, so the list is a superset of what
#: ``git apply`` would touch (a hunk line cannot start with ``diff``, ``rename`` or ``copy``).
_NAMING = re.compile(rb"^(diff --git |--- |\+\+\+ |rename from |rename to |copy from |copy to )([^\r\n]*)", re.M)


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
    out: set[str] = set()
    for path in candidates:
        out.update(p for p in patch_paths(ctx.head.files[path]) if layout.is_governance(p) or _frozen_plan(ctx, p))
    return out


def _frozen_plan(ctx: Context, path: str) -> bool:
    """A release plan whose base version has freeze data (a series that edits it may weaken the freeze)."""
    return layout.matches(path, (layout.PLANS,)) and _freeze_span(ctx, "base", path) is not None


def patch_paths(raw: bytes) -> set[str]:
    """Every repository path a patch file could touch, read from its header lines only (no hunk is parsed).

    Each name is taken as written and without its first component (``a/``, ``b/``, or another ``-p1``
    prefix); a ``diff --git`` line is also split at every space (names with spaces, ``--no-prefix`` binary
    patches). A superset, never less than the sequence gate's parser finds.
    """
    from changebot.core.sequence.gitdiff import c_unquote  # noqa: PLC0415 - lazy: only with a series

    out: set[str] = set()
    for match in _NAMING.finditer(raw):
        marker = match.group(1).decode("ascii")
        text = match.group(2).decode("utf-8", "surrogateescape")
        names: list[str] = []
        if marker == "diff --git ":
            names += [c_unquote(part) for part in _quoted_names(text)]
            for space in (m.start() for m in re.finditer(" ", text)):
                names += [text[:space], text[space + 1 :]]
        else:
            names.append(c_unquote(text if text.startswith('"') else text.split("\t", 1)[0]))
        for name in names:
            out.add(name)
            if "/" in name:
                out.add(name.split("/", 1)[1])
    return out


def _quoted_names(text: str) -> list[str]:
    """The C-quoted names on a ``diff --git`` line (``"a/caf\\303\\251.md"``)."""
    return re.findall(r'"(?:[^"\\]|\\.)*"', text)


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
