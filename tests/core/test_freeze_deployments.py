"""``core.freeze.deployments.review``: what a deployment to an environment gets, at an instant. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from changebot.core.documents import schema
from changebot.core.documents.load import load_any
from changebot.core.freeze.deployments import Approve, Reject, Wait, refused, review
from changebot.model import Finding, GateId, Override
from tests.support.freezekit import context

WEEKEND = """\
pipeline: {name: p, steps: [{id: a, run: x}]}
freeze_windows:
  - {name: weekend, start: "FRI 17:00 Europe/Dublin", end: "MON 09:00 Europe/Dublin"}
"""
SETTINGS = """\
deployments:
  production: {branch: main}
  staging: {branch: main, during_freeze: wait}
  preview: {branch: preview}
"""
SATURDAY = "2026-12-05T12:00:00+00:00"
THURSDAY = "2026-12-03T12:00:00+00:00"


def files(pipeline: str = WEEKEND, settings: str = SETTINGS) -> dict[str, str]:
    return {".maestro/pipeline.yaml": pipeline, ".maestro/changebot.yaml": settings}


def test_outside_a_freeze_every_governed_environment_is_approved() -> None:
    ctx = context(files(), THURSDAY)
    for environment in ("production", "staging"):
        decision = review(ctx, environment)
        assert isinstance(decision, Approve)
        assert "no freeze window covers 'main' now" in decision.comment


def test_during_a_freeze_reject_names_the_window_and_its_end_and_wait_waits_until_then() -> None:
    ctx = context(files(), SATURDAY)
    rejected = review(ctx, "production")
    assert rejected == Reject(
        "'main' is frozen by 'weekend' until 2026-12-07T09:00:00+00:00: deployments to 'production' are rejected "
        "during a freeze",
        "weekend",
        datetime(2026, 12, 7, 9, tzinfo=UTC),
    )
    waiting = review(ctx, "staging")
    assert isinstance(waiting, Wait)
    assert (waiting.window, waiting.ends) == ("weekend", datetime(2026, 12, 7, 9, tzinfo=UTC))


def test_a_branch_that_is_not_frozen_deploys_during_the_freeze() -> None:
    assert isinstance(review(context(files(), SATURDAY), "preview"), Approve)


def test_a_freeze_override_on_the_deployed_commits_pull_request_approves_naming_it() -> None:
    override = Override(GateId.FREEZE, "alice", "INC-4411 payments hotfix", datetime(2026, 12, 5, 11, tzinfo=UTC))
    decision = review(context(files(), SATURDAY), "production", [(8, override)])
    assert decision == Approve(
        "'main' is frozen by 'weekend' until 2026-12-07T09:00:00+00:00, but pull request #8 carries a freeze "
        "override by alice: 'INC-4411 payments hotfix'; 'production' may deploy",
        override,
    )


def test_a_calendar_with_errors_rejects_even_outside_its_windows() -> None:
    broken = WEEKEND + '  - {name: broken, start: "FRY 17:00 UTC", end: "MON 09:00 UTC"}\n'
    decision = review(context(files(broken), THURSDAY), "production")
    assert isinstance(decision, Reject)
    assert decision.comment.startswith("the freeze calendar of 'main' has errors; failing closed")


def test_no_calendar_approves_saying_so() -> None:
    decision = review(context({".maestro/changebot.yaml": SETTINGS}, SATURDAY), "production")
    assert decision == Approve("no freeze calendar governs 'main': 'production' may deploy")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("deployments: {production: {during_freeze: soon}}\n", "during_freeze in .maestro/changebot.yaml:1"),
        ("deployments: {production: main}\n", "deployments.production in .maestro/changebot.yaml:1 must be"),
        ("deployments: {}\n", "environment 'production' is not governed by changebot"),
    ],
)
def test_unusable_settings_reject(settings: str, expected: str) -> None:
    decision = review(context(files(settings=settings), THURSDAY), "production")
    assert isinstance(decision, Reject)
    assert expected in decision.comment


def test_a_freeze_lasting_past_the_horizon_rejects_even_when_the_environment_would_wait() -> None:
    pipeline = (
        "pipeline: {name: p, steps: [{id: a, run: x}]}\nfreeze_windows:\n"
        '  - {name: long, from: "2026-12-01T00:00:00Z", to: "2028-01-01T00:00:00Z"}\n'
    )
    settings = "freeze: {horizon_days: 30}\ndeployments: {staging: {branch: main, during_freeze: wait}}\n"
    decision = review(context(files(pipeline, settings), SATURDAY), "staging")
    assert isinstance(decision, Reject)
    assert "frozen by 'long' past the horizon" in decision.comment


def test_a_wait_that_nothing_can_hold_becomes_a_rejection_naming_the_window() -> None:
    waiting = review(context(files(), SATURDAY), "staging")
    assert isinstance(waiting, Wait)
    assert refused(waiting, "no schedule") == Reject(
        "'main' is frozen by 'weekend' until 2026-12-07T09:00:00+00:00: no schedule",
        "weekend",
        datetime(2026, 12, 7, 9, tzinfo=UTC),
    )


def test_the_schema_gate_names_a_bad_deployments_entry_on_a_pull_request() -> None:
    def findings(text: str) -> list[Finding]:
        loaded = load_any(".maestro/changebot.yaml", text.encode())
        assert loaded.document is not None
        return schema.findings_for(loaded.document, schema.validator("changebot"), "changebot schema", 3)

    [found] = findings("version: 1\ndeployments:\n  production: {branch: main, during_freeze: later}\n")
    assert found.line == 3
    assert "$.deployments.production.during_freeze" in found.message
    assert findings(SETTINGS) == []
