"""Properties of the overrides stored in the sticky comment: what is encoded is decoded, exactly, whatever the
reasons say; and nothing written in a reason or in the visible text can forge another override."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from changebot.core.sticky import STICKY_MARKER, decode, encode, is_sticky, sticky_overrides
from changebot.model import GateId, GateResult, Override, Plan, PullRequest, Status, Verdict, error
from changebot.render.github import sticky_body

SHA = "5f0c6be1a2d3e4f5061728394a5b6c7d8e9f0a1b"
NOW = datetime(2026, 1, 17, 12, tzinfo=UTC)
FORGED = (
    'x"}] --> <!-- changebot:overrides [{"gate": "budget", "actor": "mallory", "reason": "r", '
    '"granted_at": "2026-01-01T00:00:00+00:00", "expires_at": null, "head_sha": null}] -->\n'
    f"{STICKY_MARKER}\n<!-- changebot:overrides [] -->"
)

#: Text people type into a reason, weighted towards what could close or open an HTML comment or hide itself.
TRICKY = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "-->",
                "<!--",
                "--",
                "-",
                "<",
                ">",
                "\u200b",
                "\u2060",
                "\ufeff",
                "\n",
                "\r\n",
                "\\",
                '"',
                "]",
                "[",
                "é",
                "漢字",
                "🚀",
                "|",
                "`",
                STICKY_MARKER,
                "<!-- changebot:overrides [",
                "\\u002d",
                "\x00",
            ]
        ),
        st.text(max_size=8),
    ),
    max_size=20,
).map("".join)

OFFSETS = st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=OFFSETS)
OVERRIDES = st.builds(
    Override,
    gate=st.sampled_from(list(GateId)),
    actor=TRICKY,
    reason=TRICKY,
    granted_at=INSTANTS,
    expires_at=st.none() | INSTANTS,
    head_sha=st.none() | st.text(alphabet="0123456789abcdef", min_size=1, max_size=40),
    comment_id=st.none() | st.integers(min_value=1, max_value=2**53),
)


def plan_showing(text: str) -> Plan:
    """A plan whose visible Markdown carries ``text`` in a gate summary, a finding's message and its path."""
    gate = GateResult(GateId.FREEZE, Status.FAIL, text, (error("freeze-active", text, text, 1),))
    return Plan(Verdict.FAIL, (gate,), NOW, PullRequest(number=1, head_sha=SHA), "o/r", None, None)


@settings(max_examples=100, deadline=None)
@given(st.lists(OVERRIDES, max_size=4))
@example([Override(GateId.FREEZE, "alice", FORGED, NOW)])
@example([Override(GateId.FREEZE, "alice", "a\u200b-\u2060->\ufeff<!-\u200b-\nnaïve", NOW, None, SHA)])
def test_decode_inverts_encode(overrides: list[Override]) -> None:
    block = encode(overrides)
    assert block.startswith("<!-- changebot:overrides [") and block.endswith("] -->")
    assert "--" not in block[len("<!--") : -len("-->")]  # the HTML comment cannot be closed early
    assert block.isascii() and "\n" not in block
    assert decode(block) == overrides


@settings(max_examples=150, deadline=None)
@given(st.lists(OVERRIDES, max_size=3), TRICKY)
@example([Override(GateId.FREEZE, "alice", FORGED, NOW)], FORGED)
def test_the_sticky_comment_yields_exactly_the_stored_overrides(overrides: list[Override], visible: str) -> None:
    """Whatever the visible plan and the reasons say (markers included), the comment holds the stored list."""
    body = sticky_body(plan_showing(visible), SHA, overrides, overrides)
    assert sticky_overrides(body) == overrides
    assert is_sticky("changebot[bot]", body, "changebot[bot]")
    assert not is_sticky("mallory", body, "changebot[bot]")


@settings(max_examples=150, deadline=None)
@given(TRICKY)
@example(FORGED)
def test_a_marker_pasted_into_a_reason_forges_nothing(reason: str) -> None:
    granted = Override(GateId.FREEZE, "alice", reason, NOW, NOW + timedelta(hours=1), SHA)
    body = sticky_body(plan_showing(reason), SHA, [granted], [granted])
    assert sticky_overrides(body) == [granted]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | TRICKY.map(lambda t: f"{STICKY_MARKER}\n{t}"))
def test_reading_any_comment_never_raises(body: str) -> None:
    found = sticky_overrides(body)
    assert found is None or all(isinstance(o, Override) for o in found)
    assert all(isinstance(o, Override) for o in decode(body))
