"""The "next change" line: exact words for each kind, in the window's zone, in the comment and the check run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from changebot.core.freeze.windows import Window
from changebot.core.next_change import Change, ChangeKind
from changebot.model import GateId, Override, Plan, PullRequest, Verdict
from changebot.render.github import check_output, sticky_body, verdict_digest
from changebot.render.next_change import next_change_line, span

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # a Saturday
WEEKEND = Window(
    datetime(2026, 12, 4, 17, tzinfo=UTC),
    datetime(2026, 12, 7, 9, tzinfo=UTC),
    "weekend",
    "p",
    3,
    True,
    "Europe/Dublin",
)


def test_frozen_until_names_the_local_end_and_how_long() -> None:
    change = Change(WEEKEND.end, ChangeKind.FREEZE_ENDS, WEEKEND)
    assert next_change_line(change, NOW) == "frozen until Mon 09:00 Europe/Dublin (in 2 days)"


def test_a_freeze_starting_says_in_how_many_hours() -> None:
    thursday = datetime(2026, 12, 4, 14, tzinfo=UTC)
    change = Change(WEEKEND.start, ChangeKind.FREEZE_STARTS, WEEKEND)
    assert next_change_line(change, thursday) == "a freeze starts in 3 h: 'weekend' at Fri 17:00 Europe/Dublin"


def test_far_instants_carry_the_date_and_overrides_name_their_actor() -> None:
    held = Override(GateId.FREEZE, "rel-captain", "hotfix for the outage", NOW, NOW + timedelta(days=8), "a" * 40)
    change = Change(NOW + timedelta(days=8), ChangeKind.OVERRIDE_EXPIRES, override=held)
    assert next_change_line(change, NOW) == (
        "the freeze override by @rel-captain expires in 8 days, at Sun 13 Dec 09:00 UTC"
    )
    month = Change(datetime(2027, 1, 1, tzinfo=UTC), ChangeKind.MONTH_ROLLS_OVER)
    assert next_change_line(month, NOW) == "the budget month starts again in 26 days, at Fri 1 Jan 00:00 UTC"


def test_spans_round_down() -> None:
    assert [span(timedelta(minutes=m)) for m in (0, 5, 90, 24 * 60 + 61, 3 * 24 * 60)] == [
        "less than a minute",
        "5 min",
        "1 h 30 min",
        "1 day 1 h",
        "3 days",
    ]


def _plan(now: datetime) -> Plan:
    return Plan(Verdict.FAIL, (), now, PullRequest(number=7, head_sha="b" * 40), ".", None, None)


def test_comment_and_check_run_say_the_next_change_and_the_digest_ignores_the_clock() -> None:
    change = Change(WEEKEND.end, ChangeKind.FREEZE_ENDS, WEEKEND)
    body = sticky_body(_plan(NOW), "b" * 40, [], [], change)
    assert "**Next change:** frozen until Mon 09:00 Europe/Dublin (in 2 days)." in body
    assert "frozen until Mon 09:00" in check_output(_plan(NOW), [], change)["summary"]
    assert verdict_digest(_plan(NOW), []) == verdict_digest(_plan(NOW + timedelta(hours=5)), [])
    passing = Plan(Verdict.PASS, (), NOW, PullRequest(number=7, head_sha="b" * 40), ".", None, None)
    assert verdict_digest(_plan(NOW), []) != verdict_digest(passing, [])
