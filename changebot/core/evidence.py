"""The freeze audit as an in-toto Statement v1: what changed in a period, who merged it, who allowed it.

Pure: it turns an ``AuditReport`` (and what the audit read besides: the calendar files, changebot's check
conclusions, the sticky comments overrides came from) into the statement's JSON. Subjects are every merge into
a governed branch in the period, in a freeze or not (the population an auditor samples), each named
``owner/repo#number`` with its merge commit as ``gitCommit``. The predicate's shape is
``schemas/freeze-audit-evidence.v1.schema.json``; a change to it is a new predicate type version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from changebot.core.audit import AuditReport, FrozenMerge
from changebot.core.freeze.windows import iso

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://changebot.dev/attestation/freeze-audit/v1"
SCHEMA_FILE = "freeze-audit-evidence.v1.schema.json"


@dataclass(frozen=True)
class CalendarFile:
    """A governance file the calendar was read from: path, the commit it was read at, its git blob SHA."""

    path: str
    ref: str | None
    blob: str


@dataclass(frozen=True)
class EvidenceInput:
    """Everything a statement says besides the report itself."""

    repository: str
    period_key: str
    calendar: tuple[CalendarFile, ...]
    check_name: str
    checks: Mapping[int, str | None]
    sticky_urls: Mapping[int, str]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _record(merge: FrozenMerge, given: EvidenceInput) -> dict[str, Any]:
    pr, window, override = merge.pr, merge.windows[0] if merge.windows else None, merge.override
    authorisation = "not-frozen" if window is None else ("override" if override is not None else "unauthorised")
    return {
        "number": pr.number,
        "title": pr.title,
        "url": pr.url or None,
        "base": pr.base_branch,
        "head_sha": pr.head_sha,
        "merge_commit": pr.merge_commit,
        "merged_at": _iso(pr.merged_at),
        "merged_by": pr.merged_by,
        "window": None
        if window is None
        else {
            "name": window.name,
            "start": iso(window.start, window.zone),
            "end": iso(window.end, window.zone),
            "source": window.source,
        },
        "authorisation": authorisation,
        "override": None
        if override is None
        else {
            "actor": override.actor,
            "reason": override.reason,
            "granted_at": _iso(override.granted_at),
            "expires_at": _iso(override.expires_at),
            "head_sha": override.head_sha,
            "comment_url": given.sticky_urls.get(pr.number) or None,
        },
        "check": {"name": given.check_name, "conclusion": given.checks.get(pr.number)},
    }


def statement(report: AuditReport, given: EvidenceInput) -> dict[str, Any]:
    """The in-toto Statement v1 for ``report``."""
    merges: Sequence[FrozenMerge] = report.merges
    subjects = [
        {"name": f"{given.repository}#{m.pr.number}", "digest": {"gitCommit": m.pr.merge_commit}}
        for m in merges
        if m.pr.merge_commit
    ]
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "repository": given.repository,
            "period": {"key": given.period_key, "since": _iso(report.since), "until": _iso(report.until)},
            "generated_at": _iso(report.now),
            "branches": list(report.branches),
            "calendar": [{"path": f.path, "ref": f.ref, "blob": f.blob} for f in given.calendar],
            "merges": [_record(m, given) for m in merges],
            "totals": {
                "merges": len(merges),
                "in_freeze": sum(1 for m in merges if m.frozen),
                "unauthorised": sum(1 for m in merges if m.frozen and not m.authorised),
            },
        },
    }
