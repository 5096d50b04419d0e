"""Gate results -> one ``Verdict``.

The rule is deliberately simple and strict: any ``fail`` gate fails the pull request; otherwise any ``warn``
gate warns; otherwise it passes. A ``skipped`` gate is reported as such and never counts as a pass of
anything, but it does not by itself block: a gate is skipped when there is nothing for it to judge (no
pipeline, no patch series) or when it is not built yet, and its summary says which.

An ``advisory`` gate (``GateMode``) counts at most as a warning: its ``fail`` makes the verdict ``warn``, and the
check run concludes ``neutral`` with a line saying what would have failed. An ``off`` gate is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

from changebot.model import GateId, GateMode, GateResult, Status, Verdict

ORDER: tuple[GateId, ...] = tuple(GateId)


def verdict(gates: Iterable[GateResult]) -> Verdict:
    """The single answer for a set of gate results."""
    statuses = {counted(g) for g in gates}
    if Status.FAIL in statuses:
        return Verdict.FAIL
    if Status.WARN in statuses:
        return Verdict.WARN
    return Verdict.PASS


def counted(gate: GateResult) -> Status:
    """The status the verdict counts for ``gate``: an advisory failure counts as ``warn``."""
    if gate.mode is GateMode.ADVISORY and gate.status is Status.FAIL:
        return Status.WARN
    return gate.status


def would_fail(gates: Iterable[GateResult]) -> tuple[GateResult, ...]:
    """The advisory gates that failed: what the verdict would have failed on had they been enforced."""
    return tuple(g for g in gates if g.would_fail)


def ordered(gates: Iterable[GateResult]) -> tuple[GateResult, ...]:
    """Gates in the canonical report order (schema, rules, policy, freeze, budget, sequence)."""
    rank = {gate: i for i, gate in enumerate(ORDER)}
    return tuple(sorted(gates, key=lambda g: rank[g.id]))
