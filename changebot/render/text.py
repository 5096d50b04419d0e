"""Plan -> text for a terminal. Colour only when asked (the CLI asks when stdout is a TTY)."""

from __future__ import annotations

from changebot.core.whatif.result import WhatIf
from changebot.model import Action, Finding, GateMode, GateResult, Plan, Severity, Status, Verdict
from changebot.render.whatif import headline

_COLOURS = {
    "pass": "32",
    "warn": "33",
    "fail": "31",
    "skipped": "90",
    "error": "31",
    "warning": "33",
    "notice": "36",
}


def _paint(text: str, key: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS[key]}m{text}\x1b[0m" if colour else text


def finding_line(finding: Finding, colour: bool = False) -> str:
    """``path:line:col: severity[code] message``, the form editors and grep understand."""
    label = _paint(str(finding.severity), str(finding.severity), colour)
    return f"{finding.where()}: {label}[{finding.code}] {finding.message}"


def _words(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    text = str(value)
    first = text.splitlines()[0] if text.strip() else ""
    return first[:77] + "..." if len(first) > 80 or first != text.strip() else first


def action_words(action: Action) -> str:
    """A rule's planned action in words: ``label seen, risk:high``, ``comment "first line..."``,
    ``request review from alice, @org/team``, ``warn look``."""
    with_ = action.with_
    if action.do == "label":
        return f"label {_words(with_.get('labels', []))}"
    if action.do == "comment":
        return f'comment "{_words(with_.get("body", ""))}"'
    if action.do == "request_review":
        who = [*with_.get("reviewers", []), *(f"@{t}" for t in with_.get("team_reviewers", []))]
        return f"request review from {_words(who)}"
    if action.do in ("warn", "fail"):
        return f"{action.do} {_words(with_.get('message', ''))}"
    details = "; ".join(f"{k}: {_words(v)}" for k, v in with_.items())
    return f"{action.do} {details}".rstrip()


def gate_lines(gate: GateResult, colour: bool = False) -> list[str]:
    """One gate: a status line, then its findings indented."""
    status = _paint(f"{gate.status:<7}", str(gate.status), colour)
    mode = "" if gate.mode is GateMode.ENFORCE else f" ({gate.mode})"
    lines = [f"  {status} {gate.id:<9} {gate.summary}{mode}"]
    lines.extend(f"            {finding_line(f, colour)}" for f in gate.findings)
    return lines


def render_text(plan: Plan, colour: bool = False) -> str:
    """The whole plan for a terminal, ending in a newline."""
    head = plan.head or "working tree"
    base = plan.base or "working tree"
    lines = [f"changebot plan for {plan.repo} ({base} -> {head}) at {plan.now.isoformat()}", ""]
    for gate in plan.gates:
        lines.extend(gate_lines(gate, colour))
    if plan.actions:
        lines += ["", "planned actions:"]
        lines.extend(f"  - {a.rule}: {action_words(a)}" for a in plan.actions)
    advisory = [str(g.id) for g in plan.gates if g.would_fail]
    if advisory:
        note = "advisory gates do not fail the verdict (mode: advisory in .maestro/changebot.yaml)"
        lines += ["", f"advisory: would have failed on {', '.join(advisory)}; {note}"]
    if isinstance(plan.whatif, WhatIf) and plan.whatif.governance_changed:
        lines += [
            "",
            f"what-if (never changes the verdict): {headline(plan.whatif)}; run 'changebot whatif' for details",
        ]
    verdict = _paint(plan.verdict.upper(), str(plan.verdict), colour)
    counts = {s: sum(1 for g in plan.gates if g.status is s) for s in Status}
    lines += [
        "",
        f"verdict: {verdict} ({counts[Status.FAIL]} failed, {counts[Status.WARN]} warned, "
        f"{counts[Status.PASS]} passed, {counts[Status.SKIPPED]} skipped)",
    ]
    return "\n".join(lines) + "\n"


def render_findings(findings: list[Finding], colour: bool = False) -> str:
    """A bare list of findings (``changebot validate``), with a closing count."""
    lines = [finding_line(f, colour) for f in findings]
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    lines.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(lines) + "\n"


VERDICT_WORD = {Verdict.PASS: "pass", Verdict.WARN: "warn", Verdict.FAIL: "fail"}
