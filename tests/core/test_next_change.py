"""``next_change`` against brute force: the real freeze gate judged at every instant an edge could fall on.

The generated calendars put every edge on a whole hour (weekly windows in UTC and Europe/Dublin, absolute
windows, whole-hour look-aheads and override expiries), so checking every whole hour between ``now`` and the
answer is exhaustive: the gate's status, the overrides in force and the month must not move before the answer,
and must have moved at it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from changebot.core.context import Context
from changebot.core.freeze.gate import freeze_gate, read_calendar
from changebot.core.next_change import ChangeKind, Clockwork, next_change, state_at
from changebot.model import GateId, Override, Severity, Status
from tests.support.freezekit import context

DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
HORIZON = timedelta(days=9)
HEAD = "a" * 40
START = datetime(2026, 3, 20, tzinfo=UTC)  # ten days before Europe/Dublin's clocks change


@st.composite
def cases(draw: st.DrawFn) -> tuple[Context, tuple[Override, ...], datetime, bool]:
    weekly = [
        {
            "name": f"w{i}",
            "start": f"{draw(st.sampled_from(DAYS))} {draw(st.integers(0, 23)):02d}:00 {zone}",
            "end": f"{draw(st.sampled_from(DAYS))} {draw(st.integers(0, 23)):02d}:00 {zone}",
        }
        for i, zone in enumerate(draw(st.lists(st.sampled_from(["UTC", "Europe/Dublin"]), max_size=2)))
    ]
    absolute = []
    for i in range(draw(st.integers(0, 3))):
        begin = START + timedelta(hours=draw(st.integers(0, 24 * 16)))
        end = begin + timedelta(hours=draw(st.integers(1, 24 * 4)))
        absolute.append({"name": f"a{i}", "from": begin.isoformat(), "to": end.isoformat()})
    files = {".maestro/freeze_windows.json": json.dumps(absolute)}
    if weekly:
        lines = ["freeze_windows:"] + [
            f"  - {{name: {w['name']}, start: {w['start']}, end: {w['end']}}}" for w in weekly
        ]
        files[".maestro/pipeline.yaml"] = "\n".join(lines) + "\n"
    lookahead = draw(st.integers(0, 72))
    branches = draw(st.sampled_from([["main"], ["release/*"]]))
    files[".maestro/changebot.yaml"] = f"freeze: {{lookahead_hours: {lookahead}, branches: {json.dumps(branches)}}}\n"
    now = START + timedelta(minutes=draw(st.integers(0, 24 * 60 * 14)))
    overrides = tuple(
        Override(
            GateId.FREEZE,
            f"actor{i}",
            "a reason long enough to count",
            START,
            START + timedelta(hours=draw(st.integers(1, 24 * 20))),
            HEAD,
        )
        for i in range(draw(st.integers(0, 2)))
    )
    monthly = draw(st.booleans())
    ctx = context(files, now.isoformat(), base_branch="main", head_sha=HEAD)
    return ctx, overrides, now, monthly


def _observed(ctx: Context, read: object, overrides: tuple[Override, ...], at: datetime, monthly: bool) -> object:
    """What the user sees change with time alone, from the real gate."""
    result = freeze_gate(replace(ctx, now=at), overrides, read)  # type: ignore[arg-type]
    said = frozenset(f.code for f in result.findings if f.severity is not Severity.NOTICE)
    in_force = frozenset(o for o in overrides if o.in_force(at, HEAD))
    return result.status, said, in_force, (at.year, at.month) if monthly else None


@settings(max_examples=100, deadline=None)
@given(cases())
def test_no_edge_is_missed_and_none_is_invented(case: tuple[Context, tuple[Override, ...], datetime, bool]) -> None:
    ctx, overrides, now, monthly = case
    read = read_calendar(ctx)
    work = Clockwork.of(ctx, overrides, monthly)
    change = next_change(work, now, HORIZON)
    first = _observed(ctx, read, overrides, now, monthly)
    until = change.at if change is not None else now + HORIZON
    hour = now.replace(minute=0) + timedelta(hours=1)
    while hour < until:
        assert _observed(ctx, read, overrides, hour, monthly) == first, f"missed an edge at {hour}"
        hour += timedelta(hours=1)
    if change is not None:
        assert now < change.at <= now + HORIZON
        assert _observed(ctx, read, overrides, change.at, monthly) != first, f"nothing changes at {change}"
        assert state_at(work, change.at) != state_at(work, now)


def _weekend(now: str, **settings_: str) -> Context:
    pipeline = (
        'freeze_windows:\n  - {name: weekend, start: "FRI 17:00 Europe/Dublin", end: "MON 09:00 Europe/Dublin"}\n'
    )
    return context({".maestro/pipeline.yaml": pipeline, **settings_}, now, base_branch="main", head_sha=HEAD)


def test_thursday_sees_the_warning_then_the_freeze_then_the_end() -> None:
    ctx = _weekend("2026-12-03T12:00:00+00:00")  # a Thursday
    work = Clockwork.of(ctx)
    warn = next_change(work, ctx.now)
    assert warn is not None and (warn.at, warn.kind) == (
        datetime(2026, 12, 3, 17, tzinfo=UTC),
        ChangeKind.FREEZE_UPCOMING,
    )
    start = next_change(work, warn.at)
    assert start is not None and (start.at, start.kind) == (
        datetime(2026, 12, 4, 17, tzinfo=UTC),
        ChangeKind.FREEZE_STARTS,
    )
    assert start.window is not None and start.window.name == "weekend"
    end = next_change(work, start.at)
    assert end is not None and (end.at, end.kind) == (datetime(2026, 12, 7, 9, tzinfo=UTC), ChangeKind.FREEZE_ENDS)


def test_an_override_expiring_during_the_freeze_is_the_next_change() -> None:
    ctx = _weekend("2026-12-05T10:00:00+00:00")
    override = Override(
        GateId.FREEZE, "rel", "hotfix for the outage", ctx.now, datetime(2026, 12, 5, 14, tzinfo=UTC), HEAD
    )
    change = next_change(Clockwork.of(ctx, (override,)), ctx.now)
    assert change is not None and (change.at, change.kind, change.override) == (
        datetime(2026, 12, 5, 14, tzinfo=UTC),
        ChangeKind.OVERRIDE_EXPIRES,
        override,
    )


def test_an_unfrozen_branch_changes_only_with_the_month() -> None:
    ctx = _weekend("2026-12-05T10:00:00+00:00", **{".maestro/changebot.yaml": "freeze: {branches: [release/*]}\n"})
    assert next_change(Clockwork.of(ctx), ctx.now) is None
    change = next_change(Clockwork.of(ctx, monthly=True), ctx.now)
    assert change is not None and (change.at, change.kind) == (
        datetime(2027, 1, 1, tzinfo=UTC),
        ChangeKind.MONTH_ROLLS_OVER,
    )
    assert freeze_gate(ctx, ()).status is Status.PASS
