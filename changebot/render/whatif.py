"""What-if -> terminal text and Markdown (the collapsed section of the PR comment). Pure.

The Markdown is one ``<details>`` block, collapsed: the what-if informs the owners who approve a governance
change and never changes the verdict. It holds the governance diff in meaning, the merges and open pull
requests that would decide otherwise, and the freeze calendar before and after (Mermaid Gantt charts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from changebot.core.whatif.result import WhatIf
from changebot.render.gantt import Bar, gantt
from changebot.render.md import code_cell, escape_cell

if TYPE_CHECKING:
    from changebot.core.freeze.windows import Window

#: The span of the before/after charts (the freeze gate's chart span).
CHART_SPAN = timedelta(weeks=4)
#: Rows of the consequences table shown before "N more".
MAX_ROWS = 50


def _who(whatif: WhatIf, index: int) -> str:
    merge = whatif.consequences[index].merge
    return f"#{merge.number}" if merge.number is not None else merge.sha[:9]


def headline(whatif: WhatIf) -> str:
    """One sentence: how much governance changes, and how many merges would decide otherwise."""
    if not whatif.governance_changed:
        return "this change does not change governance"
    affected = len({c.merge.sha for c in whatif.consequences})
    checked = f"{whatif.merges} merge(s) since {whatif.since:%Y-%m-%d}"
    if whatif.open_prs:
        checked = f"{whatif.merges + whatif.open_prs} ({checked}, {whatif.open_prs} open pull request(s))"
    what = f"{len(whatif.changes)} change(s) in meaning in {len(whatif.files)} governance file(s)"
    if not whatif.merges and not whatif.open_prs:
        return f"{what}; no merges since {whatif.since:%Y-%m-%d} to replay"
    if not affected:
        return f"{what}; none of {checked} would decide otherwise"
    return f"{what}; {affected} of {checked} would decide otherwise"


def render_whatif_text(whatif: WhatIf) -> str:
    """The what-if for a terminal."""
    lines = [f"changebot what-if for {whatif.branch} ({whatif.base} -> {whatif.head}) at {whatif.now.isoformat()}", ""]
    lines.append(f"  {headline(whatif)}")
    if whatif.changes:
        lines += ["", "governance changes:"]
        lines.extend(f"  - {c.path}: {c.text}" for c in whatif.changes)
    if whatif.consequences:
        lines += ["", "would decide otherwise:"]
        for index, c in enumerate(whatif.consequences):
            lines.append(
                f"  - {_who(whatif, index)} {c.merge.when:%Y-%m-%d %H:%M} {c.merge.subject!r}: {c.gate} "
                f"{c.before} -> {c.after}, {c.effect}"
            )
            lines.extend(f"      {reason}" for reason in c.reasons)
    lines.append("")
    lines.append("The what-if never changes the verdict.")
    return "\n".join(lines) + "\n"


def _bars(windows: Sequence[Window]) -> list[Bar]:
    return [
        Bar("Freeze windows", w.name, w.start, w.end, critical=w.enforced, inactive=not w.enforced) for w in windows
    ]


def whatif_section(whatif: WhatIf) -> list[str]:
    """The collapsed PR-comment section; nothing when governance does not change."""
    if not whatif.governance_changed:
        return []
    lines = [
        f"<details><summary>:crystal_ball: What-if: {escape_cell(headline(whatif))}</summary>",
        "",
        "| file | change |",
        "|---|---|",
    ]
    lines.extend(f"| {code_cell(c.path)} | {escape_cell(c.text)} |" for c in whatif.changes)
    lines.append("")
    if whatif.consequences:
        lines += ["| merge | when | gate | before | after | effect |", "|---|---|---|---|---|---|"]
        for index, c in enumerate(whatif.consequences[:MAX_ROWS]):
            why = "; ".join(c.reasons[:2])
            effect = c.effect + (f": {why}" if why else "")
            lines.append(
                f"| {code_cell(_who(whatif, index))} {escape_cell(c.merge.subject)} | {c.merge.when:%Y-%m-%d %H:%M} "
                f"| {c.gate} | {c.before} | {c.after} | {escape_cell(effect)} |"
            )
        if len(whatif.consequences) > MAX_ROWS:
            lines.append(f"\n{len(whatif.consequences) - MAX_ROWS} more (run `changebot whatif` for all)")
        lines.append("")
    if whatif.before != whatif.after:
        end = whatif.now + CHART_SPAN
        lines += [
            "**Freeze calendar before**",
            "",
            gantt(_bars(whatif.before), whatif.now, end, "Before").rstrip("\n"),
            "",
            "**Freeze calendar after**",
            "",
            gantt(_bars(whatif.after), whatif.now, end, "After").rstrip("\n"),
            "",
        ]
    lines += [
        "The what-if informs the owners who approve this change; it never changes the verdict.",
        "",
        "</details>",
        "",
    ]
    return lines


def render_whatif_markdown(whatif: WhatIf) -> str:
    """The what-if as Markdown: the same collapsed section, or one line when nothing changes."""
    section = whatif_section(whatif)
    return "\n".join(section) + "\n" if section else f"What-if: {headline(whatif)}.\n"
