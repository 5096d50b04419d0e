"""Plan -> what GitHub shows: check-run conclusion, output and annotations; the sticky comment's body.

Pure functions. GitHub's limits are enforced here, where the text is made: a check run's ``summary`` at most
65,535 bytes, a comment at most 65,536 characters, at most 50 annotations per API call. Text over a limit is
cut at a line boundary and ends with a note saying so; the hidden markers of the sticky comment are never cut.

The sticky comment's hidden, machine-readable tail (marker, overrides, head stamp) is ``core.sticky``'s;
this module makes only its visible Markdown.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from changebot.core import sticky
from changebot.core.budget.gate import BudgetDetail
from changebot.core.next_change import Change
from changebot.model import Finding, GateId, Override, Plan, Severity, Verdict
from changebot.render.markdown import render_markdown
from changebot.render.md import escape_cell
from changebot.render.next_change import next_change_markdown

CHECK_OUTPUT_MAX_BYTES = 65_535
COMMENT_MAX_CHARS = 65_536
ANNOTATIONS_PER_CALL = 50

_CONCLUSION = {Verdict.PASS: "success", Verdict.WARN: "neutral", Verdict.FAIL: "failure"}
_LEVEL = {Severity.ERROR: "failure", Severity.WARNING: "warning", Severity.NOTICE: "notice"}
_RULE = re.compile(r"<!-- changebot:rule (\S+) -->")

TRUNCATED_NOTE = (
    "\n\n> :scissors: **Truncated**: {omitted:,} {unit} omitted to fit GitHub's limit. "
    "Run `changebot plan --format markdown` locally for the full plan.\n"
)


def conclusion(verdict: Verdict) -> str:
    """The check-run conclusion for a verdict: ``success``, ``neutral`` (warn) or ``failure``."""
    return _CONCLUSION[verdict]


def _count(findings: Iterable[Finding]) -> str:
    items = list(findings)
    parts = []
    for severity, word in ((Severity.ERROR, "error"), (Severity.WARNING, "warning")):
        n = sum(1 for f in items if f.severity is severity)
        if n:
            parts.append(f"{n} {word}{'s' if n != 1 else ''}")
    return ", ".join(parts) or "no problems"


def check_title(plan: Plan) -> str:
    """One line for the check run's title, e.g. ``fail: 2 errors, 1 warning``; advisory gates that would have
    failed are named (``warn: 2 errors (advisory: would fail on freeze)``)."""
    title = f"{plan.verdict}: {_count(f for g in plan.gates for f in g.findings)}"
    advisory = [str(g.id) for g in plan.gates if g.would_fail]
    return f"{title} (advisory: would fail on {', '.join(advisory)})" if advisory else title


def truncate_bytes(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-8 bytes, cut at a line and ending in a note when it had to be cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    note_room = len(TRUNCATED_NOTE.format(omitted=len(data), unit="bytes").encode("utf-8"))
    cut = data[: limit - note_room].decode("utf-8", errors="ignore")
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
    omitted = len(data) - len(cut.encode("utf-8"))
    return cut + TRUNCATED_NOTE.format(omitted=omitted, unit="bytes")


def truncate_chars(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut at a line and ending in a note when it had to be cut."""
    if len(text) <= limit:
        return text
    note_room = len(TRUNCATED_NOTE.format(omitted=len(text), unit="characters"))
    cut = text[: limit - note_room]
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
    return cut + TRUNCATED_NOTE.format(omitted=len(text) - len(cut), unit="characters")


def overrides_section(overrides: Sequence[Override]) -> str:
    """Markdown listing the overrides in force (empty when there are none)."""
    if not overrides:
        return ""
    lines = ["**Overrides in force**", "", "| gate | by | reason | granted | expires |", "|---|---|---|---|---|"]
    lines.extend(
        f"| {o.gate} | @{escape_cell(o.actor)} | {escape_cell(o.reason)} | {o.granted_at.isoformat()} | "
        f"{o.expires_at.isoformat() if o.expires_at else 'on a new push'} |"
        for o in overrides
    )
    return "\n".join(lines) + "\n\n"


def visible(plan: Plan, in_force: Sequence[Override], change: Change | None = None) -> str:
    """The Markdown people read in the comment and the check run: the plan, when the verdict changes next, then
    the overrides in force."""
    return (
        render_markdown(plan)
        + next_change_markdown(change, plan.now)
        + ("\n" + overrides_section(in_force) if in_force else "")
    )


def verdict_digest(plan: Plan, in_force: Sequence[Override]) -> str:
    """A digest of what the verdict is, leaving out what only the clock moves (the instant, "freezes in 8h"):
    each gate's status, summary and findings by code and place, and the overrides in force. Two evaluations
    with the same digest show the same verdict; a refresh that finds the same digest writes nothing."""
    gates = [
        [
            str(g.id),
            str(g.status),
            g.summary,
            sorted([str(f.severity), f.code, f.path or "", f.line or 0] for f in g.findings),
        ]
        for g in plan.gates
    ]
    held = sorted([str(o.gate), o.actor, o.expires_at.isoformat() if o.expires_at else ""] for o in in_force)
    text = json.dumps([str(plan.verdict), gates, held], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def annotation_list(plan: Plan) -> list[dict[str, Any]]:
    """Check-run annotations for every finding with a file and a line."""
    out: list[dict[str, Any]] = []
    for gate in plan.gates:
        for f in gate.findings:
            if f.path is None or f.line is None:
                continue
            out.append(
                {
                    "path": f.path,
                    "start_line": f.line,
                    "end_line": f.line,
                    "annotation_level": _LEVEL[f.severity],
                    "title": f"{gate.id}: {f.code}"[:255],
                    "message": f.message[:64_000] or f.code,
                }
            )
    return out


def annotations_fingerprint(items: Sequence[dict[str, Any]]) -> str:
    """A short, stable fingerprint of a list of annotations (stored as the check run's ``external_id``)."""
    digest = hashlib.sha256(json.dumps(list(items), sort_keys=True).encode("utf-8")).hexdigest()
    return f"changebot:{digest[:24]}"


def batches(items: Sequence[dict[str, Any]], size: int = ANNOTATIONS_PER_CALL) -> list[list[dict[str, Any]]]:
    """``items`` in API-call-sized lists (at least one list, possibly empty)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)] or [[]]


def check_output(plan: Plan, in_force: Sequence[Override], change: Change | None = None) -> dict[str, str]:
    """The check run's ``output`` without annotations: title and summary within GitHub's limit."""
    summary = truncate_bytes(visible(plan, in_force, change), CHECK_OUTPUT_MAX_BYTES)
    return {"title": check_title(plan), "summary": summary}


def sticky_body(
    plan: Plan, head_sha: str, stored: Sequence[Override], in_force: Sequence[Override], change: Change | None = None
) -> str:
    """The whole sticky comment: visible plan (truncated to fit) + sticky marker + overrides + head marker (with
    the verdict's digest)."""
    hidden = sticky.tail(stored, head_sha, plan.now, verdict_digest(plan, in_force))
    return truncate_chars(visible(plan, in_force, change), COMMENT_MAX_CHARS - len(hidden)) + hidden


def rule_marker(rule: str) -> str:
    """The hidden marker of a comment posted by a rule action (one comment per rule per PR)."""
    safe = re.sub(r"[^A-Za-z0-9_.:/@+-]", "_", rule)[:200].replace("--", "-_")
    return f"<!-- changebot:rule {safe} -->"


def rule_comment(rule: str, body: str) -> str:
    """A rule action's comment: its text, then its marker."""
    marker = rule_marker(rule)
    return truncate_chars(body, COMMENT_MAX_CHARS - len(marker) - 2) + "\n\n" + marker


def rule_of(body: str) -> str | None:
    """The rule a comment was posted for, from its marker."""
    match = _RULE.search(body)
    return match.group(1) if match else None


def cost(plan: Plan) -> str:
    """The estimated cost of this run in USD as the budget gate reported it, or ``""`` when it did not."""
    detail = next((g.detail for g in plan.gates if g.id is GateId.BUDGET), None)
    return f"{detail.low_usd:.2f}" if isinstance(detail, BudgetDetail) else ""
