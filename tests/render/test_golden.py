"""Golden files: every Markdown variant changebot posts, compared byte for byte with tests/render/golden/*.md.

Each variant is built from fixed inputs (a fixed ``now``, ``examples/payments``, a summit-shaped patch series
in a temp repository, or values made here) through the public functions, so a change to any renderer, to the
sticky comment's markers or to a gate's summary shows up as a diff here. A mismatch prints a unified diff.

When a change of output is intended, regenerate the files and review the diff in git::

    CHANGEBOT_UPDATE_GOLDEN=1 python -m pytest tests/render/test_golden.py
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from changebot.core.audit import PullSummary, audit
from changebot.core.freeze.windows import Window
from changebot.core.verdict import verdict
from changebot.model import ChangedFile, GateId, GateResult, Override, Plan, PullRequest
from changebot.render.audit import render_audit_markdown
from changebot.render.budget import render_budget_markdown
from changebot.render.github import check_output, overrides_section, rule_comment, sticky_body
from changebot.render.replies import (
    error_reply,
    gate_reply,
    gates_reply,
    override_granted,
    override_refused,
    with_marker,
)
from changebot.render.sequence import render_sequence_markdown
from changebot.usecases import plan as plan_uc
from tests.support import seriesfactory as sf
from tests.support.repos import EXAMPLES, GitRepo

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CHANGEBOT_UPDATE_GOLDEN") == "1"

HEAD = "5f0c6be1a2d3e4f5061728394a5b6c7d8e9f0a1b"
OPEN = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)  # payments: open, the v3.4 code freeze starts in 8h
FROZEN = datetime(2026, 1, 17, 12, 0, tzinfo=UTC)  # payments: weekend freeze and code freeze
PR = PullRequest(
    number=42,
    base_branch="main",
    head_branch="ledger-idempotency",
    head_sha=HEAD,
    author="maria",
    title="Ledger: idempotent postings",
    files=(ChangedFile("M", "services/ledger/postings.py"), ChangedFile("A", "migrations/0042_idempotency.sql")),
)
BREAK_GLASS = Override(
    GateId.FREEZE,
    "release-captain",
    "hotfix | CVE-2026-0001 --> ships <now>\nsecond line",
    datetime(2026, 1, 17, 11, 30, tzinfo=UTC),
    datetime(2026, 1, 17, 15, 30, tzinfo=UTC),
    HEAD,
)
FOR_ANY_HEAD = Override(GateId.BUDGET, "finops-lead", "month-end batch, approved in FIN-7", FROZEN, None, None)


def check_golden(name: str, actual: str) -> None:
    """``actual`` equals ``golden/<name>.md`` exactly (or rewrites it when ``CHANGEBOT_UPDATE_GOLDEN=1``)."""
    path = GOLDEN / f"{name}.md"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return
    assert path.is_file(), f"{path} is missing: run with CHANGEBOT_UPDATE_GOLDEN=1 to write it"
    expected = path.read_bytes().decode("utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            f"golden/{name}.md",
            "rendered",
        )
        pytest.fail(f"{name} differs from its golden file:\n{''.join(diff)}", pytrace=False)


def payments_plan(now: datetime, overrides: tuple[Override, ...] = ()) -> Plan:
    """The plan of ``examples/payments`` for PR 42 at ``now`` (the repository path is not shown in Markdown)."""
    co = plan_uc.checkout(EXAMPLES / "payments")
    in_force = [o for o in overrides if o.in_force(now, HEAD)]
    return plan_uc.plan(plan_uc.context(co, PR, now), overrides=in_force)


@pytest.fixture(scope="module")
def open_plan() -> Plan:
    return payments_plan(OPEN)


@pytest.fixture(scope="module")
def frozen_plan() -> Plan:
    return payments_plan(FROZEN)


@pytest.fixture(scope="module")
def sequence_gate(tmp_path_factory: pytest.TempPathFactory) -> GateResult:
    """The sequence gate of a summit-shaped series (duplicate, revert, rename, binary, empty commit)."""
    root = tmp_path_factory.mktemp("golden-series")
    repo = GitRepo(root / "repo")
    repo.commit(sf.BASE_FILES, "initial")
    sf.publish(repo, sf.summit_series(repo, root / "out"))
    co = plan_uc.checkout(repo.path, "main", "head")
    ctx = plan_uc.context(co, replace(PR, files=()), datetime(2025, 9, 20, 12, tzinfo=UTC))
    return plan_uc.sequence_result(ctx)


def test_plan_comment_as_posted(open_plan: Plan) -> None:
    check_golden("plan_comment", sticky_body(open_plan, HEAD, [], []))


def test_check_run_summary(open_plan: Plan) -> None:
    output = check_output(open_plan, [])
    assert output["title"] == "fail: 3 errors, 1 warning"
    check_golden("check_run_summary", output["summary"])


def test_frozen_comment_with_the_gantt_chart(frozen_plan: Plan) -> None:
    check_golden("frozen_comment", sticky_body(frozen_plan, HEAD, [], []))


def test_frozen_comment_with_an_override_in_force() -> None:
    stored = (BREAK_GLASS, FOR_ANY_HEAD)
    overridden = payments_plan(FROZEN, stored)
    check_golden("frozen_comment_overridden", sticky_body(overridden, HEAD, stored, stored))


def test_overrides_section() -> None:
    check_golden("overrides_section", overrides_section([BREAK_GLASS, FOR_ANY_HEAD]))


def test_sequence_graph(sequence_gate: GateResult) -> None:
    check_golden("sequence_graph", render_sequence_markdown(sequence_gate))


def test_plan_comment_with_the_sequence_graph(sequence_gate: GateResult) -> None:
    now = datetime(2025, 9, 20, 12, tzinfo=UTC)
    plan = Plan(verdict([sequence_gate]), (sequence_gate,), now, replace(PR, number=10179), "o/r", "main", "head")
    check_golden("plan_comment_with_sequence", sticky_body(plan, HEAD, [], []))


def test_budget_price_list(open_plan: Plan) -> None:
    budget = next(g for g in open_plan.gates if g.id is GateId.BUDGET)
    check_golden("budget_price_list", render_budget_markdown(budget))


def test_audit_issue_body() -> None:
    now = datetime(2025, 12, 22, 12, tzinfo=UTC)
    eoq = Window(
        datetime(2025, 12, 15, tzinfo=UTC),
        datetime(2026, 1, 5, tzinfo=UTC),
        "EOQ freeze",
        ".maestro/freeze_windows.json",
    )
    later = Window(
        datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC), "Black | Friday: <b>", "calendar.yml"
    )
    granted = Override(
        GateId.FREEZE,
        "release-captain",
        "security fix CVE-2025-1234 must ship now",
        datetime(2025, 12, 20, 8, tzinfo=UTC),
        datetime(2025, 12, 21, 8, tzinfo=UTC),
        "s2",
    )
    unused = Override(
        GateId.FREEZE, "ops", "never merged", datetime(2025, 12, 16, tzinfo=UTC), datetime(2025, 12, 17, tzinfo=UTC)
    )
    url = "https://github.test/o/r/pull/{}".format
    merged = [
        PullSummary(
            1, "Fix | pipes in title", url(1), "main", "a", datetime(2025, 12, 18, 9, tzinfo=UTC), "maria", "s1"
        ),
        PullSummary(2, "CVE fix", url(2), "main", "b", datetime(2025, 12, 20, 9, tzinfo=UTC), "maria", "s2"),
        PullSummary(3, "Before freeze", url(3), "main", "c", datetime(2025, 12, 1, tzinfo=UTC), "maria", "s3"),
    ]
    still_open = [PullSummary(4, "Next feature", url(4), "main"), PullSummary(5, "Docs", url(5), "main")]
    report = audit(
        merged,
        still_open,
        [eoq, later],
        {2: [granted], 5: [unused]},
        ["main"],
        datetime(2025, 12, 1, tzinfo=UTC),
        now,
        now,
        28,
    )
    check_golden("audit_issue", render_audit_markdown(report))


REPLIES: dict[str, Callable[[Plan], str]] = {
    "reply_gates": gates_reply,
    "reply_gate_freeze": lambda plan: gate_reply(plan, GateId.FREEZE),
    "reply_gate_not_evaluated": lambda plan: gate_reply(replace(plan, gates=plan.gates[:2]), GateId.SEQUENCE),
    "reply_override_granted": lambda _: override_granted(BREAK_GLASS),
    "reply_override_granted_any_head": lambda _: override_granted(FOR_ANY_HEAD),
    "reply_override_refused": lambda _: override_refused("@maria may not override the freeze gate (not in owners)"),
    "reply_error": lambda _: error_reply("the base commit 0badc0de could not be read"),
}


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_slash_command_replies(name: str, frozen_plan: Plan) -> None:
    check_golden(name, with_marker(REPLIES[name](frozen_plan), 1234567, "maria"))


def test_rule_comment(open_plan: Plan) -> None:
    action = next(a for a in open_plan.actions if a.do == "comment")
    check_golden("rule_comment", rule_comment(action.rule, str(action.with_["body"])))


def test_golden_files_are_all_used() -> None:
    """A golden file no test writes is stale: delete it."""
    names = {
        "plan_comment",
        "check_run_summary",
        "frozen_comment",
        "frozen_comment_overridden",
        "overrides_section",
        "sequence_graph",
        "plan_comment_with_sequence",
        "budget_price_list",
        "audit_issue",
        "rule_comment",
        *REPLIES,
    }
    assert {p.stem for p in GOLDEN.glob("*.md")} == names
