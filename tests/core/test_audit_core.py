"""The freeze audit's comparisons: merges inside and outside windows, across DST, with and without overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from changebot.core.audit import PullSummary, audit
from changebot.core.freeze.windows import Window
from changebot.model import GateId, Override

DENVER = ZoneInfo("America/Denver")
# Weekend freeze in Denver local time on the weekend DST ends (2025-11-02 02:00 MDT -> 01:00 MST):
# Sat 2025-11-01 00:00 MDT (06:00Z) until Mon 2025-11-03 00:00 MST (07:00Z): 49 hours, not 48.
WEEKEND = Window(
    datetime(2025, 11, 1, tzinfo=DENVER), datetime(2025, 11, 3, tzinfo=DENVER), "Weekend freeze", "release-policy.yml"
)
EOQ = Window(
    datetime(2025, 12, 15, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC), "EOQ freeze", ".maestro/freeze_windows.json"
)
LISTED = Window(
    datetime(2025, 11, 10, tzinfo=UTC),
    datetime(2025, 11, 12, tzinfo=UTC),
    "Planned (inactive)",
    "release-policy.yml",
    enforced=False,
)
SINCE = datetime(2025, 10, 1, tzinfo=UTC)
UNTIL = datetime(2026, 1, 31, tzinfo=UTC)


def merged(number: int, at: datetime, branch: str = "main", sha: str = "h") -> PullSummary:
    return PullSummary(
        number, f"PR {number}", f"https://github.test/o/r/pull/{number}", branch, "dev", at, "merger", f"{sha}{number}"
    )


def freeze_override(granted: datetime, hours: int | None, sha: str | None, actor: str = "rm") -> Override:
    expires = granted + timedelta(hours=hours) if hours is not None else None
    return Override(GateId.FREEZE, actor, "hotfix for incident INC-42, approved", granted, expires, sha)


@pytest.mark.parametrize(
    ("merged_at", "flagged"),
    [
        (datetime(2025, 11, 1, 5, 59, 59, tzinfo=UTC), False),  # one second before Sat 00:00 MDT
        (datetime(2025, 11, 1, 6, 0, 0, tzinfo=UTC), True),  # Sat 00:00 MDT exactly: inside
        (datetime(2025, 11, 3, 6, 30, tzinfo=UTC), True),  # Sun 23:30 MST: inside (the extra DST hour)
        (datetime(2025, 11, 3, 7, 0, 0, tzinfo=UTC), False),  # Mon 00:00 MST: end is exclusive
        (datetime(2025, 11, 11, tzinfo=UTC), False),  # inside an inactive window: listed, not enforced
        (datetime(2025, 12, 24, 12, tzinfo=UTC), True),  # EOQ freeze
    ],
)
def test_merge_inside_enforced_window_is_flagged(merged_at: datetime, flagged: bool) -> None:
    report = audit([merged(1, merged_at)], [], [WEEKEND, EOQ, LISTED], {}, ["main"], SINCE, UNTIL, UNTIL, 14)
    assert [m.pr.number for m in report.merged_in_freeze] == ([1] if flagged else [])
    assert [m.pr.number for m in report.unauthorised] == ([1] if flagged else [])
    assert report.merged_checked == 1


def test_override_in_force_authorises_and_names_actor() -> None:
    at = datetime(2025, 12, 20, 15, tzinfo=UTC)
    ok = freeze_override(at - timedelta(hours=2), 24, "h7")
    report = audit([merged(7, at)], [], [EOQ], {7: [ok]}, ["main"], SINCE, UNTIL, UNTIL, 14)
    (merge,) = report.merged_in_freeze
    assert merge.authorised and merge.override == ok
    assert report.unauthorised == ()
    assert report.expired_unused == ()  # it was used


@pytest.mark.parametrize(
    "override",
    [
        freeze_override(datetime(2025, 12, 19, tzinfo=UTC), 12, "h8"),  # expired before the merge
        freeze_override(datetime(2025, 12, 20, 9, tzinfo=UTC), 24, "other-sha"),  # granted for another head
        freeze_override(datetime(2025, 12, 20, 16, tzinfo=UTC), 24, "h8"),  # granted after the merge
        Override(GateId.BUDGET, "rm", "budget is fine this month, really", datetime(2025, 12, 20, tzinfo=UTC)),
    ],
    ids=["expired", "other-head", "granted-later", "other-gate"],
)
def test_override_that_does_not_cover_the_merge_leaves_it_unauthorised(override: Override) -> None:
    at = datetime(2025, 12, 20, 15, tzinfo=UTC)
    report = audit([merged(8, at)], [], [EOQ], {8: [override]}, ["main"], SINCE, UNTIL, UNTIL, 14)
    assert [m.pr.number for m in report.unauthorised] == [8]


def test_other_branches_and_merges_outside_the_period_are_not_judged() -> None:
    inside = datetime(2025, 12, 20, tzinfo=UTC)
    prs = [merged(1, inside, branch="release/1.x"), merged(2, datetime(2025, 9, 30, tzinfo=UTC)), merged(3, inside)]
    report = audit(prs, [], [EOQ], {}, ["main"], SINCE, UNTIL, UNTIL, 14)
    assert [m.pr.number for m in report.merged_in_freeze] == [3]
    assert report.merged_checked == 1


def test_upcoming_lists_open_prs_on_governed_branches_only() -> None:
    now = datetime(2025, 12, 5, tzinfo=UTC)
    open_prs = [PullSummary(11, "feature", "u11", "main"), PullSummary(12, "docs", "u12", "gh-pages")]
    soon = audit([], open_prs, [EOQ, WEEKEND], {}, ["main"], SINCE, UNTIL, now, 14)
    assert [(u.pr.number, u.window.name) for u in soon.upcoming] == [(11, "EOQ freeze")]
    later = audit([], open_prs, [EOQ], {}, ["main"], SINCE, UNTIL, now, 7)
    assert later.upcoming == ()  # EOQ starts in 10 days, beyond a 7-day look-ahead


def test_expired_unused_override_is_reported() -> None:
    granted = datetime(2025, 12, 16, tzinfo=UTC)
    unused = freeze_override(granted, 24, "h21")
    open_pr = PullSummary(21, "big refactor", "u21", "main", head_sha="h21")
    report = audit([], [open_pr], [EOQ], {21: [unused]}, ["main"], SINCE, UNTIL, datetime(2025, 12, 20, tzinfo=UTC), 14)
    assert [(e.pr.number, e.override.actor) for e in report.expired_unused] == [(21, "rm")]
    not_yet = audit([], [open_pr], [EOQ], {21: [unused]}, ["main"], SINCE, UNTIL, granted + timedelta(hours=1), 14)
    assert not_yet.expired_unused == ()
