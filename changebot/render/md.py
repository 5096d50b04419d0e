"""Markdown building blocks every Markdown renderer shares: status icons, table-cell escaping, findings tables.

Leaf module (it imports only the model), so the plan comment (``render.markdown``) and the gate reports
(``render.sequence``, ``render.budget``, ...) can all use it without importing each other.
"""

from __future__ import annotations

import re

from changebot.model import Finding, GateMode, GateResult, Status

#: The icon of each gate status (the plan table, the sections, the sequence report).
GATE_ICON = {
    Status.PASS: ":white_check_mark:",
    Status.WARN: ":warning:",
    Status.FAIL: ":x:",
    Status.SKIPPED: ":fast_forward:",
}


def would_fail_line(gates: tuple[GateResult, ...] | list[GateResult]) -> list[str]:
    """The advisory note: which advisory gates would have failed the verdict (nothing when none did)."""
    failed = [g for g in gates if g.would_fail]
    if not failed:
        return []
    names = ", ".join(f"**{g.id}**" for g in failed)
    verb = "gate" if len(failed) == 1 else "gates"
    return [
        f"> :information_source: **Advisory**: would have failed on the {names} {verb}; "
        "advisory gates do not fail the check (`mode: advisory` in `.maestro/changebot.yaml`).",
        "",
    ]


def mode_suffix(gate: GateResult) -> str:
    """`` (advisory)`` or `` (off)`` after a gate's status; nothing for an enforced gate."""
    return "" if gate.mode is GateMode.ENFORCE else f" ({gate.mode})"


def escape_cell(text: str) -> str:
    """Make ``text`` safe inside one table cell (pipes, newlines, and HTML-ish brackets)."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def code_cell(text: str) -> str:
    """``text`` as inline code inside one table cell: pipes escaped, line breaks as spaces, and a fence of more
    backticks than ``text`` holds in a row (file names may contain any of these)."""
    flat = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _where(finding: Finding) -> str:
    return code_cell(finding.where()) if finding.path else "—"


def findings_table(findings: tuple[Finding, ...]) -> list[str]:
    """A table of findings: severity, where, code, message."""
    lines = ["| severity | where | code | message |", "|---|---|---|---|"]
    lines.extend(f"| {f.severity} | {_where(f)} | `{f.code}` | {escape_cell(f.message)} |" for f in findings)
    return lines
