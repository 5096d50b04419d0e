"""The PR comment's calendar: a Mermaid Gantt chart of freeze windows, code freezes and release plans."""

from __future__ import annotations

import html
import re
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from changebot.cli import main

WINDOWS = (
    '[{"name": "EOQ freeze", "from": "2025-12-15T00:00:00Z", "to": "2026-01-05T00:00:00Z"},\n'
    ' {"name": "Old freeze", "from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z"}]\n'
)
PLAN = """\
plan: rc2
window: { start: 2025-12-08, end: 2025-12-19, tz: America/Denver }
freeze:
  code_freeze: 2025-12-12T17:00:00-07:00
"""


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_comment_shows_the_coming_weeks_as_a_gantt_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        tmp_path,
        {
            ".maestro/freeze_windows.json": WINDOWS,
            ".maestro/plan-20251208-rc2.yaml": PLAN,
            ".maestro/changebot.yaml": "policy:\n  default_library: false\n",
        },
    )
    main(["plan", "--repo", str(tmp_path), "--now", "2025-12-10T12:00:00Z", "--format", "markdown"])
    body = capsys.readouterr().out
    chart = body[body.index("```mermaid\n") + len("```mermaid\n") : body.index("```\n", body.index("```mermaid"))]
    assert "title Coming freezes (UTC, 2025-12-10 to 2026-01-07)" in chart
    # Release plan: Dec 8 00:00 MST to Dec 20 00:00 MST (end date inclusive), clipped to now.
    assert "rc2 :b0_0, 2025-12-10 12:00, 2025-12-20 07:00" in chart
    # The plan's code freeze runs from 17:00 MST on Dec 12 to the end of the plan window.
    assert "code freeze (rc2) :crit, b1_0, 2025-12-13 00:00, 2025-12-20 07:00" in chart
    assert "EOQ freeze :crit, b2_0, 2025-12-15 00:00, 2026-01-05 00:00" in chart
    assert "Old freeze" not in chart  # long past: not in the coming weeks
    rendered = cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)
    match = re.search(r'<pre lang="mermaid"><code>(.*?)</code></pre>', rendered, re.DOTALL)
    assert match is not None and html.unescape(match.group(1)) == chart


def test_no_calendar_means_no_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {".maestro/changes/20251201-a.yaml": "area: payments\nintent: harden\n"})
    main(["plan", "--repo", str(tmp_path), "--now", "2025-12-10T12:00:00Z", "--format", "markdown"])
    assert "mermaid" not in capsys.readouterr().out
