"""Recurring freeze windows as written -> ``Recurring`` values: weekly spans, RFC 5545 rules, cron + duration.

See ``changebot.core.freeze.calendars`` for the shapes. A duration is ISO 8601 (``PT8H``, parsed by icalendar) or a
short ``8h``/``90m``/``2d``; it is added to each local start in wall-clock time. A source that would start more
than ``MAX_PER_WEEK`` windows a week is refused (``freeze-too-frequent``): it would cost too much to expand
and is almost certainly a mistake. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from changebot.core.documents.load import Document, JsonPath
from changebot.core.freeze.calendars import Collected, absolute, active_flag, window_name, zone_of
from changebot.core.freeze.recurrence import (
    MAX_PER_WEEK,
    RRULE_ANCHOR,
    cron_starts,
    rrule_problem,
    rrule_starts,
    too_frequent,
)
from changebot.core.freeze.windows import Recurring
from changebot.model import error

_DAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}
_WEEKLY = re.compile(r"^\s*([A-Za-z]{3})[A-Za-z]*\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(\S+)?\s*$")
_SHORT_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: Longest recurring window.
MAX_DURATION = timedelta(days=366)


def duration(value: Any, doc: Document, where: JsonPath, out: Collected) -> timedelta | None:
    """``PT8H`` (ISO 8601) or ``8h``/``90m``/``2d`` -> a positive timedelta, or ``None`` plus a finding."""
    found: timedelta | None = None
    if isinstance(value, str):
        short = _SHORT_DURATION.match(value)
        if short:
            try:
                found = timedelta(**{_UNITS[short.group(2)]: float(short.group(1))})
            except OverflowError:
                found = None
        else:
            from icalendar.prop import vDuration  # noqa: PLC0415 - lazy: keeps start-up fast

            try:
                parsed = vDuration.from_ical(value.strip())  # type: ignore[no-untyped-call]
            except (ValueError, TypeError, OverflowError):
                parsed = None
            found = parsed if isinstance(parsed, timedelta) else None
    if found is None or found <= timedelta(0) or found > MAX_DURATION:
        out.findings.append(
            error(
                "freeze-bad-duration",
                f"duration {value!r} is not a positive duration of at most 366 days (expected ISO 8601 like PT8H "
                "or P2D, or 8h/90m/2d)",
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
        if (
            not match
            or day not in _DAYS
            or int(match.group(2)) > 23
            or int(match.group(3)) > 59
            or (int(match.group(4) or 0) > 59)
        ):
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
    name = window_name(entry, index)
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
            name,
            doc.path,
            doc.line(where),
            zone,
            length,
            rrule_starts(rule),
            active_flag(entry, doc, where, out),
            "weekly",
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
    name = window_name(entry, index)
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
    problem_text = rrule_problem(rule)
    if problem_text is not None:
        out.findings.append(
            error(
                "freeze-bad-rrule",
                f"window {name!r}: rrule {text!r} cannot be used: {problem_text}",
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
    starts = rrule_starts(rule)
    if _too_frequent(starts, rule._dtstart, name, f"rrule {text!r}", doc, (*where, "rrule"), out):
        return
    active = active_flag(entry, doc, where, out)
    out.recurring.append(Recurring(name, doc.path, doc.line(where), zone, length, starts, active and enforced, "rrule"))


def _too_frequent(
    starts: Any, anchor: datetime, name: str, what: str, doc: Document, where: JsonPath, out: Collected
) -> bool:
    if not too_frequent(starts, anchor):
        return False
    out.findings.append(
        error(
            "freeze-too-frequent",
            f"window {name!r}: {what} starts more than {MAX_PER_WEEK} windows a week; "
            "use a longer duration with a coarser rule",
            doc.path,
            doc.line(where),
        )
    )
    return True


def cron(
    doc: Document, entry: Mapping[str, Any], where: JsonPath, index: int, zone: str | None, out: Collected
) -> None:
    """``{name, cron, duration, timezone}`` (croniter; the zone defaults to ``zone`` or UTC)."""
    from croniter import croniter  # noqa: PLC0415 - lazy: keeps start-up fast

    name = window_name(entry, index)
    expression = entry.get("cron")
    if "timezone" in entry:
        zone = zone_of(entry["timezone"], doc, (*where, "timezone"), out)
        if zone is None:
            return
    problem = None
    if not isinstance(expression, str) or len(expression) > 200 or not croniter.is_valid(expression):
        problem = "is not a valid cron expression (e.g. '0 17 * * FRI')"
    else:
        try:
            croniter(expression, RRULE_ANCHOR).get_next(datetime)
        except ValueError:
            problem = "never fires (no date matches it)"
    if problem is not None or not isinstance(expression, str):
        out.findings.append(
            error(
                "freeze-bad-cron",
                f"window {name!r}: cron {expression!r} {problem}",
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
    starts = cron_starts(expression)
    if _too_frequent(starts, RRULE_ANCHOR, name, f"cron {expression!r}", doc, (*where, "cron"), out):
        return
    active = active_flag(entry, doc, where, out)
    out.recurring.append(Recurring(name, doc.path, doc.line(where), zone or "UTC", length, starts, active, "cron"))


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
