"""Freeze calendars as written -> ``Window`` and ``Recurring`` values, with a finding for every bad entry.

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

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from changebot.core.freeze import RRULE_ANCHOR, Recurring, Window, cron_starts, rrule_starts, to_instant
from changebot.core.load import Document, JsonPath
from changebot.model import Finding, error

_DAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}
_WEEKLY = re.compile(r"^\s*([A-Za-z]{3})[A-Za-z]*\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(\S+)?\s*$")
_SHORT_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass
class Collected:
    """What the readers found: windows, recurring sources and findings, accumulated over files."""

    fixed: list[Window] = field(default_factory=list)
    recurring: list[Recurring] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def zone_of(name: Any, doc: Document, where: JsonPath, out: Collected) -> str | None:
    """An IANA zone name that exists (``UTC``/``Z`` -> ``UTC``), or ``None`` plus a finding."""
    if isinstance(name, str) and name.strip().upper() in ("UTC", "Z", "ETC/UTC"):
        return "UTC"
    if isinstance(name, str) and name and ".." not in name and not name.startswith("/"):
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
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


def _instant(
    value: Any, zone: str | None, doc: Document, where: JsonPath, what: str, out: Collected
) -> datetime | None:
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
    if parsed.tzinfo is not None:
        return parsed.astimezone(ZoneInfo("UTC"))
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
    return to_instant(parsed, ZoneInfo(zone)) if zone != "UTC" else parsed.replace(tzinfo=ZoneInfo("UTC"))


def _active(entry: Mapping[str, Any], doc: Document, where: JsonPath, out: Collected) -> bool:
    value = entry.get("active", True)
    if isinstance(value, bool):
        return value
    out.findings.append(
        error("freeze-bad-active", f"'active' must be true or false, found {value!r}", doc.path, doc.line(where))
    )
    return True  # fail closed: enforce it


def _name(entry: Mapping[str, Any], index: int) -> str:
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
    start = _instant(entry.get(first), zone, doc, (*where, first), f"'{first}'", out)
    end = _instant(entry.get(last), zone, doc, (*where, last), f"'{last}'", out)
    if start is None or end is None:
        return
    name = _name(entry, index)
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
    active = _active(entry, doc, where, out)
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


def duration(value: Any, doc: Document, where: JsonPath, out: Collected) -> timedelta | None:
    """``PT8H`` (ISO 8601) or ``8h``/``90m``/``2d`` -> a positive timedelta, or ``None`` plus a finding."""
    found: timedelta | None = None
    if isinstance(value, str):
        short = _SHORT_DURATION.match(value)
        if short:
            found = timedelta(**{_UNITS[short.group(2)]: float(short.group(1))})
        else:
            from icalendar.prop import vDuration  # noqa: PLC0415 - lazy: keeps start-up fast

            try:
                parsed = vDuration.from_ical(value.strip())  # type: ignore[no-untyped-call]
            except (ValueError, TypeError):
                parsed = None
            found = parsed if isinstance(parsed, timedelta) else None
    if found is None or found <= timedelta(0):
        out.findings.append(
            error(
                "freeze-bad-duration",
                f"duration {value!r} is not a positive duration (expected ISO 8601 like PT8H or P2D, or 8h/90m/2d)",
                doc.path,
                doc.line(where),
            )
        )
        return None
    return found


def weekly(doc: Document, entry: Mapping[str, Any], where: JsonPath, index: int, out: Collected) -> None:
    """``{name, start: "FRI 17:00 UTC", end: "MON 09:00 UTC"}``: weekly, wrapping the week when end < start."""
    parts = []
    for key in ("start", "end"):
        match = _WEEKLY.match(str(entry.get(key, "")))
        day = match.group(1).upper() if match else ""
        if not match or day not in _DAYS or int(match.group(2)) > 23 or int(match.group(3)) > 59:
            out.findings.append(
                error(
                    "freeze-bad-weekly",
                    f"'{key}' {entry.get(key)!r} is not a weekly time: expected DAY HH:MM ZONE, e.g. 'FRI 17:00 UTC'",
                    doc.path,
                    doc.line((*where, key)),
                )
            )
            return
        zone = zone_of(match.group(5) or "", doc, (*where, key), out)
        if zone is None:
            return
        clock = time(int(match.group(2)), int(match.group(3)), int(match.group(4) or 0))
        parts.append((_DAYS[day], clock, zone))
    (start_day, start_time, zone), (end_day, end_time, end_zone) = parts
    name = _name(entry, index)
    if end_zone != zone:
        out.findings.append(
            error(
                "freeze-bad-weekly",
                f"window {name!r}: start is in {zone} but end is in {end_zone}; use one zone for both",
                doc.path,
                doc.line((*where, "end")),
            )
        )
        return
    anchor = datetime.combine(date(2000, 1, 3), time())  # a Monday
    length = (
        (anchor + timedelta(days=end_day) + _clock(end_time))
        - (anchor + timedelta(days=start_day))
        - _clock(start_time)
    )
    length %= timedelta(weeks=1)
    if not length:
        out.findings.append(
            error(
                "freeze-end-before-start",
                f"window {name!r}: start and end are the same weekly time",
                doc.path,
                doc.line((*where, "end")),
            )
        )
        return
    from dateutil.rrule import WEEKLY, rrule  # noqa: PLC0415 - lazy: keeps start-up fast

    rule = rrule(
        WEEKLY,
        dtstart=anchor,
        byweekday=start_day,
        byhour=start_time.hour,
        byminute=start_time.minute,
        bysecond=start_time.second,
    )
    out.recurring.append(
        Recurring(
            name, doc.path, doc.line(where), zone, length, rrule_starts(rule), _active(entry, doc, where, out), "weekly"
        )
    )


def _clock(value: time) -> timedelta:
    return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)


def recurrence(
    doc: Document,
    entry: Mapping[str, Any],
    where: JsonPath,
    index: int,
    zone: str,
    out: Collected,
    enforced: bool = True,
) -> None:
    """``{name, rrule, duration?, dtstart?}`` in ``zone`` (dateutil)."""
    from dateutil.rrule import HOURLY, MINUTELY, SECONDLY, rrulestr  # noqa: PLC0415 - lazy: keeps start-up fast

    text = entry.get("rrule")
    name = _name(entry, index)
    anchor = RRULE_ANCHOR
    if "dtstart" in entry:
        try:
            anchor = datetime.fromisoformat(str(entry["dtstart"]))
        except ValueError:
            anchor = None  # type: ignore[assignment]
        if anchor is None or anchor.tzinfo is not None:
            out.findings.append(
                error(
                    "freeze-bad-datetime",
                    f"'dtstart' {entry['dtstart']!r} must be a local date-time without offset (the window's "
                    "timezone applies), e.g. 2025-01-06T17:00:00",
                    doc.path,
                    doc.line((*where, "dtstart")),
                )
            )
            return
    rule: Any = None
    problem = "not a string"
    if isinstance(text, str) and len(text) <= 1000:
        try:
            rule = rrulestr(text.strip().removeprefix("RRULE:"), dtstart=anchor, ignoretz=True)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
            problem = str(exc) or type(exc).__name__
    if rule is None or not hasattr(rule, "_freq"):
        out.findings.append(
            error(
                "freeze-bad-rrule",
                f"window {name!r}: rrule {text!r} is not an RFC 5545 recurrence rule ({problem})",
                doc.path,
                doc.line((*where, "rrule")),
            )
        )
        return
    upper = text.upper() if isinstance(text, str) else ""
    has_time = (
        any(key in upper for key in ("BYHOUR", "BYMINUTE", "BYSECOND"))
        or rule._dtstart.time() != time()
        or rule._freq in (HOURLY, MINUTELY, SECONDLY)
    )
    if "duration" in entry:
        length = duration(entry["duration"], doc, (*where, "duration"), out)
        if length is None:
            return
    elif has_time:
        out.findings.append(
            error(
                "freeze-rrule-needs-duration",
                f"window {name!r}: rrule {text!r} has a time of day, so it needs a 'duration' (e.g. PT8H)",
                doc.path,
                doc.line((*where, "rrule")),
            )
        )
        return
    else:
        length = timedelta(days=1)  # whole local days
    active = _active(entry, doc, where, out)
    out.recurring.append(
        Recurring(name, doc.path, doc.line(where), zone, length, rrule_starts(rule), active and enforced, "rrule")
    )


def cron(
    doc: Document, entry: Mapping[str, Any], where: JsonPath, index: int, zone: str | None, out: Collected
) -> None:
    """``{name, cron, duration, timezone}`` (croniter; the zone defaults to ``zone`` or UTC)."""
    from croniter import croniter  # noqa: PLC0415 - lazy: keeps start-up fast

    name = _name(entry, index)
    expression = entry.get("cron")
    if "timezone" in entry:
        zone = zone_of(entry["timezone"], doc, (*where, "timezone"), out)
        if zone is None:
            return
    if not isinstance(expression, str) or len(expression) > 200 or not croniter.is_valid(expression):
        out.findings.append(
            error(
                "freeze-bad-cron",
                f"window {name!r}: cron {expression!r} is not a valid cron expression (e.g. '0 17 * * FRI')",
                doc.path,
                doc.line((*where, "cron")),
            )
        )
        return
    if "duration" not in entry:
        out.findings.append(
            error(
                "freeze-bad-duration",
                f"window {name!r}: a cron window needs a 'duration' (e.g. PT64H)",
                doc.path,
                doc.line(where),
            )
        )
        return
    length = duration(entry["duration"], doc, (*where, "duration"), out)
    if length is None:
        return
    active = _active(entry, doc, where, out)
    out.recurring.append(
        Recurring(name, doc.path, doc.line(where), zone or "UTC", length, cron_starts(expression), active, "cron")
    )


def release_policy(doc: Document, out: Collected) -> None:
    """``release-policy.yml`` ``freeze:`` block: rrules and local start/end windows in ``timezone``."""
    data = doc.data
    block = data.get("freeze") if isinstance(data, Mapping) else None
    if block is None:
        return
    if not isinstance(block, Mapping):
        out.findings.append(error("freeze-shape", "'freeze' must be a mapping", doc.path, doc.line(("freeze",))))
        return
    enabled = block.get("enabled", True)
    if not isinstance(enabled, bool):
        out.findings.append(
            error(
                "freeze-bad-active",
                f"'enabled' must be true or false, found {enabled!r}",
                doc.path,
                doc.line(("freeze", "enabled")),
            )
        )
        enabled = True
    zone = zone_of(block.get("timezone", "UTC"), doc, ("freeze", "timezone"), out)
    windows = block.get("windows", [])
    if not isinstance(windows, list):
        out.findings.append(
            error("freeze-shape", "'freeze.windows' must be a list", doc.path, doc.line(("freeze", "windows")))
        )
        return
    for index, entry in enumerate(windows):
        where: JsonPath = ("freeze", "windows", index)
        if not isinstance(entry, Mapping):
            out.findings.append(error("freeze-shape", "a window must be a mapping", doc.path, doc.line(where)))
            continue
        if zone is None and "timezone" not in entry:
            continue  # the unknown zone is already a finding
        entry_zone = zone or "UTC"
        if "timezone" in entry:
            found = zone_of(entry["timezone"], doc, (*where, "timezone"), out)
            if found is None:
                continue
            entry_zone = found
        if "rrule" in entry:
            recurrence(doc, entry, where, index, entry_zone, out, enforced=enabled)
        elif "cron" in entry:
            cron(doc, entry, where, index, entry_zone, out)
        else:
            absolute(doc, {**entry, "timezone": entry_zone}, where, index, None, out, ("start", "end"), enabled)


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
    start = _instant(data["freeze"]["code_freeze"], zone, doc, where, "freeze.code_freeze", out)
    try:
        last_day = date.fromisoformat(str(window["end"]).strip())
    except ValueError:
        out.findings.append(
            error(
                "freeze-bad-datetime",
                f"window.end {window['end']!r} is not a date (expected YYYY-MM-DD)",
                doc.path,
                doc.line(("window", "end")),
            )
        )
        return
    if start is None:
        return
    local_end = datetime.combine(last_day + timedelta(days=1), time())
    end = to_instant(local_end, ZoneInfo(zone)) if zone != "UTC" else local_end.replace(tzinfo=ZoneInfo("UTC"))
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
