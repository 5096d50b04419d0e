"""Exact output of the freeze and budget renderers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from changebot.core.budget.gate import budget_gate
from changebot.core.freeze.gate import freeze_gate, read_calendar
from changebot.model import GateId, GateResult, Plan, PullRequest, Status, Verdict, skipped
from changebot.render.budget import render_budget_markdown, render_budget_text
from changebot.render.freeze import render_freeze_text, render_ics
from changebot.render.github import cost
from changebot.render.markdown import render_markdown
from tests.core.test_budget import FILES, NOW, ledger
from tests.support.freezekit import context

BUDGET_MARKDOWN = """\
### CI budget: warn (push run, lane `main`)

| step | runs | cost | basis |
|---|---|---:|---|
| `build` | yes | $0.10 | 12 min x $0.008/min |
| `test` | yes | $0.25 | cost_usd |
| `lint` | yes | $0.08 | default 10 min x $0.008/min |
| `migrate` | no | $0.50 | cost_usd |
| `deploy` | yes | $0.24 | 30 min x $0.008/min |
| `canary` | maybe: when: step_succeeded("deploy") && canary_slo_passed (undecided before the run) | $2.00 | cost_usd |

**low** $0.67 · **high** $2.67 · **per-run cap** $1.00

month 2025-12, lane main: spent $700.00; soft limit $800.00, hard limit $1,000.00; after this run $700.67 to $702.67

| severity | where | code | message |
|---|---|---|---|
| warning | `.maestro/pipeline.yaml:3` | `budget-run-cap-risk` | this run may cost up to $2.67, over the per-run cap \
hard_cap_usd $1.00 (at least $0.67) |
"""


def test_budget_text_says_why_a_step_may_run() -> None:
    gate = budget_gate(context(FILES, NOW, event="push", base_branch="main"), ledger("2025-12-01,main,700,"))
    lines = render_budget_text(gate).splitlines()
    canary = next(i for i, line in enumerate(lines) if line.lstrip().startswith("canary "))
    assert lines[canary + 1].strip() == (
        'may run: when: step_succeeded("deploy") && canary_slo_passed (undecided before the run)'
    )
    assert sum("may run:" in line for line in lines) == 1


def test_budget_markdown() -> None:
    # push to main: low 0.096 + 0.25 + 0.08 + 0.24 = 0.666; high + canary 2.00 = 2.666
    # lane main: soft 1000 x 1.0 x 0.8 = $800, hard $1,000; 700 + 0.666 = 700.67, 700 + 2.666 = 702.67
    gate = budget_gate(context(FILES, NOW, event="push", base_branch="main"), ledger("2025-12-01,main,700,"))
    assert render_budget_markdown(gate) == BUDGET_MARKDOWN


CALENDAR = {
    "release-policy.yml": """\
freeze:
  timezone: Europe/Berlin
  windows:
    - {name: Christmas, start: "2025-12-24T12:00:00", end: "2025-12-27T00:00:00"}
    - {name: Drill, start: "2025-12-22T10:00:00", end: "2025-12-22T11:00:00", active: false}
""",
}
FREEZE_TEXT = """\
branch main at 2025-12-24T12:30:00+00:00: FROZEN
  frozen by 'Christmas'; the branch opens at 2025-12-27T00:00:00+01:00
  opens at: 2025-12-26T23:00:00+00:00

freeze windows from now to 3 day(s) ahead:
  2025-12-24T12:00:00+01:00 -> 2025-12-27T00:00:00+01:00  Christmas  (release-policy.yml:4)

findings:
  release-policy.yml:4: error[freeze-active] branch 'main' is frozen by 'Christmas' from \
2025-12-24T12:00:00+01:00 until 2025-12-27T00:00:00+01:00 (end exclusive); the branch opens at \
2025-12-27T00:00:00+01:00
"""


def test_freeze_text_and_ics() -> None:
    now = datetime(2025, 12, 24, 12, 30, tzinfo=UTC)
    ctx = context(CALENDAR, now.isoformat())
    gate = freeze_gate(ctx, ())
    calendar, _, _ = read_calendar(ctx)
    windows = calendar.windows(now, now + timedelta(days=3))
    assert render_freeze_text(gate, windows, now, 3) == FREEZE_TEXT
    everything = calendar.windows(now - timedelta(days=5), now + timedelta(days=5))
    ics = render_ics(everything, now)
    assert ics.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//changebot//freeze calendar//EN\r\n")
    assert "SUMMARY:Freeze: Drill (not enforced)\r\nDTSTART:20251222T090000Z\r\nDTEND:20251222T100000Z\r\n" in ics
    assert "SUMMARY:Freeze: Christmas\r\nDTSTART:20251224T110000Z\r\nDTEND:20251226T230000Z\r\n" in ics
    assert "TRANSP:TRANSPARENT" in ics


def test_the_action_cost_output_is_the_budget_gate_low_estimate() -> None:
    gate = budget_gate(context(FILES, NOW, event="push", base_branch="main"), ledger("2025-12-01,main,700,"))
    plan = Plan(Verdict.WARN, (gate,), datetime(2025, 12, 20, tzinfo=UTC), PullRequest(), "repo", None, None)
    assert cost(plan) == "0.67"
    unpriced = replace(plan, gates=(skipped(GateId.BUDGET, "no pipeline"),))
    assert cost(unpriced) == ""


def _freeze_markdown(files: dict[str, str], now: str, branch: str = "main") -> tuple[GateResult, str]:
    gate = freeze_gate(context(files, now, base_branch=branch), [])
    plan = Plan(Verdict.FAIL, (gate,), datetime.fromisoformat(now), PullRequest(base_branch=branch), "o/r", None, None)
    return gate, render_markdown(plan)


def test_a_frozen_comment_says_who_may_override_and_how() -> None:
    who = "version: 1\noverrides:\n  freeze: {who: [release-captain], expires_max: 12h}\n"
    settings = {".maestro/changebot.yaml": who}
    _, markdown = _freeze_markdown({**CALENDAR, **settings}, "2025-12-24T12:30:00Z")
    assert (
        "> :key: To merge during the freeze, someone with the **release-captain** role on this repository can "
        'comment `/changebot override freeze --reason "…"` (at least 20 characters; `--expires` up to 12h).'
    ) in markdown


def test_a_frozen_comment_says_when_overrides_are_not_allowed() -> None:
    policy = CALENDAR["release-policy.yml"] + "override: {allowed: false}\n"
    _, markdown = _freeze_markdown({"release-policy.yml": policy}, "2025-12-24T12:30:00Z")
    assert "> :lock: Overrides of the freeze are not allowed here (release-policy.yml override:)." in markdown
    assert "/changebot override" not in markdown


def test_an_open_branch_gets_no_override_hint() -> None:
    gate, markdown = _freeze_markdown(CALENDAR, "2025-12-20T12:30:00Z")
    assert gate.status is not Status.FAIL and ":key:" not in markdown


def test_a_broken_calendar_on_an_unfrozen_branch_says_the_gate_fails_closed() -> None:
    window = '{"name": "EOQ", "from": "2026-01-05T00:00:00Z", "to": "2025-12-15T00:00:00Z"}'
    broken = {".maestro/freeze_windows.json": f"[{window}]"}
    gate, _ = _freeze_markdown({**CALENDAR, **broken}, "2025-12-20T12:30:00Z", branch="pr3")
    assert gate.status is Status.FAIL
    assert gate.summary.startswith("the freeze calendar has errors; failing closed (branch 'pr3' is not a frozen")
