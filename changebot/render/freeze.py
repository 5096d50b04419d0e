"""The freeze calendar for people (text), for programs (JSON) and for calendar apps (ICS, via icalendar).

Pure: values in, text out. ICS events carry UTC start/end, a stable UID per window (so a subscribed calendar
updates an event instead of duplicating it), the source file and line, and whether the window is enforced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from changebot.core.freeze.gate import FreezeDetail
from changebot.core.freeze.windows import Window, iso
from changebot.model import GateResult, Status
from changebot.render.json import detail_to_json, finding_to_json, json_text
from changebot.render.text import finding_line


def _where(window: Window) -> str:
    return f"{window.source}:{window.line}" if window.line else window.source


def render_freeze_text(gate: GateResult, windows: Sequence[Window], now: datetime, days: int) -> str:
    """The calendar as a release manager reads it, ending in a newline."""
    if gate.status is Status.SKIPPED:
        return f"freeze: skipped: {gate.summary}\n"
    detail = gate.detail if isinstance(gate.detail, FreezeDetail) else None
    frozen = detail is not None and bool(detail.frozen)
    state = "FROZEN" if frozen else "open"
    lines = [f"branch {detail.branch if detail else None} at {now.isoformat()}: {state}", f"  {gate.summary}"]
    if detail is not None and frozen:
        opens = detail.open_at.isoformat() if detail.open_at else "not within the horizon"
        lines.append(f"  opens at: {opens}")
    lines += ["", f"freeze windows from now to {days} day(s) ahead:"]
    if not windows:
        lines.append("  (none)")
    for window in windows:
        flag = "" if window.enforced else "  [listed, not enforced]"
        lines.append(
            f"  {iso(window.start, window.zone)} -> {iso(window.end, window.zone)}  {window.name}  "
            f"({_where(window)}){flag}"
        )
    if gate.findings:
        lines += ["", "findings:"]
        lines.extend(f"  {finding_line(f)}" for f in gate.findings)
    return "\n".join(lines) + "\n"


def freeze_to_json(gate: GateResult, windows: Sequence[Window], now: datetime, days: int) -> dict[str, Any]:
    """The calendar as a JSON-ready mapping: the gate's fields plus the windows over the period."""
    return {
        "status": str(gate.status),
        "summary": gate.summary,
        "now": now.isoformat(),
        "days": days,
        **detail_to_json(gate),
        "calendar": [w.to_json() for w in windows],
        "findings": [finding_to_json(f) for f in gate.findings],
    }


def render_freeze_json(gate: GateResult, windows: Sequence[Window], now: datetime, days: int) -> str:
    """``freeze_to_json`` as indented text."""
    return json_text(freeze_to_json(gate, windows, now, days))


def window_uid(window: Window) -> str:
    """A UID that stays the same for the same window across exports."""
    key = f"{window.source}|{window.line}|{window.name}|{window.start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32] + "@changebot"


def render_ics(windows: Sequence[Window], now: datetime, name: str = "changebot freeze windows") -> str:
    """An iCalendar (RFC 5545) document with one VEVENT per window."""
    from icalendar import Calendar, Event  # noqa: PLC0415 - lazy: keeps start-up fast

    calendar = Calendar()
    calendar.add("prodid", "-//changebot//freeze calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    stamp = now.astimezone(UTC).replace(microsecond=0)
    for window in windows:
        event = Event()
        event.add("uid", window_uid(window))
        event.add("dtstamp", stamp)
        event.add("dtstart", window.start.astimezone(UTC))
        event.add("dtend", window.end.astimezone(UTC))
        enforced = "" if window.enforced else " (not enforced)"
        event.add("summary", f"Freeze: {window.name}{enforced}")
        event.add("description", f"{window.kind} window from {_where(window)}; zone {window.zone}")
        event.add("categories", ["freeze"])
        event.add("transp", "OPAQUE" if window.enforced else "TRANSPARENT")
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical.decode("utf-8")
