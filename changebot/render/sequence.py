"""The ``sequence`` gate -> terminal text, Markdown (with a Mermaid graph of order and dependencies), JSON. Pure.

Each renderer reads only the gate's ``SequenceDetail`` (``changebot.core.sequence.gate``), the same value whose
JSON form a policy reads, so what a terminal shows, what the PR comment shows and what a policy reads cannot
drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from changebot import __version__
from changebot.core.sequence.detail import SequenceDetail, SeriesDetail
from changebot.model import GateResult
from changebot.render.json import gate_to_json, json_text
from changebot.render.md import GATE_ICON, escape_cell, findings_table
from changebot.render.text import finding_line

_ICON = {
    "applies": ":white_check_mark:",
    "in-base": ":recycle:",
    "already-applied": ":recycle:",
    "empty": ":white_circle:",
    "conflicts": ":x:",
    "blocked": ":no_entry:",
    "invalid": ":x:",
    "refused": ":no_entry_sign:",
}
#: Mermaid node styles per status (class names may not contain '-').
_CLASSES = {
    "applies": "fill:#d4edda,stroke:#28a745",
    "in_base": "fill:#e2e3e5,stroke:#6c757d",
    "already_applied": "fill:#e2e3e5,stroke:#6c757d",
    "empty": "fill:#ffffff,stroke:#adb5bd,stroke-dasharray:3",
    "conflicts": "fill:#f8d7da,stroke:#dc3545",
    "blocked": "fill:#fff3cd,stroke:#ffc107",
    "invalid": "fill:#f8d7da,stroke:#dc3545",
    "refused": "fill:#f8d7da,stroke:#dc3545",
}


def _short(name: str) -> str:
    return name.split("-", 1)[0] if name[:1].isdigit() else name


#: Widest line of a wrapped list in the text report.
TEXT_WIDTH = 100


def wrapped(label: str, items: Sequence[str], sep: str, width: int = TEXT_WIDTH) -> list[str]:
    """``label`` then ``items`` joined by ``sep``, broken after a separator so that no line is wider than
    ``width`` (an item wider than that gets a line of its own); continuation lines are indented under the first
    item."""
    indent = " " * len(label)
    lines: list[str] = []
    current = label
    for i, item in enumerate(items):
        piece = item + (sep.rstrip() if i < len(items) - 1 else "")
        if current not in (label, indent) and len(current) + len(piece) > width:
            lines.append(current.rstrip())
            current = indent
        current += piece + (" " if i < len(items) - 1 else "")
    lines.append(current.rstrip())
    return lines


def _series(gate: GateResult) -> Sequence[SeriesDetail]:
    return gate.detail.series if isinstance(gate.detail, SequenceDetail) else ()


def render_sequence_text(gate: GateResult) -> str:
    """Per series: each patch with its status, what it depends on and why it fails; then the findings."""
    lines = [f"sequence: {gate.status} - {gate.summary}"]
    for series in _series(gate):
        result = series.result
        verdict = "applies" if result.applies else "does not apply"
        processed = " (state.json: processed)" if series.processed else ""
        lines += ["", f"PR {result.series.pr} ({result.series.directory}): {verdict}{processed}"]
        for patch in result.results:
            after = f"  after {', '.join(_short(d) for d in patch.depends_on)}" if patch.depends_on else ""
            lines.append(f"  {_short(patch.patch.name):>6}  {patch.status:<15} {patch.patch.subject}{after}")
            lines.extend(
                f"          {c.file or '(patch)'}"
                + (f" hunk #{c.hunk}" if c.hunk else "")
                + (f" line {c.line}" if c.line else "")
                + f": {c.message}"
                for c in patch.conflicts
            )
        if result.order:
            lines.extend(wrapped("  order: ", [_short(n) for n in result.order], " -> "))
        if len(result.groups) > 1:
            groups = ["{" + ", ".join(_short(n) for n in g) + "}" for g in result.groups]
            lines.extend(wrapped("  independent groups: ", groups, "; "))
    if gate.findings:
        lines += ["", "findings:"]
        lines.extend(f"  {finding_line(f)}" for f in gate.findings)
    return "\n".join(lines) + "\n"


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes for the characters Mermaid or HTML treat specially)."""
    for char, code in (
        ("&", "#amp;"),
        ('"', "#quot;"),
        ("<", "#lt;"),
        (">", "#gt;"),
        ("`", "#96;"),
        ("|", "#124;"),
        ("[", "#91;"),
        ("]", "#93;"),
        ("{", "#123;"),
        ("}", "#125;"),
    ):
        text = text.replace(char, code)
    return text.replace("\n", " ")


def mermaid(series: SeriesDetail, prefix: str = "p") -> list[str]:
    """A Mermaid flowchart: one node per patch (styled by status), an edge from each dependency."""
    patches = series.result.results
    ids = {p.patch.name: f"{prefix}{i}" for i, p in enumerate(patches)}
    lines = ["```mermaid", "flowchart TD"]
    for patch in patches:
        subject = patch.patch.subject if len(patch.patch.subject) <= 50 else patch.patch.subject[:47] + "..."
        label = _label(f"{_short(patch.patch.name)} {subject} ({patch.status})")
        lines.append(f'  {ids[patch.patch.name]}["{label}"]:::{patch.status.replace("-", "_")}')
    for patch in patches:
        lines.extend(f"  {ids[d]} --> {ids[patch.patch.name]}" for d in patch.depends_on if d in ids)
    used = {p.status.replace("-", "_") for p in patches}
    lines.extend(f"  classDef {name} {style}" for name, style in _CLASSES.items() if name in used)
    lines.append("```")
    return lines


def render_sequence_markdown(gate: GateResult) -> str:
    """The gate as a PR comment section: summary, per-series table and Mermaid graph, findings."""
    lines = [f"### changebot sequence: {GATE_ICON[gate.status]} **{gate.status}**", "", escape_cell(gate.summary), ""]
    for number, series in enumerate(_series(gate)):
        result = series.result
        verdict = ":white_check_mark: applies" if result.applies else ":x: does not apply"
        lines += [f"#### PR {escape_cell(str(result.series.pr))}: {verdict}", ""]
        lines += ["| # | patch | status | depends on | subject |", "|---|---|---|---|---|"]
        for patch in result.results:
            deps = ", ".join(_short(d) for d in patch.depends_on) or "—"
            lines.append(
                f"| {_short(patch.patch.name)} | `{escape_cell(patch.patch.name)}` | {_ICON.get(patch.status, '')} "
                f"{patch.status} | {deps} | {escape_cell(patch.patch.subject)} |"
            )
        lines.append("")
        if result.results:
            lines += [*mermaid(series, prefix=f"s{number}p"), ""]
        if len(result.groups) > 1:
            lines.append(
                "Groups that could land independently: "
                + "; ".join("{" + ", ".join(_short(n) for n in g) + "}" for g in result.groups)
            )
            lines.append("")
    if gate.findings:
        lines += ["<details><summary>Findings</summary>", "", *findings_table(gate.findings), "", "</details>", ""]
    return "\n".join(lines) + "\n"


def sequence_graphs(gate: GateResult) -> list[str]:
    """For the plan comment: a collapsible section per series with its Mermaid graph of order and dependencies."""
    lines: list[str] = []
    for number, series in enumerate(_series(gate)):
        result = series.result
        if not result.results:
            continue
        verdict = "applies" if result.applies else "does not apply"
        opened = "" if result.applies else " open"
        lines += [
            f"<details{opened}><summary>Patch series for PR {escape_cell(str(result.series.pr))}: {verdict} "
            f"({len(result.results)} patches)</summary>",
            "",
            *mermaid(series, prefix=f"s{number}p"),
            "",
            "</details>",
            "",
        ]
    return lines


def render_sequence_json(gate: GateResult) -> str:
    """The gate object as ``changebot plan --format json`` writes it, plus the changebot version."""
    return json_text({"changebot": __version__, **gate_to_json(gate)})
