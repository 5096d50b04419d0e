"""The audit report and Gantt chart as people see them: through GitHub's own Markdown renderer (cmarkgfm)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import cmarkgfm
from cmarkgfm.cmark import Options

from changebot.core.audit import PullSummary, audit
from changebot.core.freeze.windows import Window
from changebot.model import GateId, Override
from changebot.render.audit import AUDIT_MARKER, render_audit_json, render_audit_markdown, render_audit_text
from changebot.render.gantt import Bar, gantt

NOW = datetime(2025, 12, 22, 12, tzinfo=UTC)
EOQ = Window(
    datetime(2025, 12, 15, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC), "EOQ freeze", ".maestro/freeze_windows.json"
)
NEXT = Window(
    datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC), "Black | Friday: <b>", "freeze_windows.json"
)


def github_html(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def sample_report() -> str:
    ok = Override(
        GateId.FREEZE,
        "release-captain",
        "security fix CVE-2025-1234 must ship now",
        datetime(2025, 12, 20, 8, tzinfo=UTC),
        datetime(2025, 12, 21, 8, tzinfo=UTC),
        "s2",
    )
    prs = [
        PullSummary(
            1,
            "Fix | pipes in title",
            "https://github.test/o/r/pull/1",
            "main",
            "a",
            datetime(2025, 12, 18, 9, tzinfo=UTC),
            "maria",
            "s1",
        ),
        PullSummary(
            2,
            "CVE fix",
            "https://github.test/o/r/pull/2",
            "main",
            "b",
            datetime(2025, 12, 20, 9, tzinfo=UTC),
            "maria",
            "s2",
        ),
        PullSummary(
            3,
            "Before freeze",
            "https://github.test/o/r/pull/3",
            "main",
            "c",
            datetime(2025, 12, 1, tzinfo=UTC),
            "maria",
            "s3",
        ),
    ]
    open_prs = [PullSummary(4, "Next feature", "https://github.test/o/r/pull/4", "main")]
    report = audit(prs, open_prs, [EOQ, NEXT], {2: [ok]}, ["main"], datetime(2025, 12, 1, tzinfo=UTC), NOW, NOW, 28)
    return render_audit_markdown(report)


def test_markdown_tables_and_links_survive_github_rendering() -> None:
    body = sample_report()
    assert body.startswith(AUDIT_MARKER)
    rendered = github_html(body)
    assert rendered.count("<table>") == 2  # merged-in-freeze and upcoming; "expired unused" says None.
    rows = re.findall(r"<tr>(.*?)</tr>", rendered, re.DOTALL)
    assert len(rows) == (1 + 2) + (1 + 1)  # header + PRs 1 and 2; header + PR 4 with the first freeze it meets
    for number in (1, 2, 4):
        assert f'<a href="https://github.test/o/r/pull/{number}">#{number}</a>' in rendered
    assert "Fix | pipes in title" in html.unescape(rendered)  # the escaped pipe did not split the cell
    assert "<strong>unauthorised</strong>" in rendered
    assert "override by release-captain" in rendered
    assert "<b>" not in rendered.split("<pre")[0]  # the window name's markup was escaped in tables


def test_mermaid_block_is_passed_through_intact() -> None:
    body = sample_report()
    chart = body[body.index("```mermaid") + len("```mermaid\n") : body.rindex("```")]
    rendered = github_html(body)
    match = re.search(r'<pre lang="mermaid"><code>(.*?)</code></pre>', rendered, re.DOTALL)
    assert match, rendered
    assert html.unescape(match.group(1)) == chart
    assert "EOQ freeze :crit, b0_0, 2025-12-22 12:00, 2026-01-05 00:00" in chart  # clipped to now
    assert "Black | Friday b :crit, b0_1, 2026-01-10 00:00, 2026-01-12 00:00" in chart  # ':<>' squashed


def test_gantt_exact_output() -> None:
    start = datetime(2025, 12, 1, tzinfo=UTC)
    bars = [
        Bar("Freeze windows", "EOQ freeze", datetime(2025, 12, 15, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC), True),
        Bar("Release plans", "rc1; window", datetime(2025, 11, 28, tzinfo=UTC), datetime(2025, 12, 3, tzinfo=UTC)),
        Bar("Freeze windows", "long gone", datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC), True),
    ]
    assert gantt(bars, start, start + timedelta(days=21), "Coming freezes") == (
        "```mermaid\n"
        "gantt\n"
        "    title Coming freezes (UTC, 2025-12-01 to 2025-12-22)\n"
        "    dateFormat YYYY-MM-DD HH:mm\n"
        "    axisFormat %m-%d\n"
        "    section Release plans\n"
        "    rc1 window :b0_0, 2025-12-01 00:00, 2025-12-03 00:00\n"
        "    section Freeze windows\n"
        "    EOQ freeze :crit, b1_0, 2025-12-15 00:00, 2025-12-22 00:00\n"
        "```\n"
    )


def test_gantt_with_nothing_in_range_is_still_a_chart() -> None:
    start = datetime(2025, 12, 1, tzinfo=UTC)
    chart = gantt([], start, start + timedelta(days=7))
    assert "no windows in range :milestone, 2025-12-01 00:00, 0d" in chart


def test_text_and_json_name_the_same_facts() -> None:
    ok = Override(
        GateId.FREEZE, "rc", "documented reason for the override", datetime(2025, 12, 20, tzinfo=UTC), None, None
    )
    pr = PullSummary(9, "t", "u9", "main", None, datetime(2025, 12, 20, 1, tzinfo=UTC), "m", "s")
    report = audit([pr], [], [EOQ], {9: [ok]}, ["main"], datetime(2025, 12, 1, tzinfo=UTC), NOW, NOW, 7)
    text = render_audit_text(report)
    assert "merged during a freeze: 1 (0 unauthorised)" in text
    assert "#9 t — merged 2025-12-20T01:00:00+00:00 by m in [EOQ freeze] — override by rc" in text
    data = json.loads(render_audit_json(report))
    assert data["merged_in_freeze"][0]["authorised"] is True
    assert data["merged_in_freeze"][0]["override"]["actor"] == "rc"
