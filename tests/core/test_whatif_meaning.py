"""The governance diff in meaning: one sentence per change, per file kind, pinned word for word."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from changebot.core.context import make_context
from changebot.core.settings import DEFAULT_SETTINGS
from changebot.core.whatif.meaning import meaning
from changebot.model import PullRequest, RepoFiles

NOW = datetime(2025, 9, 17, 12, 0, tzinfo=UTC)


def texts(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    def side(files: Mapping[str, str]) -> RepoFiles:
        raw = {p: t.encode() for p, t in files.items()}
        return RepoFiles("x", "x", raw, frozenset(raw))

    before, after = side(old), side(new)
    ctx_old = make_context(before, before, PullRequest(), NOW, DEFAULT_SETTINGS)
    ctx_new = make_context(after, after, PullRequest(), NOW, DEFAULT_SETTINGS)
    return [f"{m.kind}: {m.text}" for m in meaning(ctx_old, ctx_new, NOW)]


def test_a_weekly_window_moved_in_its_zone() -> None:
    policy = (
        "freeze:\n  timezone: Europe/Dublin\n  windows:\n    - name: weekend freeze\n"
        "      rrule: 'FREQ=WEEKLY;BYDAY=FR;BYHOUR=17'\n      duration: PT63H\n"
    )
    earlier = policy.replace("BYHOUR=17", "BYHOUR=16").replace("PT63H", "PT64H")
    assert texts({"release-policy.yml": policy}, {"release-policy.yml": earlier}) == [
        "calendar: window 'weekend freeze' now starts Fri 16:00 instead of Fri 17:00 (Europe/Dublin)"
    ]


def test_windows_added_and_removed() -> None:
    old = '[{"name": "EOQ", "from": "2025-12-15T00:00:00Z", "to": "2026-01-05T00:00:00Z"}]'
    new = '[{"name": "New year", "from": "2025-12-31T00:00:00Z", "to": "2026-01-02T00:00:00Z"}]'
    assert texts({".maestro/freeze_windows.json": old}, {".maestro/freeze_windows.json": new}) == [
        "calendar: window 'New year' added: next from 2025-12-31T00:00:00+00:00 to 2026-01-02T00:00:00+00:00 (UTC)",
        "calendar: window 'EOQ' removed (next was 2025-12-15T00:00:00+00:00 to 2026-01-05T00:00:00+00:00, UTC)",
    ]


def test_rules_by_id_and_labels() -> None:
    rule = {"id": "risk-high", "when": {"==": [1, 1]}, "then": [{"do": "label", "with": {"labels": ["risk:high"]}}]}
    changed = json.loads(json.dumps(rule))
    changed["then"][0]["with"]["labels"] = ["risk:high", "needs-sre"]
    changed["if"] = "payload.files.length > 3"
    gone = {"id": "old", "then": [{"do": "comment", "with": {"body": "hi"}}]}
    assert texts({".maestro/rules.json": json.dumps([rule, gone])}, {".maestro/rules.json": json.dumps([changed])}) == [
        "rules: rule 'risk-high' now also labels needs-sre",
        "rules: rule 'risk-high' now matches if payload.files.length > 3 (was null)",
        "rules: rule 'old' removed",
    ]


def test_pipeline_budget_policy_and_settings() -> None:
    pipeline = "pipeline:\n  budgets: {hard_cap_usd: 25}\n  steps:\n    - {id: build, run: make, cost_usd: 0.1}\n"
    new_pipeline = (
        "pipeline:\n  budgets: {hard_cap_usd: 20}\n  steps:\n"
        "    - {id: build, run: make, cost_usd: 0.2, when: 'event == \"push\"'}\n"
    )
    old = {
        ".maestro/pipeline.yaml": pipeline,
        ".maestro/ci_budget.json": '{"monthlyUsd": 1800, "softPct": 0.85, "hardPct": 1.0}',
        ".maestro/policies/gate.rego": "package gate\n\ndeny contains msg if {\n  false\n  msg := 1\n}\n",
        ".maestro/changebot.yaml": "freeze:\n  lookahead_hours: 24\n",
    }
    new = {
        ".maestro/pipeline.yaml": new_pipeline,
        ".maestro/ci_budget.json": '{"monthlyUsd": 2000, "softPct": 0.85, "hardPct": 1.0}',
        ".maestro/policies/gate.rego": "package gate\n\nwarn contains msg if {\n  true\n  msg := 1\n}\n",
        ".maestro/changebot.yaml": "freeze:\n  lookahead_hours: 48\n",
    }
    assert texts(old, new) == [
        "pipeline: the per-run cap is now $20.00 (was $25.00)",
        "pipeline: step 'build' now runs when event == \"push\" (was always)",
        "pipeline: step 'build' now costs $0.20 (was $0.10)",
        "budget: monthlyUsd is now 2000 (was 1800)",
        "policy: policy changed: now defines warn; no longer defines deny",
        "settings: freeze.lookahead_hours is now 48 (was 24)",
    ]


def test_nothing_changed_means_nothing() -> None:
    files = {".maestro/rules.json": "[]", ".maestro/pipeline.yaml": "pipeline:\n  steps: []\n"}
    assert texts(files, files) == []


def test_what_the_new_version_cannot_read_is_said_first() -> None:
    policy = "freeze:\n  windows:\n    - name: Weekend freeze\n      rrule: 'FREQ=WEEKLY;BYDAY=SA,SU'\n"
    broken = policy.replace("SA,SU", "SA,SUN")
    assert texts({"release-policy.yml": policy}, {"release-policy.yml": broken}) == [
        "calendar: cannot be read at line 4: window 'Weekend freeze': rrule 'FREQ=WEEKLY;BYDAY=SA,SUN' is not an "
        "RFC 5545 recurrence rule (invalid 'BYDAY': SA,SUN)",
        "calendar: window 'Weekend freeze' removed (next was Sat 00:00 to Sun 00:00, UTC)",
    ]
