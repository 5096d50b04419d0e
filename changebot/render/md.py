"""Markdown building blocks every Markdown renderer shares: status icons, table-cell escaping, findings tables.

Leaf module (it imports only the model), so the plan comment (``render.markdown``) and the gate reports
(``render.sequence``, ``render.budget``, ...) can all use it without importing each other.
"""

from __future__ import annotations

from changebot.model import Finding, Status

#: The icon of each gate status (the plan table, the sections, the sequence report).
GATE_ICON = {
    Status.PASS: ":white_check_mark:",
    Status.WARN: ":warning:",
    Status.FAIL: ":x:",
    Status.SKIPPED: ":fast_forward:",
}


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


def _where(finding: Finding) -> str:
    return f"`{finding.where()}`" if finding.path else "—"


def findings_table(findings: tuple[Finding, ...]) -> list[str]:
    """A table of findings: severity, where, code, message."""
    lines = ["| severity | where | code | message |", "|---|---|---|---|"]
    lines.extend(f"| {f.severity} | {_where(f)} | `{f.code}` | {escape_cell(f.message)} |" for f in findings)
    return lines
