"""Properties of the slash-command parser: it never raises, and only the first non-blank line counts."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from changebot.core.commands import MAX_LINE, Command, Invalid, first_line, parse
from changebot.model import GateId

WORDS = st.sampled_from(
    [
        "/changebot",
        "/changebot ",
        "override",
        "freeze",
        "budget",
        "plan",
        "help",
        "--reason",
        "--reason=",
        "--expires",
        "24h",
        "0m",
        "99999d",
        '"',
        "'",
        "\\",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\u2028",
        "\x0c",
        "\u00a0",
        "\u200b",
        "#",
        "é",
        "-->",
        "=",
    ]
)
COMMENTS = st.one_of(st.text(max_size=200), st.lists(st.one_of(WORDS, st.text(max_size=5)), max_size=30).map("".join))


@settings(max_examples=300, deadline=None)
@given(COMMENTS)
@example('/changebot override freeze --reason "unterminated')
@example("/changebot override freeze --reason=" + "x" * MAX_LINE)
@example("/changebot override freeze --reason why --expires 99999d")
@example("\u2028/changebot\tplan\u2028")
def test_parse_never_raises_and_answers_in_its_three_kinds(body: str) -> None:
    result = parse(body)
    assert result is None or isinstance(result, Command | Invalid)
    if isinstance(result, Invalid):
        assert result.problem
    if isinstance(result, Command) and result.verb == "override":
        assert isinstance(result.gate, GateId)
        assert result.reason and result.reason == " ".join(result.reason.split())
        assert result.expires is None or result.expires.total_seconds() > 0


@settings(max_examples=300, deadline=None)
@given(COMMENTS, COMMENTS, st.sampled_from(["\n", "\r\n", "\n\n  \n"]))
@example("/changebot plan", "/changebot override freeze --reason x", "\n")
def test_only_the_first_non_blank_line_counts(body: str, below: str, gap: str) -> None:
    line = first_line(body)
    if line is None:
        assert parse(body) is None
        return
    assert parse(body) == parse(line)
    assert parse(body + gap + below) == parse(body)
    assert parse("\n \t\n" + body) == parse(body)
