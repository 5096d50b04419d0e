"""``core.next_change.Change`` -> the line that says when the verdict will change next. Pure.

Examples: "frozen until Mon 09:00 Europe/Dublin (in 2 days)", "a freeze starts in 3 h: 'weekend' at Fri 17:00
Europe/Dublin". Instants are shown in the zone of the window they belong to (UTC otherwise), with the weekday,
and the date when they are a week away or more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from changebot.core.next_change import Change, ChangeKind


def when(instant: datetime, zone: str, now: datetime) -> str:
    """``Mon 09:00 Europe/Dublin``; ``Mon 4 Jan 09:00 Europe/Dublin`` a week away or more."""
    local = instant.astimezone(UTC if zone == "UTC" else ZoneInfo(zone))
    shape = "%a %-d %b %H:%M" if instant - now >= timedelta(days=7) else "%a %H:%M"
    return f"{local.strftime(shape)} {zone}"


def span(delta: timedelta) -> str:
    """``2 days``, ``3 h``, ``1 h 30 min``, ``5 min``: rounded down, the two largest units at most."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return f"{days} days"
    if days == 1:
        return "1 day" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min" if mins else "less than a minute"


def next_change_line(change: Change, now: datetime) -> str:
    """What changes next and when, in words."""
    zone = change.window.zone if change.window is not None else "UTC"
    at, rel = when(change.at, zone, now), span(change.at - now)
    name = f"{change.window.name!r} " if change.window is not None else ""
    if change.kind is ChangeKind.FREEZE_ENDS:
        return f"frozen until {at} (in {rel})"
    if change.kind is ChangeKind.FREEZE_STARTS:
        return f"a freeze starts in {rel}: {name}at {at}"
    if change.kind is ChangeKind.FREEZE_UPCOMING:
        return f"the warning of an upcoming freeze {name}starts in {rel}, at {at}"
    if change.kind is ChangeKind.UPCOMING_ENDS:
        return f"the upcoming-freeze warning ends in {rel}, at {at}"
    if change.kind is ChangeKind.OVERRIDE_EXPIRES:
        held = change.override
        what = f"the {held.gate} override by @{held.actor}" if held is not None else "an override"
        return f"{what} expires in {rel}, at {at}"
    return f"the budget month starts again in {rel}, at {at}"


def next_change_markdown(change: Change | None, now: datetime) -> str:
    """The Markdown paragraph for the comment and the check run ("" when nothing changes within the horizon)."""
    if change is None:
        return ""
    return f"\n:alarm_clock: **Next change:** {next_change_line(change, now)}.\n"
