"""Which PRs a merge group holds, and which overrides hold for it: every PR must carry one (fail closed)."""

from __future__ import annotations

from datetime import UTC, datetime

from changebot.core.overrides.group import group_numbers, group_overrides, queued_number
from changebot.model import GateId, Override

REF = "refs/heads/gh-readonly-queue/main/pr-12-929f8209d40f77f4abc622a499c93a83babdbe64"
AT = datetime(2026, 12, 5, tzinfo=UTC)


def test_the_queued_pr_comes_from_the_head_ref() -> None:
    assert queued_number(REF) == 12
    assert queued_number("refs/heads/feature") is None


def test_merge_and_squash_commits_name_their_prs() -> None:
    messages = ["Merge pull request #10 from o/a\n\nA", "Fix the thing (#11)", "Merge pull request #12 from o/b"]
    assert group_numbers(REF, messages) == (10, 11, 12)
    assert group_numbers(REF, ["anything at all"]) == (12,)


def test_an_unattributed_commit_makes_the_group_unknown() -> None:
    assert group_numbers(REF, ["rebased commit 1", "Merge pull request #12 from o/b"]) is None
    assert group_numbers(REF, ["Merge pull request #10 from o/a"]) is None  # the last one must be #12
    assert group_numbers("refs/heads/main", ["Merge pull request #12 from o/b"]) is None
    assert group_numbers(REF, []) is None


def _held(actor: str, gate: GateId = GateId.FREEZE) -> Override:
    return Override(gate, actor, "hotfix for the payments outage", AT, None, "a" * 40)


def test_an_override_holds_for_the_group_only_when_every_pr_has_one() -> None:
    alone = group_overrides({12: [_held("rel")]}, "f" * 40)
    assert [(o.actor, o.head_sha) for o in alone] == [("rel", "f" * 40)]
    assert group_overrides({11: [], 12: [_held("rel")]}, "f" * 40) == []
    both = group_overrides({11: [_held("a")], 12: [_held("b"), _held("b", GateId.BUDGET)]}, "f" * 40)
    assert sorted((o.gate, o.actor) for o in both) == [(GateId.FREEZE, "a"), (GateId.FREEZE, "b")]
    assert group_overrides({}, "f" * 40) == []
