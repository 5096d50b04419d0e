"""The freeze-audit use case: read governance and GitHub, compare (pure), render, and maybe publish.

``read_governance`` reads the calendar, the governed branches and changebot's settings at one ref and refuses
(``AuditFailed``, exit status 2) when any of them cannot be read: an audit never reports an all-clear it could
not check. ``run_audit`` returns the report; ``publish_audit`` writes the period's issue and
``publish_failure`` writes the failure into it instead. The CLI (``changebot audit``), the Action on
``schedule`` and the App's cron all call these.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from changebot.adapters.github.audit import AuditSource, Published, publish_issue
from changebot.core.audit import AuditReport, audit
from changebot.core.documents import layout
from changebot.core.documents.load import load_any
from changebot.core.evidence import CalendarFile
from changebot.core.freeze.gate import freeze_settings, read_calendar
from changebot.core.freeze.windows import Calendar
from changebot.errors import ChangebotError
from changebot.model import Finding, PullRequest, Severity
from changebot.render.audit import render_audit_markdown, render_failure_markdown, report_to_json
from changebot.usecases import plan as planning

#: Sticky comments are looked up by a repository-wide listing of comments updated since the period began,
#: less this margin (an override granted shortly before the period); anything missed is read per pull request.
COMMENT_LOOKBACK = timedelta(days=7)
DEFAULT_CHECK_NAME = "changebot"


class AuditFailed(ChangebotError):
    """The audit could not be made: a calendar or the settings cannot be read (exit status 2)."""


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
class Governance:
    """What the audit takes from the default branch: the calendar, the governed branches, the files they came
    from, the settings' ``github.bot_login`` (``None`` when not set) and the check run's name."""

    calendar: Calendar
    branches: tuple[str, ...]
    files: tuple[CalendarFile, ...]
    bot_login: str | None
    check_name: str
    warnings: tuple[Finding, ...] = ()


def blob_sha(data: bytes) -> str:
    """The git blob SHA-1 of ``data`` (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _failure(finding: Finding) -> AuditFailed:
    where = f"{finding.path}:{finding.line}" if finding.line else str(finding.path)
    return AuditFailed(
        f"could not audit: {where} {finding.message}",
        "fix the file on the default branch; the freeze gate fails closed on it too",
    )


def _string(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def read_governance(checkout: Path, ref: str | None, now: datetime) -> Governance:
    """The calendar and settings of ``checkout`` at ``ref`` (the working tree without one).

    Raises ``AuditFailed`` naming the file and line when the settings or any calendar cannot be read (an
    error finding): the freeze gate fails closed on such a file, and the audit must not read it as "no
    freeze".
    """
    co = planning.checkout(checkout, ref, ref)
    raw = co.base.files.get(layout.SETTINGS)
    if raw is not None:
        loaded = load_any(layout.SETTINGS, raw)
        bad = [f for f in loaded.findings if f.severity is Severity.ERROR]
        if bad or loaded.document is None:
            raise _failure(bad[0]) if bad else AuditFailed(f"could not audit: {layout.SETTINGS} cannot be read")
    ctx = planning.context(co, PullRequest(), now)
    calendar, findings, sources = read_calendar(ctx)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise _failure(errors[0])
    github = ctx.settings.section("github")
    return Governance(
        calendar=calendar,
        branches=freeze_settings(ctx).branches,
        files=tuple(
            CalendarFile(path, co.base.commit, blob_sha(co.base.files[path]))
            for path in dict.fromkeys(sources)
            if path in co.base.files
        ),
        bot_login=_string(github.get("bot_login")),
        check_name=_string(github.get("check_name")) or DEFAULT_CHECK_NAME,
        warnings=tuple(findings),
    )


@dataclass(frozen=True)
class AuditRun:
    """The report, the calendar findings met on the way, the API calls it took, and for evidence the check
    conclusions on merged heads and the sticky comments the overrides were read from."""

    report: AuditReport
    findings: tuple[Finding, ...]
    calls: int
    governance: Governance | None = None
    checks: dict[int, str | None] = field(default_factory=dict)
    sticky_urls: dict[int, str] = field(default_factory=dict)


def run_audit(
    source: AuditSource, gov: Governance, period: Period, now: datetime, days: int, *, evidence: bool = False
) -> AuditRun:
    """Audit ``period`` for the GitHub repository behind ``source`` under the governance ``gov``.

    Without ``evidence`` the merging user is read only for unauthorised merges (the ones people chase); with
    it, for every merge judged, along with changebot's check conclusion on each merged head.
    """
    source.check_name = gov.check_name
    horizon = now + timedelta(days=days)
    windows = gov.calendar.windows(min(period.since, now), max(horizon, period.until))
    branches = gov.branches
    merged = source.merged_since(period.since, branches)
    opened = source.open_pulls(branches)
    in_freeze = [pr for pr in merged if pr.merged_at and any(w.enforced and w.covers(pr.merged_at) for w in windows)]
    need = {pr.number for pr in in_freeze} | {pr.number for pr in opened}
    stored = source.overrides_of(need, period.since - COMMENT_LOOKBACK) if need else {}
    first = audit(merged, opened, windows, stored, branches, period.since, period.until, now, days)
    chase = first.merges if evidence else first.unauthorised
    who = {m.pr.number: source.merged_by(m.pr) for m in chase if m.pr.merged_by is None}
    checks: dict[int, str | None] = {}
    if evidence:
        for m in first.merges:
            checks[m.pr.number] = source.check_conclusion(m.pr.head_sha, gov.check_name) if m.pr.head_sha else None
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
    return AuditRun(report, gov.warnings, source.calls, gov, checks, dict(source.sticky_urls))


def content_digest(title: str, report: AuditReport) -> str:
    """A digest of what the audit says, leaving out when it was made (``now``, and ``until`` when the
    period ends now): a rerun with nothing new has the same digest."""
    data = report_to_json(report)
    data.pop("now", None)
    if report.until == report.now:
        data.pop("until", None)
    text = json.dumps({"title": title, "report": data}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def publish_audit(source: AuditSource, period: Period, run: AuditRun) -> Published:
    """Create or update the period's audit issue with the Markdown report (left alone when nothing changed)."""
    unauthorised = len(run.report.unauthorised)
    title = f"Freeze audit {period.key}: {unauthorised} unauthorised merge(s) during a freeze"
    return publish_issue(
        source, period.key, title, render_audit_markdown(run.report), content_digest(title, run.report)
    )


def publish_failure(source: AuditSource, period: Period, failure: ChangebotError) -> Published:
    """Write the failure into the period's audit issue, so that it never shows an all-clear nobody checked."""
    title = f"Freeze audit {period.key}: could not audit"
    body = render_failure_markdown(str(failure), failure.hint)
    return publish_issue(source, period.key, title, body, hashlib.sha256(body.encode()).hexdigest())


def resolve_login(explicit: str | None, gov: Governance | None, on_actions: bool) -> str:
    """changebot's own login: ``explicit`` (flag or environment), else the base branch's ``github.bot_login``,
    else ``github-actions[bot]`` on Actions. Never the token's user: ``AuditFailed`` when none is known."""
    login = _string(explicit) or (gov.bot_login if gov is not None else None)
    if login is None and on_actions:
        login = "github-actions[bot]"
    if login is None:
        raise AuditFailed(
            "could not audit: changebot's own login is not known, so its overrides cannot be told from "
            "comments anyone could write",
            "set CHANGEBOT_BOT_LOGIN (or --bot-login) to the App's '<slug>[bot]' or github-actions[bot], "
            "or 'github: {bot_login: ...}' in .maestro/changebot.yaml on the default branch",
        )
    return login
