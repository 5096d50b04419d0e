"""Replay merges (or open pull requests) under two versions of governance and keep what would change. Pure.

Each merge is judged twice, as a pull request at its own commit time: once with the base branch's governance
(``old``) and once with the head's (``new``). The proposals (bundles, plans, patch series) are the merge's own,
so a policy change is judged against the bundles that were really merged. What runs is the caller's
``Evaluate`` (the usecase passes the gates with their engines); here only the comparison lives:

* a gate whose status gets worse: the merge ``would be blocked`` (fail) or ``would be warned`` (warn), with the
  findings the new governance adds as the reasons;
* a gate whose status gets better: ``would pass`` (the change relaxes something);
* the rules gate planning other actions: ``labels differently`` (or acts differently).

The what-if informs the owners who approve a governance change; it never changes the verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from changebot.core.context import Context, make_context
from changebot.core.documents import layout
from changebot.core.policy.rules import RulesDetail
from changebot.core.settings import Settings
from changebot.model import Action, ChangedFile, GateId, GateResult, PullRequest, RepoFiles, Severity, Status

#: The gates to run under one governance, for one merge's context.
Evaluate = Callable[[Context], list[GateResult]]

_RANK = {Status.SKIPPED: 0, Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2}


@dataclass(frozen=True)
class Merge:
    """A merge into the base branch (or an open pull request, with ``number``): when, what, which files."""

    sha: str
    when: datetime
    subject: str
    files: tuple[ChangedFile, ...] = ()
    number: int | None = None

    def to_json(self) -> dict[str, Any]:
        """``{sha, when, subject, number, files}``."""
        return {
            "sha": self.sha,
            "when": self.when.isoformat(),
            "subject": self.subject,
            "number": self.number,
            "files": len(self.files),
        }


@dataclass(frozen=True)
class Governance:
    """One version of the governance files and the settings read from them."""

    files: RepoFiles
    settings: Settings


@dataclass(frozen=True)
class Consequence:
    """One gate of one merge that decides otherwise under the new governance."""

    merge: Merge
    gate: GateId
    before: Status
    after: Status
    effect: str
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``{merge, gate, before, after, effect, reasons}``."""
        return {
            "merge": self.merge.to_json(),
            "gate": str(self.gate),
            "before": str(self.before),
            "after": str(self.after),
            "effect": self.effect,
            "reasons": list(self.reasons),
        }


def _context(governance: Governance, proposals: RepoFiles, merge: Merge, branch: str) -> Context:
    """The merge as a pull request at its commit time: one side holding the governance and the merge's own
    proposals (bundles, plans, patch series) as both base and head, so no gate previews a "changed" file."""
    rules = {p: raw for p, raw in governance.files.files.items() if not layout.is_proposal(p)}
    files = {**rules, **proposals.files}
    paths = proposals.paths | frozenset(rules)
    side = RepoFiles(merge.sha, merge.sha, files, paths, governance.files.findings + proposals.findings)
    pr = PullRequest(
        number=merge.number,
        base_branch=branch,
        head_sha=merge.sha,
        title=merge.subject,
        files=merge.files,
    )
    return make_context(side, side, pr, merge.when, governance.settings)


def _labels(actions: Iterable[Action]) -> list[str]:
    out: list[str] = []
    for action in actions:
        if action.do == "label":
            labels = action.with_.get("labels", [])
            out.extend(str(label) for label in (labels if isinstance(labels, list) else [labels]))
        else:
            out.append(f"{action.do} ({action.rule})")
    return sorted(set(out))


def _rules_effect(before: GateResult, after: GateResult) -> str | None:
    old = before.detail.actions if isinstance(before.detail, RulesDetail) else ()
    new = after.detail.actions if isinstance(after.detail, RulesDetail) else ()
    old_labels, new_labels = _labels(old), _labels(new)
    if old_labels == new_labels:
        return None
    gained = [x for x in new_labels if x not in old_labels]
    lost = [x for x in old_labels if x not in new_labels]
    parts = ([f"now also {', '.join(gained)}"] if gained else []) + ([f"no longer {', '.join(lost)}"] if lost else [])
    return "labels differently: " + "; ".join(parts)


def _reasons(before: GateResult, after: GateResult) -> tuple[str, ...]:
    seen = {(f.code, f.message) for f in before.findings}
    return tuple(
        f"{f.where()}: {f.code}: {f.message}"
        for f in after.findings
        if f.severity is not Severity.NOTICE and (f.code, f.message) not in seen
    )


def compare(merge: Merge, before: Sequence[GateResult], after: Sequence[GateResult]) -> list[Consequence]:
    """What decides otherwise for one merge, gate by gate."""
    old = {g.id: g for g in before}
    out: list[Consequence] = []
    for gate in after:
        was = old.get(gate.id)
        if was is None:
            continue
        rank_before, rank_after = _RANK[was.status], _RANK[gate.status]
        if rank_after > rank_before:
            effect = "would be blocked" if gate.status is Status.FAIL else "would be warned"
            out.append(Consequence(merge, gate.id, was.status, gate.status, effect, _reasons(was, gate)))
        elif rank_after < rank_before:
            out.append(Consequence(merge, gate.id, was.status, gate.status, "would pass", _reasons(gate, was)))
        elif gate.id is GateId.RULES:
            labels = _rules_effect(was, gate)
            if labels is not None:
                out.append(Consequence(merge, gate.id, was.status, gate.status, labels))
    return out


def replay(
    old: Governance,
    new: Governance,
    merges: Sequence[Merge],
    proposals: Mapping[str, RepoFiles],
    evaluate: Evaluate,
    branch: str,
) -> list[Consequence]:
    """Every consequence of moving from ``old`` to ``new`` governance, merge by merge, oldest first."""
    out: list[Consequence] = []
    empty = RepoFiles(None, None, {}, frozenset())
    for merge in merges:
        at = proposals.get(merge.sha, empty)
        before = evaluate(_context(old, at, merge, branch))
        after = evaluate(_context(new, at, merge, branch))
        out.extend(compare(merge, before, after))
    return out
