"""The ``sequence`` gate's detail: the sequenced series, typed, and its JSON form. Pure.

Kept apart from ``changebot.core.sequence.gate`` so that the renderers can read it without importing the
patch parser (a repository without series never imports that). ``SequenceDetail.to_json`` is a contract
(another engineer's Rego policy reads ``sequence.applies``)::

    applies: bool | null            # null when there is no series
    series: [{pr, directory, processed, applies,
              patches: [{file, number, of, subject, status, depends_on, conflicts, ...}],
              order: [file, ...],   # the patches that would land, in order
              groups: [[file, ...]] # connected components: groups that could land independently
             }]
    state: {file, processed_prs, last_run, would_record: [...]}   # .orchestrator/state.json, never written
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from changebot.model import GateDetail, Severity

if TYPE_CHECKING:
    from changebot.core.sequence.check import Conflict, PatchResult, SeriesResult


def _conflict_json(conflict: Conflict) -> dict[str, Any]:
    return {
        "file": conflict.file,
        "line": conflict.line,
        "hunk": conflict.hunk,
        "patch_line": conflict.patch_line,
        "message": conflict.message,
    }


def _patch_json(result: PatchResult) -> dict[str, Any]:
    patch = result.patch
    return {
        "file": patch.name,
        "path": patch.path,
        "number": patch.number,
        "of": patch.total,
        "subject": patch.subject,
        "status": result.status,
        "depends_on": list(result.depends_on),
        "conflicts": [_conflict_json(c) for c in result.conflicts],
        "paths": list(patch.paths),
        "three_way": result.three_way,
        "patch_id": result.patch_id,
        "duplicate_of": result.duplicate_of,
        "reverts": result.reverts,
        "base_commit": result.base_commit,
    }


def _primary_issue(result: SeriesResult) -> str | None:
    first = next((f for f in result.findings if f.severity is Severity.ERROR), None)
    return f"{first.code}: {first.message}" if first else None


def _record(result: SeriesResult) -> dict[str, Any]:
    counts = {s: sum(1 for r in result.results if r.status == s) for s in {r.status for r in result.results}}
    return {
        "pr": int(result.series.pr) if result.series.pr.isdigit() else result.series.pr,
        "state": "ready" if result.applies else "blocked",
        "actionTaken": "sequenced" if result.applies else "none",
        "primaryIssue": _primary_issue(result),
        "patches": len(result.results),
        "statuses": dict(sorted(counts.items())),
    }


@dataclass(frozen=True)
class SeriesDetail:
    """One sequenced series and whether ``state.json`` lists its PR as processed."""

    result: SeriesResult
    processed: bool

    def to_json(self) -> dict[str, Any]:
        """The series as the gate's JSON writes it."""
        result = self.result
        return {
            "pr": result.series.pr,
            "directory": result.series.directory,
            "processed": self.processed,
            "applies": result.applies,
            "patches": [_patch_json(r) for r in result.results],
            "order": list(result.order),
            "groups": [list(g) for g in result.groups],
        }


@dataclass(frozen=True)
class SequenceState:
    """What ``.orchestrator/state.json`` says (``file`` is ``None`` without one); it is never written."""

    file: str | None
    processed_prs: tuple[str, ...]
    last_run: str | None
    would_record: tuple[SeriesResult, ...]

    def to_json(self) -> dict[str, Any]:
        """The state as the gate's JSON writes it, with the records a run would add."""
        return {
            "file": self.file,
            "processed_prs": list(self.processed_prs),
            "last_run": self.last_run,
            "would_record": [_record(r) for r in self.would_record],
        }


@dataclass(frozen=True)
class SequenceDetail(GateDetail):
    """The sequence gate's detail: ``applies`` is ``None`` when there is no series (and no ``state`` then)."""

    applies: bool | None = None
    series: tuple[SeriesDetail, ...] = ()
    state: SequenceState | None = None

    def to_json(self) -> dict[str, Any]:
        """``applies``, ``series`` and (with series) ``state``: the contract in the module docstring."""
        out: dict[str, Any] = {"applies": self.applies, "series": [s.to_json() for s in self.series]}
        if self.state is not None:
            out["state"] = self.state.to_json()
        return out
