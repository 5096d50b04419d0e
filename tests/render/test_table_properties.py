"""Properties of Markdown tables: whatever text lands in a cell, GitHub's renderer (cmarkgfm) sees a table with
the same number of cells in every row, and the text stays in its own cell."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import example, given, settings
from hypothesis import strategies as st

from changebot.model import Finding, GateId, GateResult, Override, Plan, PullRequest, Severity, Status, Verdict
from changebot.render.github import overrides_section
from changebot.render.markdown import render_markdown
from changebot.render.md import escape_cell, findings_table

#: Text people and repositories put in cells, weighted towards what Markdown and HTML treat specially.
CELL = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "|",
                "\\",
                "\\|",
                "`",
                "``",
                "\n",
                "\r",
                "\r\n",
                "<",
                ">",
                "-->",
                "<!--",
                "<br>",
                "<td>",
                "&amp;",
                "&",
                "*",
                "_",
                "[",
                "]",
                "(",
                ")",
                "#",
                "---",
                ":--",
                " ",
                "\t",
                "\u200b",
                "\u2028",
                "é",
                "\x00",
                "\x0c",
            ]
        ),
        st.text(max_size=6),
    ),
    max_size=12,
).map("".join)


def github_rows(markdown: str) -> list[list[str]]:
    """The text of each cell, row by row, of the tables cmarkgfm renders from ``markdown`` (tags stripped).

    GitHub pads a short row and drops the cells of a long one, so a broken row can still have the right number
    of cells: the tests below end each row with a known text (``END``) and check it is still last.
    """
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return [
        [
            unescape(re.sub(r"<[^>]*>", "", cell)).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.DOTALL)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)
    ]


def intact(rows: list[list[str]], width: int, count: int) -> bool:
    """``count`` rows of ``width`` cells, each data row still ending in ``END``."""
    return (
        len(rows) == count and all(len(row) == width for row in rows) and all(r[-1].endswith("END") for r in rows[1:])
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=1, max_size=3))
@example([["a | b", "x\\", "`|`"]])
@example([["\\", "|", "\n\n| x | y | z |"]])
def test_escaped_cells_never_break_a_table(rows: list[list[str]]) -> None:
    table = ["| one | two | three | end |", "|---|---|---|---|"]
    table += ["| " + " | ".join(escape_cell(text) for text in row) + " | END |" for row in rows]
    assert intact(github_rows("\n".join(table) + "\n"), 4, 1 + len(rows))


FINDING_PATH = "path | with `pipes`\nand a newline.yaml"


@settings(max_examples=150, deadline=None)
@given(CELL, CELL, st.none() | st.integers(min_value=1, max_value=99))
@example(FINDING_PATH, "message", 3)  # a file name may hold a pipe, a backtick or a newline
@example("a|b.yaml", "m", None)
@example("a`b|c", "m", None)
@example("x\\|y", "m", 1)
def test_findings_tables_keep_four_cells(path: str, message: str, line: int | None) -> None:
    findings = (Finding(path or None, line, None, Severity.ERROR, "code", message + " END"),)
    assert intact(github_rows("\n".join(findings_table(findings)) + "\n"), 4, 2)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(CELL, CELL), min_size=1, max_size=3))
def test_the_plan_comment_and_overrides_tables_keep_their_columns(texts: list[tuple[str, str]]) -> None:
    now = datetime(2026, 1, 17, 12, tzinfo=UTC)
    gates = tuple(
        GateResult(gate, Status.WARN, summary + " END", (Finding(None, None, None, Severity.WARNING, "c", f"{m} END"),))
        for gate, (summary, m) in zip(GateId, texts, strict=False)
    )
    plan = Plan(Verdict.WARN, gates, now, PullRequest(), "o/r", None, None)
    rows = github_rows(render_markdown(plan))
    assert intact(rows[: 1 + len(gates)], 3, 1 + len(gates))
    for n in range(len(gates)):
        assert intact(rows[1 + len(gates) + 2 * n : 3 + len(gates) + 2 * n], 4, 2)
    overrides = [Override(GateId.FREEZE, actor, reason, now) for actor, reason in texts]
    rows = github_rows(overrides_section(overrides))
    assert len(rows) == 1 + len(overrides) and all(len(row) == 5 for row in rows)
    assert all(row[-1] == "on a new push" for row in rows[1:])


def test_file_names_with_pipes_and_backticks_show_as_written() -> None:
    for path in ["a|b.yaml", "a`b|c.yaml", "x\\|y.yaml", "`quoted`.yaml", "dir\\file.yaml"]:
        table = findings_table((Finding(path, 3, None, Severity.ERROR, "code", "m"),))
        assert github_rows("\n".join(table) + "\n")[1] == ["error", f"{path}:3", "code", "m"], path
