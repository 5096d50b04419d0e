"""Time spans -> a Mermaid Gantt chart, which GitHub renders in place in comments, issues and summaries.

Pure: the caller decides the range (``start``..``end``) and the bars; this module clips, orders and escapes.
All times are shown in UTC (Mermaid has no time-zone support), and the chart title says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

_FORMAT = "%Y-%m-%d %H:%M"
_UNSAFE = re.compile(r"[:;#`<>\r\n]+")


@dataclass(frozen=True)
class Bar:
    """One bar: a span of time in a section. ``critical`` bars (enforced freezes) are drawn in red."""

    section: str
    name: str
    start: datetime
    end: datetime
    critical: bool = False
    inactive: bool = False


def _label(text: str, limit: int = 60) -> str:
    """Mermaid task names may not contain ':' ';' '#' (they are syntax); squash them and cap the length."""
    cleaned = " ".join(_UNSAFE.sub(" ", text).split()) or "(unnamed)"
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_FORMAT)


def gantt(bars: Iterable[Bar], start: datetime, end: datetime, title: str = "Freeze calendar") -> str:
    """A fenced ```mermaid block for the bars overlapping ``start``..``end``, clipped to it.

    Sections appear in order of first use; bars within a section are ordered by start. An empty range still
    yields a valid chart with a note, so the comment layout never changes shape.
    """
    shown = sorted((b for b in bars if b.end > start and b.start < end), key=lambda b: (b.start, b.name))
    sections: dict[str, list[Bar]] = {}
    for bar in shown:
        sections.setdefault(_label(bar.section, 40), []).append(bar)
    lines = [
        "```mermaid",
        "gantt",
        f"    title {_label(title, 80)} (UTC, {start.astimezone(UTC):%Y-%m-%d} to {end.astimezone(UTC):%Y-%m-%d})",
        "    dateFormat YYYY-MM-DD HH:mm",
        "    axisFormat %m-%d",
    ]
    if not shown:
        lines += ["    section Nothing scheduled", f"    no windows in range :milestone, {_utc(start)}, 0d"]
    for index, (section, section_bars) in enumerate(sections.items()):
        lines.append(f"    section {section}")
        for number, bar in enumerate(section_bars):
            tags = [t for t, on in (("crit", bar.critical), ("done", bar.inactive)) if on]
            prefix = ", ".join([*tags, f"b{index}_{number}"])
            lines.append(f"    {_label(bar.name)} :{prefix}, {_utc(max(bar.start, start))}, {_utc(min(bar.end, end))}")
    lines.append("```")
    return "\n".join(lines) + "\n"
