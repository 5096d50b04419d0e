"""AuditReport -> text, Markdown (the audit issue body) and JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from changebot.core.audit import AuditReport, FrozenMerge
from changebot.core.freeze.windows import Window
from changebot.model import Override
from changebot.render.gantt import Bar, gantt
from changebot.render.json import json_text
from changebot.render.md import escape_cell

AUDIT_MARKER = "<!-- changebot:audit -->"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _override_json(override: Override | None) -> dict[str, Any] | None:
    if override is None:
        return None
    return {
        "actor": override.actor,
        "reason": override.reason,
        "granted_at": _iso(override.granted_at),
        "expires_at": _iso(override.expires_at),
        "head_sha": override.head_sha,
    }


def _span_json(span: Window) -> dict[str, Any]:
    return span.to_json()  # local to the window's own zone, with its offset


def report_to_json(report: AuditReport) -> dict[str, Any]:
    """The report as a JSON-ready mapping."""
    return {
        "since": _iso(report.since),
        "until": _iso(report.until),
        "now": _iso(report.now),
        "days": report.days,
        "branches": list(report.branches),
        "merged_checked": report.merged_checked,
        "merged_in_freeze": [
            {
                "number": m.pr.number,
                "title": m.pr.title,
                "url": m.pr.url,
                "branch": m.pr.base_branch,
                "merged_at": _iso(m.pr.merged_at),
                "merged_by": m.pr.merged_by,
                "authorised": m.authorised,
                "override": _override_json(m.override),
                "windows": [_span_json(s) for s in m.windows],
            }
            for m in report.merged_in_freeze
        ],
        "upcoming": [
            {
                "number": u.pr.number,
                "title": u.pr.title,
                "url": u.pr.url,
                "branch": u.pr.base_branch,
                "window": _span_json(u.window),
            }
            for u in report.upcoming
        ],
        "expired_unused": [
            {"number": e.pr.number, "title": e.pr.title, "url": e.pr.url, "override": _override_json(e.override)}
            for e in report.expired_unused
        ],
    }


def render_audit_json(report: AuditReport) -> str:
    """JSON text, ending in a newline."""
    return json_text(report_to_json(report))


def _who(merge: FrozenMerge) -> str:
    if merge.override is None:
        return "UNAUTHORISED"
    o = merge.override
    until = f", until {o.expires_at.isoformat()}" if o.expires_at else ""
    return f"override by {o.actor}{until}: {o.reason}"


def render_audit_text(report: AuditReport) -> str:
    """Terminal text, ending in a newline."""
    lines = [
        f"freeze audit {report.since.isoformat()} .. {report.until.isoformat()} "
        f"(branches: {', '.join(report.branches)}; {report.merged_checked} merge(s) checked)",
        "",
    ]
    lines.append(f"merged during a freeze: {len(report.merged_in_freeze)} ({len(report.unauthorised)} unauthorised)")
    for merge in report.merged_in_freeze:
        names = ", ".join(s.name for s in merge.windows)
        lines.append(
            f"  #{merge.pr.number} {merge.pr.title} — merged {_iso(merge.pr.merged_at)} by "
            f"{merge.pr.merged_by or '?'} in [{names}] — {_who(merge)}"
        )
    lines.append(f"open PRs entering a freeze in the next {report.days} day(s): {len(report.upcoming)}")
    lines.extend(
        f"  #{u.pr.number} {u.pr.title} -> {u.pr.base_branch}: {u.window.name} from "
        f"{u.window.start.isoformat()} to {u.window.end.isoformat()}"
        for u in report.upcoming
    )
    lines.append(f"overrides that expired unused: {len(report.expired_unused)}")
    lines.extend(
        f"  #{e.pr.number} {e.override.actor}: {e.override.reason} (expired {_iso(e.override.expires_at)})"
        for e in report.expired_unused
    )
    return "\n".join(lines) + "\n"


def _link(number: int, url: str) -> str:
    return f"[#{number}]({url})" if url else f"#{number}"


def calendar_chart(spans: tuple[Window, ...], now: datetime, days: int) -> str:
    """The Gantt chart of the spans in the coming ``days``."""
    bars = [
        Bar(
            "Freeze windows" if s.enforced else "Not enforced",
            s.name,
            s.start,
            s.end,
            critical=s.enforced,
            inactive=not s.enforced,
        )
        for s in spans
    ]
    return gantt(bars, now, now + timedelta(days=max(days, 1)), "Coming freezes")


def _table(header: str, rows: list[str], any_items: bool) -> list[str]:
    """A Markdown table (``header``, its rule, ``rows``), or ``None.`` when there are no items."""
    if not any_items:
        return ["None."]
    return [header, "|" + "---|" * header.count(" | ") + "---|", *rows]


def render_audit_markdown(report: AuditReport) -> str:
    """The audit issue body: summary, tables linking every PR, and the Gantt chart."""
    unauthorised = len(report.unauthorised)
    icon = ":x:" if unauthorised else ":white_check_mark:"
    lines = [
        AUDIT_MARKER,
        f"## {icon} Freeze audit {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}",
        "",
        f"Branches: {', '.join(f'`{b}`' for b in report.branches)} · merges checked: {report.merged_checked} · "
        f"merged during a freeze: {len(report.merged_in_freeze)} · **unauthorised: {unauthorised}**",
        "",
        "### Merged during a freeze",
        "",
    ]
    lines += _table(
        "| PR | merged (UTC) | by | window | authorisation |",
        [
            f"| {_link(m.pr.number, m.pr.url)} {escape_cell(m.pr.title)} | {_utc(m.pr.merged_at)} | "
            f"{escape_cell(m.pr.merged_by or '?')} | {escape_cell(', '.join(s.name for s in m.windows))} | "
            f"{':x: **unauthorised**' if m.override is None else escape_cell(_who(m))} |"
            for m in report.merged_in_freeze
            if m.pr.merged_at is not None
        ],
        bool(report.merged_in_freeze),
    )
    lines += ["", f"### Open pull requests entering a freeze in the next {report.days} days", ""]
    lines += _table(
        "| PR | target | window | starts (UTC) | ends (UTC) |",
        [
            f"| {_link(u.pr.number, u.pr.url)} {escape_cell(u.pr.title)} | `{u.pr.base_branch}` | "
            f"{escape_cell(u.window.name)} | {_utc(u.window.start)} | {_utc(u.window.end)} |"
            for u in report.upcoming
        ],
        bool(report.upcoming),
    )
    lines += ["", "### Overrides that expired unused", ""]
    lines += _table(
        "| PR | granted by | reason | expired (UTC) |",
        [
            f"| {_link(e.pr.number, e.pr.url)} | {escape_cell(e.override.actor)} | "
            f"{escape_cell(e.override.reason)} | {_iso(e.override.expires_at)} |"
            for e in report.expired_unused
        ],
        bool(report.expired_unused),
    )
    lines += [
        "",
        "### Coming weeks",
        "",
        calendar_chart(report.spans, report.now, report.days).rstrip("\n"),
        "",
        f"<sub>generated by changebot at {report.now.isoformat()}</sub>",
    ]
    return "\n".join(lines) + "\n"


def render_failure_markdown(reason: str, hint: str | None) -> str:
    """The audit issue body when the audit could not be made: the reason, never an all-clear."""
    lines = [
        AUDIT_MARKER,
        "## :boom: Freeze audit could not be made",
        "",
        f"**{escape_cell(reason)}**",
        "",
        "Nothing in this period has been checked: merges during a freeze are unknown, not absent.",
    ]
    if hint:
        lines += ["", f"Fix: {escape_cell(hint)}"]
    return "\n".join(lines) + "\n"
