"""Renderers: exact expected output for a small fixed plan."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from changebot.core.policy.rules import RuleResult, RulesDetail
from changebot.model import (
    Action,
    ChangedFile,
    GateId,
    GateResult,
    Plan,
    PullRequest,
    Status,
    Verdict,
    error,
    skipped,
    warning,
)
from changebot.render.json import render_json
from changebot.render.markdown import render_markdown
from changebot.render.text import action_words, render_findings, render_text
from tests.support.repos import REPO_ROOT

ACTIONS = (Action("r1", "label", {"labels": ["needs:review"]}),)
PLAN = Plan(
    verdict=Verdict.FAIL,
    gates=(
        GateResult(
            GateId.SCHEMA,
            Status.FAIL,
            "1 error(s), 1 warning(s) in 2 of 3 file(s)",
            (
                error("schema-type", "$.id: expected a string, found 7 | bad", ".maestro/changes/a.yaml", 4, 9),
                warning("stale-plan", "plan <v1> is old", ".maestro/plan-a.yaml"),
            ),
        ),
        GateResult(
            GateId.RULES,
            Status.PASS,
            "2 rule(s) matched",
            detail=RulesDetail((RuleResult("r1", True, actions=("label",)), RuleResult("r2", True)), ACTIONS),
        ),
        skipped(GateId.POLICY, "not built"),
    ),
    now=datetime(2025, 9, 20, 12, 0, tzinfo=UTC),
    pr=PullRequest(number=7, base_branch="main", labels=("risk:high",), files=(ChangedFile("M", "a.txt"),)),
    repo="examples/payments",
    base="main",
    head="feature",
    actions=ACTIONS,
)


def test_text() -> None:
    assert render_text(PLAN) == (
        "changebot plan for examples/payments (main -> feature) at 2025-09-20T12:00:00+00:00\n"
        "\n"
        "  fail    schema    1 error(s), 1 warning(s) in 2 of 3 file(s)\n"
        "            .maestro/changes/a.yaml:4:9: error[schema-type] $.id: expected a string, found 7 | bad\n"
        "            .maestro/plan-a.yaml: warning[stale-plan] plan <v1> is old\n"
        "  pass    rules     2 rule(s) matched\n"
        "  skipped policy    not built\n"
        "\n"
        "planned actions:\n"
        "  - r1: label needs:review\n"
        "\n"
        "verdict: FAIL (1 failed, 0 warned, 1 passed, 1 skipped)\n"
    )


def test_text_in_colour_paints_statuses() -> None:
    out = render_text(PLAN, colour=True)
    assert "\x1b[31mfail   \x1b[0m schema" in out
    assert "verdict: \x1b[31mFAIL\x1b[0m" in out


def test_findings_list() -> None:
    assert render_findings(list(PLAN.gates[0].findings)) == (
        ".maestro/changes/a.yaml:4:9: error[schema-type] $.id: expected a string, found 7 | bad\n"
        ".maestro/plan-a.yaml: warning[stale-plan] plan <v1> is old\n"
        "1 error(s), 1 warning(s)\n"
    )


def test_markdown() -> None:
    assert render_markdown(PLAN) == (
        "### changebot: :x: **fail**\n"
        "\n"
        "| gate | status | summary |\n"
        "|---|---|---|\n"
        "| schema | :x: fail | 1 error(s), 1 warning(s) in 2 of 3 file(s) |\n"
        "| rules | :white_check_mark: pass | 2 rule(s) matched |\n"
        "| policy | :fast_forward: skipped | not built |\n"
        "\n"
        "<details open><summary>:x: <b>schema</b>: 1 error(s), 1 warning(s) in 2 of 3 file(s)</summary>\n"
        "\n"
        "| severity | where | code | message |\n"
        "|---|---|---|---|\n"
        "| error | `.maestro/changes/a.yaml:4:9` | `schema-type` | $.id: expected a string, found 7 \\| bad |\n"
        "| warning | `.maestro/plan-a.yaml` | `stale-plan` | plan &lt;v1&gt; is old |\n"
        "\n"
        "</details>\n"
        "\n"
        "**Planned actions**\n"
        "\n"
        "- `r1`: label needs:review\n"
        "\n"
        "<sub>evaluated at 2025-09-20T12:00:00+00:00</sub>\n"
    )


def test_json_follows_the_contract_and_the_published_schema() -> None:
    data = json.loads(render_json(PLAN))
    schema = json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(data)
    assert data["verdict"] == "fail"
    assert data["gates"][0]["findings"][0] == {
        "severity": "error",
        "code": "schema-type",
        "message": "$.id: expected a string, found 7 | bad",
        "path": ".maestro/changes/a.yaml",
        "line": 4,
        "column": 9,
    }
    assert data["gates"][1]["rules"] == [
        {"id": "r1", "matched": True, "actions": ["label"]},
        {"id": "r2", "matched": True, "actions": []},
    ]
    assert data["actions"] == [{"rule": "r1", "do": "label", "with": {"labels": ["needs:review"]}}]


def test_the_plan_schema_rejects_a_broken_contract() -> None:
    data = json.loads(render_json(PLAN))
    data["gates"][0]["status"] = "maybe"
    del data["gates"][1]["findings"]
    schema = json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    errors = sorted(e.message for e in Draft202012Validator(schema).iter_errors(data))
    assert errors == ["'findings' is a required property", "'maybe' is not one of ['pass', 'warn', 'fail', 'skipped']"]


@pytest.mark.parametrize(
    ("do", "with_", "words"),
    [
        ("label", {"labels": ["automerge", "risk:high"]}, "label automerge, risk:high"),
        ("comment", {"body": "Run the dry run.\nThen merge."}, 'comment "Run the dry run...."'),
        ("comment", {"body": "x" * 100}, 'comment "' + "x" * 77 + '..."'),
        ("request_review", {"reviewers": ["al"], "team_reviewers": ["org/db"]}, "request review from al, @org/db"),
        ("fail", {"message": "no"}, "fail no"),
    ],
)
def test_planned_actions_read_as_words_not_python_dicts(do: str, with_: dict[str, Any], words: str) -> None:
    assert action_words(Action("r", do, with_)) == words
