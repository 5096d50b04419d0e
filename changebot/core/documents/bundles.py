"""Cross-file checks over change bundles, release plans, freeze calendars and the xrepo graph.

Pure functions over loaded ``Document`` values; a schema has already judged each file's shape, so anything
malformed here is skipped silently (its schema finding says what is wrong). What a single schema cannot see:

* ``missing-bundle``: a release plan's ``changes[].from_file`` names a file the head does not have;
* ``duplicate-work-item-id``: two work items (in one bundle or across bundles) share an ``id``;
* ``xrepo-unknown-repo`` / ``xrepo-cycle``: the cross-repository graph names a repository it does not define,
  or cannot be ordered;
* ``code-freeze-outside-window``: a plan's ``freeze.code_freeze`` is before its window starts or after it ends
  (the window's dates are whole days in ``window.tz``);
* ``window-end-before-start``: a bundle's or plan's window ends before it starts (freeze windows are read by
  the freeze gate's own reader: ``changebot.core.schema.governance``).
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from changebot.core.documents import layout
from changebot.core.documents.load import Document, JsonPath
from changebot.model import Finding, error

BUNDLE_PATTERNS = (layout.BUNDLES, ".maestro/changes/*.yml")
PLAN_PATTERNS = (layout.PLANS, ".maestro/plan-*.yml")


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def zone_named(name: Any) -> ZoneInfo | None:
    """The IANA time zone ``name``; ``None`` when it is not a string naming one."""
    if not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        return None


def _window_order(doc: Document, where: JsonPath, start: Any, end: Any, what: str) -> list[Finding]:
    if not (isinstance(start, date) and isinstance(end, date) and type(start) is type(end)) or end >= start:
        return []
    return [
        error(
            "window-end-before-start",
            f"{what} ends ({end.isoformat()}) before it starts ({start.isoformat()}): expected an end on or "
            "after the start",
            doc.path,
            doc.line((*where, "end")),
        )
    ]


def bundle_findings(doc: Document) -> list[Finding]:
    """Checks within one bundle: its window's order."""
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("window"), dict):
        return []
    window = data["window"]
    return _window_order(doc, ("window",), _date(window.get("start")), _date(window.get("end")), "the bundle window")


def duplicate_work_items(bundles: Iterable[Document]) -> list[Finding]:
    """Work-item ids used more than once, reported at each repeat and naming the first use."""
    first: dict[str, tuple[str, int | None]] = {}
    out: list[Finding] = []
    for doc in sorted(bundles, key=lambda d: d.path):
        items = doc.data.get("work_items") if isinstance(doc.data, dict) else None
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            ident = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ident, str):
                continue
            line = doc.line(("work_items", i, "id"))
            if ident in first:
                other_path, other_line = first[ident]
                where = other_path if other_path != doc.path else "this file"
                out.append(
                    error(
                        "duplicate-work-item-id",
                        f"work item id {ident!r} is already used in {where}"
                        + (f" (line {other_line})" if other_line else "")
                        + ": expected ids unique across all bundles",
                        doc.path,
                        line,
                    )
                )
            else:
                first[ident] = (doc.path, line)
    return out


def plan_findings(doc: Document, paths: frozenset[str]) -> list[Finding]:
    """Checks of one release plan against the head's files: bundles exist, window order, code freeze."""
    data = doc.data
    if not isinstance(data, dict):
        return []
    out: list[Finding] = []
    changes = data.get("changes")
    if isinstance(changes, list):
        for i, change in enumerate(changes):
            target = change.get("from_file") if isinstance(change, dict) else None
            if isinstance(target, str) and target.removeprefix("./") not in paths:
                out.append(
                    error(
                        "missing-bundle",
                        f"$.changes[{i}].from_file: expected an existing bundle, found {target!r}, which is not "
                        "in the repository at this ref",
                        doc.path,
                        doc.line(("changes", i, "from_file")),
                    )
                )
    window = data.get("window")
    if not isinstance(window, dict):
        return out
    start, end = _date(window.get("start")), _date(window.get("end"))
    out.extend(_window_order(doc, ("window",), start, end, "the plan window"))
    freeze = data.get("freeze")
    code_freeze = _instant(freeze.get("code_freeze")) if isinstance(freeze, dict) else None
    zone = zone_named(window.get("tz"))
    if code_freeze is None or zone is None or start is None or end is None or end < start:
        return out
    opens = datetime.combine(start, time.min, zone)
    closes = datetime.combine(end + timedelta(days=1), time.min, zone)
    if opens <= code_freeze < closes:
        return out
    side = "before the window starts" if code_freeze < opens else "after the window ends"
    out.append(
        error(
            "code-freeze-outside-window",
            f"$.freeze.code_freeze: expected an instant within the plan window {start.isoformat()} .. "
            f"{end.isoformat()} ({window.get('tz')}), i.e. from {opens.isoformat()} until before "
            f"{closes.isoformat()}; found {code_freeze.isoformat()}, {side}",
            doc.path,
            doc.line(("freeze", "code_freeze")),
        )
    )
    return out


def xrepo_findings(doc: Document) -> list[Finding]:
    """Repositories named as dependencies but not defined in the graph, and dependency cycles."""
    graph = doc.data.get("graph") if isinstance(doc.data, dict) else None
    if not isinstance(graph, dict):
        return []
    out: list[Finding] = []
    edges: dict[str, list[str]] = {}
    for repo, deps in graph.items():
        edges[repo] = []
        for i, dep in enumerate(deps if isinstance(deps, list) else []):
            if not isinstance(dep, str):
                continue
            if dep not in graph:
                out.append(
                    error(
                        "xrepo-unknown-repo",
                        f"$.graph.{repo}[{i}]: expected a repository defined in the graph "
                        f"({', '.join(sorted(graph))}), found {dep!r}",
                        doc.path,
                        doc.line(("graph", repo, i)),
                    )
                )
            else:
                edges[repo].append(dep)
    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as exc:
        cycle: list[str] = list(exc.args[1])
        out.append(
            error(
                "xrepo-cycle",
                f"$.graph: repositories depend on each other in a cycle ({' -> '.join(reversed(cycle))}, "
                "'->' read as 'depends on'): "
                "expected an order in which each repository lands after the ones it depends on",
                doc.path,
                doc.line(("graph", cycle[0])),
            )
        )
    return out


def cross_file_findings(docs: Mapping[str, Document], paths: frozenset[str]) -> list[Finding]:
    """Every cross-file finding for the head's loaded documents; ``paths`` is every path in the head."""
    bundles = [d for p, d in docs.items() if layout.matches(p, BUNDLE_PATTERNS)]
    out: list[Finding] = []
    for doc in bundles:
        out.extend(bundle_findings(doc))
    out.extend(duplicate_work_items(bundles))
    for path, doc in docs.items():
        if layout.matches(path, PLAN_PATTERNS):
            out.extend(plan_findings(doc, paths))
        elif path == layout.XREPO:
            out.extend(xrepo_findings(doc))
    return out
