"""Release-plan windows as instants, for the calendar chart: ``window: {start, end, tz}`` of each plan.

Dates are whole days in the plan's zone, and ``end`` is inclusive (``end: 2025-09-29`` lasts until
2025-09-30T00:00 local), as for a plan's code freeze in ``core.calendars``. Plans whose window cannot be read
(or ends outside ``SUPPORTED_YEARS``) are left out here; the schema gate reports them. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from changebot.core.context import Context
from changebot.core.documents import layout
from changebot.core.documents.bundles import zone_named
from changebot.core.freeze.windows import SUPPORTED_YEARS


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class PlanWindow:
    """One release plan's window: its name, the plan file, and ``[start, end)`` in the plan's zone."""

    name: str
    source: str
    start: datetime
    end: datetime

    def to_json(self) -> dict[str, Any]:
        """``{name, source, start, end}`` with ISO 8601 instants (offsets of the plan's zone)."""
        return {"name": self.name, "source": self.source, "start": self.start.isoformat(), "end": self.end.isoformat()}


def plan_windows(ctx: Context) -> tuple[PlanWindow, ...]:
    """The window of every release plan the head proposes whose window can be read."""
    out: list[PlanWindow] = []
    for path in ctx.paths("head", layout.PLANS):
        loaded = ctx.proposal(path)
        data = loaded.document.data if loaded is not None and loaded.document is not None else None
        window = data.get("window") if isinstance(data, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(window, Mapping):
            continue
        first, last = _day(window.get("start")), _day(window.get("end"))
        zone = zone_named(window.get("tz")) or UTC
        if first is None or last is None or last < first or last.year not in SUPPORTED_YEARS:
            continue
        start = datetime.combine(first, time(), zone)
        end = datetime.combine(last + timedelta(days=1), time(), zone)
        plan = data.get("plan")
        out.append(PlanWindow(plan if isinstance(plan, str) else path.rsplit("/", 1)[-1], path, start, end))
    return tuple(out)
