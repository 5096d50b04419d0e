"""The ``sequence`` gate: sequenced patch series (``changebot.core.sequence.check``) -> one ``GateResult``. Pure.

Its detail is a ``SequenceDetail`` (``changebot.core.sequence.detail``, the JSON contract policies read).
"""

from __future__ import annotations

from collections.abc import Sequence

from changebot.core.documents.load import Loaded
from changebot.core.sequence.check import SeriesResult
from changebot.core.sequence.detail import SequenceDetail, SequenceState, SeriesDetail
from changebot.model import Finding, GateId, GateResult, Status, notice, skipped, status_from_findings

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
    detail = SequenceDetail(
        applies=all(r.applies for r in results),
        series=tuple(SeriesDetail(r, r.series.pr in processed) for r in results),
        state=SequenceState(STATE_FILE if state is not None else None, tuple(processed), last_run, tuple(results)),
    )
    status = status_from_findings(ordered)
    if status is Status.PASS and not detail.applies:  # pragma: no cover - failures always carry an error
        status = Status.FAIL
    return GateResult(GateId.SEQUENCE, status, _summary(results), ordered, detail)


def no_series(reason: str) -> GateResult:
    """``skipped`` with ``applies: null`` so that policies can tell "nothing to sequence" from a pass."""
    result = skipped(GateId.SEQUENCE, reason)
    return GateResult(result.id, result.status, result.summary, (), SequenceDetail())
