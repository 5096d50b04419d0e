"""The freeze-audit use case: read the calendar and GitHub, compare (pure), render, and maybe publish.

``run_audit`` returns the report; ``publish_audit`` writes the period's issue. The CLI (``changebot audit``),
the Action on ``schedule`` and the App's cron all call these two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from changebot.adapters.github.audit import AuditSource, Published, publish_issue
from changebot.core.audit import AuditReport, audit
from changebot.core.freeze.gate import freeze_settings, read_calendar
from changebot.model import Finding, PullRequest
from changebot.render.audit import render_audit_markdown
from changebot.usecases import plan as planning

#: Sticky comments are looked up by a repository-wide listing of comments updated since the period began,
#: less this margin (an override granted shortly before the period); anything missed is read per pull request.
COMMENT_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class Period:
    """The audited interval and the key that names its issue (``2025-W50`` for a calendar week)."""

    key: str
    since: datetime
    until: datetime


def week_period(now: datetime) -> Period:
    """The ISO week containing ``now`` (Monday 00:00 UTC to now): one audit issue per week."""
    day = now.astimezone(UTC)
    monday = (day - timedelta(days=day.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    year, week, _ = day.isocalendar()
    return Period(f"{year}-W{week:02d}", monday, now)


def since_period(since: datetime, now: datetime) -> Period:
    """An explicit start: the key names the start day, so reruns with the same ``--since`` update one issue."""
    return Period(f"since-{since.astimezone(UTC):%Y-%m-%d}", since, now)


@dataclass(frozen=True)
class AuditRun:
    """The report, the calendar findings met on the way, and the API calls it took."""

    report: AuditReport
    findings: tuple[Finding, ...]
    calls: int


def run_audit(
    source: AuditSource, checkout: Path, ref: str | None, period: Period, now: datetime, days: int
) -> AuditRun:
    """Audit ``period`` for the GitHub repository behind ``source``, with the calendar of ``checkout`` at ``ref``.

    The calendar and the governed branches come from the given ref (the default branch, where governance
    lives); without a ref, from the working tree.
    """
    co = planning.checkout(checkout, ref, ref)
    ctx = planning.context(co, PullRequest(), now)
    calendar, findings, _ = read_calendar(ctx)
    branches = freeze_settings(ctx).branches
    horizon = now + timedelta(days=days)
    windows = calendar.windows(min(period.since, now), max(horizon, period.until))
    merged = source.merged_since(period.since, branches)
    opened = source.open_pulls(branches)
    in_freeze = [pr for pr in merged if pr.merged_at and any(w.enforced and w.covers(pr.merged_at) for w in windows)]
    need = {pr.number for pr in in_freeze} | {pr.number for pr in opened}
    stored = source.overrides_of(need, period.since - COMMENT_LOOKBACK) if need else {}
    first = audit(merged, opened, windows, stored, branches, period.since, period.until, now, days)
    # Who merged is not in the list API: ask only for the merges nobody authorised (the ones people chase).
    who = {m.pr.number: source.merged_by(m.pr) for m in first.unauthorised}
    report = audit(
        [who.get(pr.number, pr) for pr in merged],
        opened,
        windows,
        stored,
        branches,
        period.since,
        period.until,
        now,
        days,
    )
    return AuditRun(report, tuple(findings), source.calls)


def publish_audit(source: AuditSource, period: Period, run: AuditRun) -> Published:
    """Create or update the period's audit issue with the Markdown report."""
    unauthorised = len(run.report.unauthorised)
    title = f"Freeze audit {period.key}: {unauthorised} unauthorised merge(s) during a freeze"
    return publish_issue(source, period.key, title, render_audit_markdown(run.report))
