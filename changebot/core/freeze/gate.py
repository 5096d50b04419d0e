"""The ``freeze`` gate: is the pull request's target branch frozen now, by what, until when?

The calendar is read from the **base** branch (a pull request cannot unfreeze itself): ``pipeline.yaml``
``freeze_windows`` (and the files they name), ``.maestro/freeze_windows.json``, ``release-policy.yml``
``freeze:``, the ``freeze.code_freeze`` of release plans, and ``freeze.calendars`` in changebot's settings.

* **fail** when ``now`` is inside an enforced window and the PR targets a frozen branch (settings
  ``freeze.branches``; default the default branch: ``freeze.default_branch``, else ``release-policy.yml``
  ``default_branch``, else ``main``), naming each window and when the branch opens again;
* **warn** instead when an override of the freeze gate is in force (naming who and why), or when an enforced
  window starts within ``freeze.lookahead_hours`` (default 24);
* **skipped** when the repository has no freeze calendar at all.

A calendar entry that cannot be read is an error finding: the gate fails closed rather than guess. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from functools import partial
from typing import Any

from changebot.core.context import Context
from changebot.core.documents import layout
from changebot.core.documents.load import Document, JsonPath
from changebot.core.freeze import calendar_rules, calendars
from changebot.core.freeze.plan_windows import PlanWindow, plan_windows
from changebot.core.freeze.windows import (
    DEFAULT_HORIZON,
    MAX_WINDOWS_PER_QUERY,
    SUPPORTED_YEARS,
    Calendar,
    Timeline,
    Window,
    iso,
    open_at,
)
from changebot.core.overrides.rules import OverridePolicy, policies
from changebot.core.overrides.stored import in_force
from changebot.model import (
    Finding,
    GateDetail,
    GateId,
    GateResult,
    Override,
    Status,
    error,
    notice,
    skipped,
    status_from_findings,
    warning,
)

DEFAULT_LOOKAHEAD_HOURS = 24.0
#: The calendar chart in the PR comment shows this far ahead, at most this many windows.
CHART_SPAN = timedelta(weeks=4)
CHART_MAX_WINDOWS = 60


@dataclass(frozen=True)
class FreezeSettings:
    """The ``freeze`` section of ``.maestro/changebot.yaml`` with defaults applied."""

    branches: tuple[str, ...]
    default_branch: str
    lookahead: timedelta
    horizon: timedelta


def _document(ctx: Context, path: str, out: calendars.Collected) -> Document | None:
    loaded = ctx.governance(path)
    if loaded is None:
        return None
    out.findings.extend(loaded.findings)
    return loaded.document


def default_branch(ctx: Context) -> str:
    """``freeze.default_branch``, else ``release-policy.yml`` ``default_branch``, else ``main``."""
    configured = ctx.settings.section("freeze").get("default_branch")
    if isinstance(configured, str) and configured:
        return configured
    policy = ctx.mapping("base", layout.RELEASE_POLICY)
    found = policy.get("default_branch") if policy is not None else None
    return found if isinstance(found, str) and found else "main"


def freeze_settings(ctx: Context) -> FreezeSettings:
    """Settings with defaults; values of the wrong type fall back to the default (the schema gate reports them)."""
    section = ctx.settings.section("freeze")
    branch = default_branch(ctx)
    raw_branches = section.get("branches")
    branches = (
        tuple(b for b in raw_branches if isinstance(b, str))
        if isinstance(raw_branches, list) and raw_branches
        else (branch,)
    )
    hours = section.get("lookahead_hours", DEFAULT_LOOKAHEAD_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours < 0:
        hours = DEFAULT_LOOKAHEAD_HOURS
    days = section.get("horizon_days")
    horizon = (
        timedelta(days=days)
        if isinstance(days, int) and not isinstance(days, bool) and 0 < days <= 3660
        else DEFAULT_HORIZON
    )
    return FreezeSettings(branches or (branch,), branch, timedelta(hours=float(hours)), horizon)


def _calendar_file(ctx: Context, doc: Document, target: Any, where: JsonPath, out: calendars.Collected) -> str | None:
    """A ``file:`` reference that is safe and present on the base branch, or ``None`` plus a finding."""
    if not isinstance(target, str) or target.startswith("/") or ".." in target.split("/"):
        out.findings.append(
            error("freeze-bad-file", f"'file' {target!r} must be a repository-relative path", doc.path, doc.line(where))
        )
        return None
    if target not in ctx.base.files:
        out.findings.append(
            error(
                "freeze-file-missing",
                f"calendar file {target!r} is not in the base branch (changebot reads calendars under .maestro/)",
                doc.path,
                doc.line(where),
            )
        )
        return None
    return target


def _entry(doc: Document, entry: Mapping[str, Any], where: JsonPath, index: int, out: calendars.Collected) -> None:
    """One window of any recurring or absolute shape (rrule, cron, from/to, weekly start/end)."""
    if "rrule" in entry:
        zone = calendars.zone_of(entry.get("timezone", "UTC"), doc, (*where, "timezone"), out)
        if zone is not None:
            calendar_rules.recurrence(doc, entry, where, index, zone, out)
    elif "cron" in entry:
        calendar_rules.cron(doc, entry, where, index, None, out)
    elif "from" in entry or "to" in entry:
        calendars.absolute(doc, entry, where, index, None, out)
    else:
        calendar_rules.weekly(doc, entry, where, index, out)


def _pipeline_entries(ctx: Context, out: calendars.Collected) -> list[str]:
    """Windows written in ``pipeline.yaml`` ``freeze_windows``; returns the calendar files it names."""
    doc = _document(ctx, layout.PIPELINE, out)
    if doc is None or not isinstance(doc.data, Mapping) or "freeze_windows" not in doc.data:
        return []
    entries = doc.data["freeze_windows"]
    if not isinstance(entries, list):
        out.findings.append(
            error("freeze-shape", "'freeze_windows' must be a list", doc.path, doc.line(("freeze_windows",)))
        )
        return []
    files: list[str] = []
    for index, entry in enumerate(entries):
        where = ("freeze_windows", index)
        if not isinstance(entry, Mapping):
            out.findings.append(error("freeze-shape", "a window must be a mapping", doc.path, doc.line(where)))
        elif "file" in entry:
            target = _calendar_file(ctx, doc, entry["file"], (*where, "file"), out)
            if target is not None:
                files.append(target)
        else:
            calendars.guarded(partial(_entry, doc, entry, where, index, out), doc, where, out)
    return files


def read_calendar(ctx: Context) -> tuple[Calendar, list[Finding], list[str]]:
    """Every freeze window source of the base branch; returns the calendar, findings and the files read."""
    out = calendars.Collected()
    sources: list[str] = []
    if ctx.governance(layout.PIPELINE) is not None:
        before = len(out.fixed) + len(out.recurring)
        files = _pipeline_entries(ctx, out)
        if len(out.fixed) + len(out.recurring) > before:
            sources.append(layout.PIPELINE)
    else:
        files = []
    for path in dict.fromkeys([layout.FREEZE_WINDOWS, *files]):
        doc = _document(ctx, path, out)
        if doc is None:
            continue
        sources.append(path)
        if path.endswith((".yml", ".yaml")) and isinstance(doc.data, Mapping) and "freeze" in doc.data:
            calendars.guarded(partial(calendar_rules.release_policy, doc, out), doc, (), out)
        else:
            calendars.guarded(partial(calendars.absolute_file, doc, out), doc, (), out)
    _policy_plans_settings(ctx, out, sources)
    return Calendar.of(out.fixed, out.recurring), out.findings, sources


def _policy_plans_settings(ctx: Context, out: calendars.Collected, sources: list[str]) -> None:
    policy = _document(ctx, layout.RELEASE_POLICY, out)
    if policy is not None and isinstance(policy.data, Mapping) and "freeze" in policy.data:
        sources.append(layout.RELEASE_POLICY)
        calendars.guarded(partial(calendar_rules.release_policy, policy, out), policy, (), out)
    for path in ctx.paths("base", layout.PLANS):
        doc = _document(ctx, path, out)
        if doc is not None and isinstance(doc.data, Mapping) and isinstance(doc.data.get("freeze"), Mapping):
            sources.append(path)
            calendars.guarded(partial(calendars.code_freeze, doc, out), doc, ("freeze",), out)
    settings_doc = ctx.governance(layout.SETTINGS)
    entries = ctx.settings.section("freeze").get("calendars")
    if settings_doc is not None and settings_doc.document is not None and isinstance(entries, list):
        doc = settings_doc.document
        sources.append(layout.SETTINGS)
        for index, entry in enumerate(entries):
            where = ("freeze", "calendars", index)
            if not isinstance(entry, Mapping):
                out.findings.append(error("freeze-shape", "a calendar must be a mapping", doc.path, doc.line(where)))
            else:
                calendars.guarded(partial(_entry, doc, entry, where, index, out), doc, where, out)


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{mins}m"] if mins or not parts else []
    return " ".join(parts)


def _opens_text(opens: datetime | None, windows: Sequence[Window]) -> str:
    if opens is None:
        return "it stays frozen past the horizon (freeze.horizon_days)"
    zone = max(windows, key=lambda w: w.end).zone if windows else "UTC"
    return f"the branch opens at {iso(opens, zone)}"


@dataclass(frozen=True)
class FreezeDetail(GateDetail):
    """The freeze gate's detail. ``now`` is ``None`` when the time to judge is out of range: then ``frozen`` is
    unknown (``None``) and only the branch is known.

    ``calendar`` and ``plans`` are what the PR comment's calendar chart draws: every window of the coming weeks
    and the release plans' windows. ``override_policy`` is who may override the freeze and how, set when the
    branch is frozen and no override is in force (the comment says how to ask); it is not part of the JSON.
    """

    frozen: bool | None
    branch: str
    governed: bool = False
    now: datetime | None = None
    windows: tuple[Window, ...] = ()
    open_at: datetime | None = None
    upcoming: tuple[Window, ...] = ()
    lookahead_hours: float = DEFAULT_LOOKAHEAD_HOURS
    overrides: tuple[Override, ...] = ()
    sources: tuple[str, ...] = ()
    calendar: tuple[Window, ...] = ()
    plans: tuple[PlanWindow, ...] = ()
    override_policy: OverridePolicy | None = None

    def to_json(self) -> dict[str, Any]:
        """The detail in the plan's JSON: windows as ``Window.to_json``, instants in ISO 8601."""
        if self.now is None:
            return {
                "frozen": self.frozen,
                "branch": self.branch,
                "windows": [],
                "open_at": None,
                "upcoming": [],
                "overrides": [],
            }
        return {
            "frozen": self.frozen,
            "branch": self.branch,
            "governed": self.governed,
            "now": self.now.isoformat(),
            "windows": [w.to_json() for w in self.windows],
            "open_at": None if self.open_at is None else self.open_at.isoformat(),
            "upcoming": [w.to_json() for w in self.upcoming],
            "lookahead_hours": self.lookahead_hours,
            "overrides": [override_json(o) for o in self.overrides],
            "sources": list(self.sources),
            "calendar": [w.to_json() for w in self.calendar],
            "plans": [p.to_json() for p in self.plans],
        }


def override_json(override: Override) -> dict[str, Any]:
    """An applied override as the gate's detail writes it."""
    return {
        "gate": str(override.gate),
        "actor": override.actor,
        "reason": override.reason,
        "expires_at": override.expires_at.isoformat() if override.expires_at else None,
    }


def _window_findings(
    branch: str,
    governed: bool,
    active: Sequence[Window],
    upcoming: Sequence[Window],
    applied: Sequence[Override],
    opens_text: str,
    now: datetime,
) -> list[Finding]:
    findings: list[Finding] = []
    for window in active:
        if not window.enforced:
            findings.append(
                notice(
                    "freeze-window-inactive",
                    f"window {window.name!r} covers now but is not enforced (active: false or enabled: false)",
                    window.source,
                    window.line,
                )
            )
        elif governed:
            what = (
                f"branch {branch!r} is frozen by {window.name!r} from {iso(window.start, window.zone)} until "
                f"{iso(window.end, window.zone)} (end exclusive); {opens_text}"
            )
            if applied:
                who = "; ".join(f"{o.actor}: {o.reason!r}" for o in applied)
                findings.append(
                    warning("freeze-overridden", f"{what}; overridden by {who}", window.source, window.line)
                )
            else:
                findings.append(error("freeze-active", what, window.source, window.line))
    if governed and not any(w.enforced for w in active):
        findings.extend(
            warning(
                "freeze-upcoming",
                f"branch {branch!r} freezes in {_human(window.start - now)}: {window.name!r} from "
                f"{iso(window.start, window.zone)} until {iso(window.end, window.zone)}",
                window.source,
                window.line,
            )
            for window in upcoming
            if window.enforced
        )
    return findings


def _too_dense(windows: Sequence[Window]) -> list[Finding]:
    """One error when a query stopped at ``MAX_WINDOWS_PER_QUERY`` (its ``capped`` window, if any)."""
    capped = next((w for w in windows if w.kind == "capped"), None)
    if capped is None:
        return []
    return [
        error(
            "freeze-too-dense",
            f"the freeze calendar has more than {MAX_WINDOWS_PER_QUERY:,} windows in one query; expansion stopped "
            f"at {iso(capped.start, 'UTC')} and everything after counts as frozen: use fewer, longer windows",
        )
    ]


def _summary(
    branch: str,
    settings: FreezeSettings,
    governed: bool,
    frozen: bool,
    enforced: Sequence[Window],
    applied: Sequence[Override],
    upcoming: Sequence[Window],
    opens_text: str,
    status: Status,
) -> str:
    names = ", ".join(repr(w.name) for w in enforced)
    if not governed:
        text = f"branch {branch!r} is not a frozen branch (frozen: {', '.join(settings.branches)})"
        return f"the freeze calendar has errors; failing closed ({text})" if status is Status.FAIL else text
    if frozen and applied:
        return f"frozen by {names}, overridden by {', '.join(o.actor for o in applied)}"
    if frozen:
        return f"frozen by {names}; {opens_text}"
    if status is Status.FAIL:
        return "the freeze calendar has errors; failing closed"
    if any(w.enforced for w in upcoming):
        return f"open; a freeze starts within {_human(settings.lookahead)}"
    return f"open; no freeze starts within {_human(settings.lookahead)}"


def freeze_gate(
    ctx: Context, overrides: Sequence[Override], read: tuple[Calendar, list[Finding], list[str]] | None = None
) -> GateResult:
    """Judge ``ctx.now`` against the calendar for the PR's base branch; ``overrides`` may be any list. ``read`` is
    ``read_calendar(ctx)`` when the caller has it already (``changebot freeze`` lists its windows too)."""
    calendar, findings, sources = read if read is not None else read_calendar(ctx)
    if not calendar and not findings:
        return skipped(
            GateId.FREEZE,
            "no freeze calendar in this repository (looked for pipeline.yaml freeze_windows, "
            ".maestro/freeze_windows.json, release-policy.yml freeze, plan code_freeze, settings freeze.calendars)",
        )
    settings = freeze_settings(ctx)
    now = ctx.now.astimezone(UTC)
    if now.year not in SUPPORTED_YEARS:
        finding = error(
            "freeze-now-out-of-range",
            f"cannot judge freeze windows at {now.isoformat()}: changebot handles the years "
            f"{SUPPORTED_YEARS.start} to {SUPPORTED_YEARS.stop - 1}",
        )
        unknown = FreezeDetail(None, ctx.pr.base_branch or settings.default_branch)
        return GateResult(GateId.FREEZE, Status.FAIL, "the time to judge is out of range", (finding,), unknown)
    branch = ctx.pr.base_branch or settings.default_branch
    governed = any(fnmatchcase(branch, pattern) for pattern in settings.branches)
    timeline = Timeline.build(calendar, now, now + settings.lookahead + timedelta(seconds=1))
    active = timeline.active(now)
    enforced = [w for w in active if w.enforced]
    frozen = governed and bool(enforced)
    opens = open_at(calendar, now, settings.horizon) if frozen else now
    upcoming = timeline.starting(now, now + settings.lookahead)
    applied = in_force(overrides, GateId.FREEZE, now, ctx.pr.head_sha) if frozen else []
    opens_text = _opens_text(opens, enforced)
    chart = calendar.windows(now, now + CHART_SPAN)
    findings = [
        *findings,
        *_window_findings(branch, governed, active, upcoming, applied, opens_text, now),
        *_too_dense((*timeline.windows, *chart)),
    ]
    status = status_from_findings(findings)
    summary = _summary(branch, settings, governed, frozen, enforced, applied, upcoming, opens_text, status)
    detail = FreezeDetail(
        frozen=frozen,
        branch=branch,
        governed=governed,
        now=now,
        windows=tuple(active),
        open_at=opens,
        upcoming=tuple(upcoming),
        lookahead_hours=settings.lookahead.total_seconds() / 3600,
        overrides=tuple(applied),
        sources=tuple(sources),
        calendar=tuple(chart[:CHART_MAX_WINDOWS]),
        plans=plan_windows(ctx),
        override_policy=policies(ctx)[GateId.FREEZE] if frozen and not applied else None,
    )
    return GateResult(GateId.FREEZE, status, summary, tuple(findings), detail)
