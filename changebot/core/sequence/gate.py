"""The ``sequence`` gate: sequenced patch series (``changebot.core.sequence.check``) -> one ``GateResult``. Pure.

``detail`` is a contract (another engineer's Rego policy reads ``sequence.applies``)::

    applies: bool | null            # null when there is no series
    series: [{pr, directory, processed, applies,
              patches: [{file, number, of, subject, status, depends_on, conflicts, ...}],
              order: [file, ...],   # the patches that would land, in order
              groups: [[file, ...]] # connected components: groups that could land independently
             }]
    state: {file, processed_prs, last_run, would_record: [...]}   # .orchestrator/state.json, never written
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from changebot.core.documents.load import Loaded
from changebot.core.sequence.check import Conflict, PatchResult, SeriesResult
from changebot.model import Finding, GateId, GateResult, Severity, Status, notice, skipped, status_from_findings

STATE_FILE = ".orchestrator/state.json"


def processed_prs(state: Loaded | None) -> tuple[list[str], str | None, list[Finding]]:
    """The PRs ``state.json`` lists as processed (as strings), its ``lastRun``, and any problems reading it."""
    if state is None:
        return [], None, []
    if state.document is None:
        return [], None, list(state.findings)
    data = state.document.data
    if not isinstance(data, dict):
        return [], None, [notice("state-unreadable", "expected a JSON object in state.json; ignored", STATE_FILE, 1)]
    raw = data.get("processedPRs", [])
    found: list[Finding] = []
    if not isinstance(raw, list):
        found.append(
            notice(
                "state-unreadable",
                f"expected processedPRs to be a list, found {type(raw).__name__}",
                STATE_FILE,
                state.document.line(("processedPRs",)),
            )
        )
        raw = []
    last = data.get("lastRun")
    return [str(x) for x in raw if isinstance(x, (int, str))], last if isinstance(last, str) else None, found


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


def series_json(result: SeriesResult, processed: Sequence[str]) -> dict[str, Any]:
    """One series as the gate's detail writes it."""
    return {
        "pr": result.series.pr,
        "directory": result.series.directory,
        "processed": result.series.pr in processed,
        "applies": result.applies,
        "patches": [_patch_json(r) for r in result.results],
        "order": list(result.order),
        "groups": [list(g) for g in result.groups],
    }


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


def _summary(results: Sequence[SeriesResult]) -> str:
    patches = sum(len(r.results) for r in results)
    failing = [r for r in results if not r.applies]
    head = f"{len(results)} series, {patches} patch(es)"
    if not failing:
        redundant = sum(1 for r in results for p in r.results if p.status in ("in-base", "already-applied"))
        tail = f"; {redundant} already applied" if redundant else ""
        return f"{head}: every series applies to the base{tail}"
    parts = []
    for result in failing:
        bad = [p for p in result.results if p.status in ("conflicts", "invalid", "refused")]
        blocked = sum(1 for p in result.results if p.status == "blocked")
        if result.series.refused or not result.results:
            parts.append(f"PR {result.series.pr} not evaluated")
        else:
            first = bad[0].patch.name if bad else "?"
            parts.append(f"PR {result.series.pr}: {len(bad)} fail (first {first}), {blocked} blocked")
    return f"{head}: " + "; ".join(parts)


def sequence_gate(
    results: Sequence[SeriesResult], state: Loaded | None = None, extra: Sequence[Finding] = ()
) -> GateResult:
    """Decide the ``sequence`` gate from sequenced series. No series at all -> ``skipped``."""
    if not results:
        return no_series("no patch series under .orchestrator/patches/<pr>/")
    processed, last_run, state_findings = processed_prs(state)
    findings: list[Finding] = [*extra, *state_findings]
    for result in results:
        findings.extend(result.findings)
        if result.series.pr in processed:
            findings.append(
                notice(
                    "series-processed", f"state.json lists PR {result.series.pr} as processed", result.series.directory
                )
            )
    ordered = tuple(sorted(findings, key=lambda f: (f.path or "", f.line or 0, f.code, f.message)))
    detail = {
        "applies": all(r.applies for r in results),
        "series": [series_json(r, processed) for r in results],
        "state": {
            "file": STATE_FILE if state is not None else None,
            "processed_prs": processed,
            "last_run": last_run,
            "would_record": [_record(r) for r in results],
        },
    }
    status = status_from_findings(ordered)
    if status is Status.PASS and not detail["applies"]:  # pragma: no cover - failures always carry an error
        status = Status.FAIL
    return GateResult(GateId.SEQUENCE, status, _summary(results), ordered, detail)


def no_series(reason: str) -> GateResult:
    """``skipped`` with ``applies: null`` so that policies can tell "nothing to sequence" from a pass."""
    result = skipped(GateId.SEQUENCE, reason)
    return GateResult(result.id, result.status, result.summary, (), {"applies": None, "series": []})
