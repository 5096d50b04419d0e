"""``decide`` as a pure function: what to do on GitHub, given an evaluation and what GitHub shows. No server."""

from __future__ import annotations

from datetime import timedelta

from changebot.core import sticky
from changebot.core.settings import parse_settings
from changebot.github.decide import (
    AddLabels,
    Evaluated,
    Existing,
    ExistingComment,
    ExistingRun,
    RequestReviews,
    RuleComment,
    check_name,
    decide,
    decide_failure,
)
from changebot.model import Action, Plan, error
from changebot.render import github as gh
from tests.github.test_publish import HEAD, NOW, REPO, RULE_ACTIONS, make_plan

BOT = "changebot[bot]"


def evaluated(plan: Plan) -> Evaluated:
    return Evaluated(plan, "changebot", (), ())


def existing(*comments: ExistingComment, head: str | None = HEAD, **more: object) -> Existing:
    return Existing(REPO, 7, head, comments=comments, bot_login=BOT, **more)  # type: ignore[arg-type]


def shown(plan: Plan, comment_id: int = 11) -> ExistingComment:
    """changebot's sticky comment as publishing ``plan`` wrote it."""
    return ExistingComment(comment_id, BOT, gh.sticky_body(plan, HEAD, (), ()))


def test_a_first_evaluation_creates_the_check_run_and_the_comment() -> None:
    plan = make_plan((error("e", "broken", "a.yaml", 3),))
    decision = decide(evaluated(plan), existing(check_runs=()))
    assert decision.check_run is not None
    assert (decision.check_run.name, decision.check_run.head_sha, decision.check_run.update_id) == (
        "changebot",
        HEAD,
        None,
    )
    assert decision.check_run.fields["conclusion"] == "failure"
    assert [len(b) for b in decision.check_run.annotation_batches] == [1]
    assert decision.comment.action == "create"
    assert sticky.parse_head(decision.comment.body) == (HEAD, NOW)
    assert not decision.stale


def test_a_result_for_a_head_that_moved_writes_only_its_check_run() -> None:
    decision = decide(evaluated(make_plan(actions=RULE_ACTIONS)), existing(head="e" * 40, check_runs=()))
    assert decision.stale
    assert decision.check_run is not None and decision.check_run.head_sha == HEAD
    assert decision.comment.action == "leave"
    assert decision.rule_actions == ()


def test_an_older_evaluation_of_the_shown_head_writes_nothing() -> None:
    later = make_plan(now=NOW + timedelta(minutes=5))
    decision = decide(evaluated(make_plan()), existing(shown(later)))
    assert decision.stale
    assert decision.check_run is None
    assert decision.comment.action == "leave"


def test_annotations_already_on_the_check_run_are_not_sent_again() -> None:
    plan = make_plan((error("e", "broken", "a.yaml", 3),))
    sent = gh.annotations_fingerprint(gh.annotation_list(plan))
    decision = decide(evaluated(plan), existing(check_runs=(ExistingRun(5, sent),)))
    assert decision.check_run is not None
    assert decision.check_run.update_id == 5
    assert decision.check_run.annotation_batches == ((),)
    other = decide(evaluated(plan), existing(check_runs=(ExistingRun(5, "changebot:something-else"),)))
    assert other.check_run is not None and [len(b) for b in other.check_run.annotation_batches] == [1]


def test_more_than_fifty_annotations_go_in_batches() -> None:
    plan = make_plan(tuple(error("e", f"broken {i}", "a.yaml", i + 1) for i in range(120)))
    decision = decide(evaluated(plan), existing(check_runs=()))
    assert decision.check_run is not None
    assert [len(b) for b in decision.check_run.annotation_batches] == [50, 50, 20]


def test_an_unchanged_comment_is_left_and_a_changed_one_edited_in_place() -> None:
    plan = make_plan()
    same = decide(evaluated(plan), existing(shown(plan), check_runs=()))
    assert (same.comment.action, same.comment.comment_id) == ("leave", 11)
    newer = make_plan((error("e", "broken", "a.yaml", 3),), now=NOW + timedelta(minutes=1))
    edited = decide(evaluated(newer), existing(shown(plan), check_runs=()))
    assert (edited.comment.action, edited.comment.comment_id) == ("edit", 11)


def test_a_sticky_marker_in_someone_elses_comment_is_not_ours() -> None:
    forged = ExistingComment(3, "mallory", gh.sticky_body(make_plan(), HEAD, (), ()))
    decision = decide(evaluated(make_plan()), existing(forged, check_runs=()))
    assert decision.comment.action == "create"


def test_rule_actions_are_decided_in_order_and_not_repeated() -> None:
    plan = make_plan(actions=RULE_ACTIONS)
    first = decide(evaluated(plan), existing(labels=("risk:high",), check_runs=()))
    assert first.rule_actions == (
        AddLabels(("needs-sre",)),
        RuleComment(
            "risky-charts",
            gh.rule_marker("risky-charts"),
            gh.rule_comment("risky-charts", "Charts changed: an SRE must review."),
        ),
        RequestReviews(("sre-oncall",), ("sre",)),
    )
    assert first.done == ("label:needs-sre", "comment:risky-charts", "review:sre-oncall", "review:team/sre")
    posted = ExistingComment(21, BOT, gh.rule_comment("risky-charts", "Charts changed: an SRE must review."))
    done = existing(
        posted,
        labels=("risk:high", "needs-sre"),
        requested=("sre-oncall",),
        requested_teams=("sre",),
        check_runs=(),
    )
    again = decide(evaluated(plan), done)
    assert again.rule_actions == () and again.done == ()
    reworded = (Action("risky-charts", "comment", {"body": "Charts changed."}),)
    edit = decide(evaluated(make_plan(actions=reworded)), done)
    assert [(a.edit_id, a.body.startswith("Charts changed.")) for a in edit.rule_actions] == [(21, True)]  # type: ignore[union-attr]


def test_the_check_name_comes_from_the_base_branch_settings_or_the_default() -> None:
    assert check_name(None) == "changebot"
    assert check_name(parse_settings({"version": 1}), "fallback") == "fallback"
    assert check_name(parse_settings({"version": 1, "github": {"check_name": "governance"}})) == "governance"
    assert check_name(parse_settings({"version": 1, "github": {"check_name": "  "}})) == "changebot"


def test_a_failure_updates_the_heads_check_run_with_the_reason() -> None:
    state = existing(check_runs=(ExistingRun(9, None),))
    decision = decide_failure(state, "governance", HEAD, "git fetch failed: no such ref\nmore", "details", NOW)
    assert decision.check_run is not None
    assert decision.check_run.update_id == 9
    assert decision.check_run.name == "governance"
    assert decision.check_run.fields["conclusion"] == "failure"
    assert decision.check_run.output["title"] == "changebot could not evaluate: git fetch failed: no such ref"
    assert decision.comment.action == "leave" and decision.rule_actions == ()
