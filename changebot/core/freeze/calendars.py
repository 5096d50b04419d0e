"""Freeze calendars as written -> ``Window`` and ``Recurring`` values, with a finding for every bad entry.

This module has the shared helpers (zones, instants, ``active``) and the absolute shapes (1 and 4 below);
``changebot.core.freeze.calendar_rules`` reads the recurring ones (2, 3 and 5).

The five shapes (FORMATS.md "freeze calendars"):

1. absolute windows, ``[{"name", "from", "to"}]`` (``.maestro/freeze_windows.json`` or any ``file:``);
   datetimes need an offset (``Z`` or ``+02:00``) unless the entry or file gives a ``timezone``;
2. weekly windows in ``pipeline.yaml`` ``freeze_windows``: ``{name, start: "FRI 17:00 UTC", end: "MON 09:00 UTC"}``
   (the end is the next such time after the start, so the window may wrap the week); ``{name, file}`` pulls
   in another calendar;
3. ``release-policy.yml`` ``freeze: {enabled, timezone, windows: [{name, rrule, active}, {name, start, end,
   active}]}``: RFC 5545 rules (dateutil) and local start/end in ``timezone``. A rule with no time of day
   (no BYHOUR/BYMINUTE/BYSECOND, no DTSTART time) and no ``duration`` covers whole local days; a rule with a
   time of day needs ``duration`` (ISO 8601, ``PT8H``, or ``8h``/``90m``/``2d``). ``enabled: false`` lists the
   windows without enforcing them;
4. a release plan's ``freeze.code_freeze``: frozen from then until the end of the plan's ``window.end`` *day*
   in ``window.tz`` (``end: 2025-09-29`` is inclusive, so the freeze ends at 2025-09-30T00:00 local);
5. cron + duration in changebot's settings, ``freeze.calendars: [{name, cron, duration, timezone}]`` (croniter).

Every entry may say ``active: false``: listed, not enforced. Pure: documents in, values and findings out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from changebot.core.documents.load import Document, JsonPath
from changebot.core.freeze.windows import SUPPORTED_YEARS, Recurring, Window, to_instant
from changebot.model import Finding, error


@dataclass
class Collected:
    """What the readers found: windows, recurring sources and findings, accumulated over files."""

    fixed: list[Window] = field(default_factory=list)
    recurring: list[Recurring] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


#: What a date, zone, rrule or cron library raises on input it cannot read (dateutil, croniter, icalendar and
#: ``datetime`` raise these rather than their own error types).
LIBRARY_ERRORS = (ArithmeticError, LookupError, TypeError, ValueError, RecursionError)


def guarded(read: Callable[[], None], doc: Document, where: JsonPath, out: Collected) -> None:
    """Run one entry's reader; anything a library raises on it becomes a ``freeze-unreadable`` finding.

    The readers check what they can and name the problem; this is the net under them, so that no calendar a
    pull request can write turns into a traceback (and, in the App, a missing check run).
    """
    try:
        read()
    except LIBRARY_ERRORS as exc:
        out.findings.append(
            error(
                "freeze-unreadable",
                f"this calendar entry cannot be read ({type(exc).__name__}: {str(exc)[:200]}); failing closed",
                doc.path,
                doc.line(where),
            )
        )


def zone_of(name: Any, doc: Document, where: JsonPath, out: Collected) -> str | None:
    """An IANA zone name that exists (``UTC``/``Z`` -> ``UTC``), or ``None`` plus a finding."""
    if isinstance(name, str) and name.strip().upper() in ("UTC", "Z", "ETC/UTC"):
        return "UTC"
    if isinstance(name, str) and name and ".." not in name and not name.startswith("/"):
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
            pass
        else:
            return name
    out.findings.append(
        error(
            "freeze-unknown-zone",
            f"unknown time zone {name!r}: expected an IANA zone name such as America/Denver or UTC",
            doc.path,
            doc.line(where),
        )
    )
    return None


def instant(value: Any, zone: str | None, doc: Document, where: JsonPath, what: str, out: Collected) -> datetime | None:
    """An ISO 8601 date-time -> UTC instant; naive ones need ``zone``."""
    text = value if isinstance(value, str) else None
    parsed: datetime | None = None
    if text is not None:
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        out.findings.append(
            error(
                "freeze-bad-datetime",
                f"{what} {value!r} is not an ISO 8601 date-time (expected e.g. 2025-12-15T00:00:00Z)",
                doc.path,
                doc.line(where),
            )
        )
        return None
    if parsed.year not in SUPPORTED_YEARS:
        out.findings.append(
            error(
                "freeze-bad-datetime",
                f"{what} {value!r} is out of range: use a year from {SUPPORTED_YEARS.start} to "
                f"{SUPPORTED_YEARS.stop - 1}",
                doc.path,
                doc.line(where),
            )
        )
        return None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if zone is None:
        out.findings.append(
            error(
                "freeze-naive-datetime",
                f"{what} {value!r} has no UTC offset and no timezone is given: add 'Z' or an offset "
                "(e.g. 2025-12-15T00:00:00-07:00), or a 'timezone'",
                doc.path,
                doc.line(where),
            )
        )
        return None
    return to_instant(parsed, ZoneInfo(zone)) if zone != "UTC" else parsed.replace(tzinfo=UTC)


def active_flag(entry: Mapping[str, Any], doc: Document, where: JsonPath, out: Collected) -> bool:
    value = entry.get("active", True)
    if isinstance(value, bool):
        return value
    out.findings.append(
        error("freeze-bad-active", f"'active' must be true or false, found {value!r}", doc.path, doc.line(where))
    )
    return True  # fail closed: enforce it


def window_name(entry: Mapping[str, Any], index: int) -> str:
    name = entry.get("name")
    return name if isinstance(name, str) and name.strip() else f"window {index + 1}"


def absolute(
    doc: Document,
    entry: Mapping[str, Any],
    where: JsonPath,
    index: int,
    zone: str | None,
    out: Collected,
    keys: tuple[str, str] = ("from", "to"),
    enforced: bool = True,
) -> None:
    """One ``{name, from, to}`` window (or ``start``/``end`` with ``keys``)."""
    first, last = keys
    if "timezone" in entry:
        zone = zone_of(entry["timezone"], doc, (*where, "timezone"), out)
        if zone is None:
            return
    start = instant(entry.get(first), zone, doc, (*where, first), f"'{first}'", out)
    end = instant(entry.get(last), zone, doc, (*where, last), f"'{last}'", out)
    if start is None or end is None:
        return
    name = window_name(entry, index)
    if end <= start:
        out.findings.append(
            error(
                "freeze-end-before-start",
                f"window {name!r}: '{last}' ({entry.get(last)}) is not after '{first}' ({entry.get(first)}); "
                "the window is ignored",
                doc.path,
                doc.line((*where, last)),
            )
        )
        return
    active = active_flag(entry, doc, where, out)
    out.fixed.append(
        Window(start, end, name, doc.path, doc.line(where), active and enforced, zone or "UTC", "absolute")
    )


def absolute_file(doc: Document, out: Collected) -> None:
    """A calendar file: a list of absolute windows, or ``{timezone?, windows: [...]}``."""
    data = doc.data
    zone: str | None = None
    prefix: JsonPath = ()
    if isinstance(data, Mapping):
        if "timezone" in data:
            zone = zone_of(data["timezone"], doc, ("timezone",), out)
        data, prefix = data.get("windows"), ("windows",)
    if not isinstance(data, list):
        out.findings.append(
            error("freeze-shape", "expected a list of {name, from, to} windows", doc.path, doc.line(prefix))
        )
        return
    for index, entry in enumerate(data):
        where = (*prefix, index)
        if not isinstance(entry, Mapping):
            out.findings.append(
                error("freeze-shape", "a window must be a mapping {name, from, to}", doc.path, doc.line(where))
            )
            continue
        absolute(doc, entry, where, index, zone, out)


def code_freeze(doc: Document, out: Collected) -> None:
    """A release plan's ``freeze.code_freeze``: frozen from then to the end of the plan window's last day."""
    data = doc.data
    if not isinstance(data, Mapping) or not isinstance(data.get("freeze"), Mapping):
        return
    if "code_freeze" not in data["freeze"]:
        return
    window = data.get("window")
    where: JsonPath = ("freeze", "code_freeze")
    name = f"code freeze ({data['plan']})" if isinstance(data.get("plan"), str) else "code freeze"
    if not isinstance(window, Mapping) or "end" not in window:
        out.findings.append(
            error(
                "freeze-plan-no-end",
                "a plan with freeze.code_freeze needs window.end (the freeze lasts until the window ends)",
                doc.path,
                doc.line(where),
            )
        )
        return
    zone = zone_of(window.get("tz", "UTC"), doc, ("window", "tz"), out)
    if zone is None:
        return
    start = instant(data["freeze"]["code_freeze"], zone, doc, where, "freeze.code_freeze", out)
    try:
        last_day = date.fromisoformat(str(window["end"]).strip())
        if last_day.year not in SUPPORTED_YEARS:
            raise ValueError(last_day.year)
    except ValueError:
        out.findings.append(
            error(
                "freeze-bad-datetime",
                f"window.end {window['end']!r} is not a date from 1900 to 8999 (expected YYYY-MM-DD)",
                doc.path,
                doc.line(("window", "end")),
            )
        )
        return
    if start is None:
        return
    local_end = datetime.combine(last_day + timedelta(days=1), time())
    end = to_instant(local_end, ZoneInfo(zone)) if zone != "UTC" else local_end.replace(tzinfo=UTC)
    if end <= start:
        out.findings.append(
            error(
                "freeze-end-before-start",
                f"freeze.code_freeze ({data['freeze']['code_freeze']}) is after the plan window ends "
                f"({window['end']} in {zone})",
                doc.path,
                doc.line(where),
            )
        )
        return
    out.fixed.append(Window(start, end, name, doc.path, doc.line(where), True, zone, "code_freeze"))
