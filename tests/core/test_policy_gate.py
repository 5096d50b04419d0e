"""The rules and policy gates in ``changebot plan`` over real git repositories: base decides, head is previewed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from changebot.adapters.engines.rego import EmbeddedRego
from changebot.cli import main
from changebot.core.budget.gate import BudgetDetail
from changebot.core.documents.resources import schema
from changebot.core.freeze.gate import FreezeDetail
from changebot.core.freeze.windows import Window
from changebot.core.policy.gate import policy_gate
from changebot.core.policy.input import build_input
from changebot.model import GateId, GateResult, Status
from tests.support.opa_double import opa_double
from tests.support.policy_helpers import NOW, context, dumps, rule
from tests.support.rego_suite import SUITE
from tests.support.repos import GitRepo

FAIL_RULE = rule(
    "no-wip", "payload.title.startsWith('WIP')", then=[{"do": "fail", "with": {"message": "WIP PRs may not merge"}}]
)
LABEL_RULE = rule("infra", "payload.files.some(f => f.startsWith('charts/'))")
DENY_POLICY = """\
package org.nochart

import rego.v1

deny contains "charts/ needs the platform team" if {
	some f in input.pr.files
	startswith(f, "charts/")
}
"""
NO_LIBRARY = "version: 1\npolicy:\n  default_library: false\n"


def plan(repo: GitRepo, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["plan", "--repo", str(repo.path), "--now", NOW.isoformat(), "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def gate_of(document: dict[str, Any], gate: str) -> dict[str, Any]:
    return next(g for g in document["gates"] if g["id"] == gate)


def codes(gate: dict[str, Any]) -> list[str]:
    return [f["code"] for f in gate["findings"]]


def test_plan_lists_planned_actions_and_fails_on_rules_and_policies(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {
            ".maestro/rules.json": dumps([FAIL_RULE, LABEL_RULE]),
            ".maestro/policies/nochart.rego": DENY_POLICY,
            ".maestro/changebot.yaml": NO_LIBRARY,
        }
    )
    repo.branch("feature")
    repo.commit({"charts/api/values.yaml": "replicas: 3\n"}, "scale up")
    code, doc = plan(
        repo, capsys, "--base", "main", "--head", "feature", "--title", "WIP: scale", "--label", "risk:high"
    )
    assert code == 1
    assert doc["verdict"] == "fail"
    assert doc["actions"] == [
        {"rule": "no-wip", "do": "fail", "with": {"message": "WIP PRs may not merge"}},
        {"rule": "infra", "do": "label", "with": {"labels": ["hit:infra"]}},
    ]
    rules = gate_of(doc, "rules")
    assert rules["status"] == "fail"
    assert rules["findings"][0] == {
        "severity": "error",
        "code": "rule-fail",
        "message": "rule 'no-wip': WIP PRs may not merge",
        "path": ".maestro/rules.json",
        "line": 6,
        "column": None,
    }
    policy = gate_of(doc, "policy")
    assert policy["status"] == "fail"
    assert [(f["code"], f["message"], f["path"], f["line"]) for f in policy["findings"]] == [
        ("policy-deny", "package org.nochart: charts/ needs the platform team", ".maestro/policies/nochart.rego", 5)
    ]
    assert policy["engine"] == "embedded"

    code, doc = plan(repo, capsys, "--base", "main", "--head", "main", "--title", "ready")
    assert code == 0
    assert doc["actions"] == []
    assert gate_of(doc, "policy")["status"] == "pass"


def test_text_output_prints_the_planned_actions(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {".maestro/rules.json": dumps([LABEL_RULE]), "charts/x.yaml": "a: 1\n", ".maestro/changebot.yaml": NO_LIBRARY}
    )
    repo.branch("feature")
    repo.commit({"charts/x.yaml": "a: 2\n"})
    code = main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--now", NOW.isoformat()])
    out = capsys.readouterr().out
    assert code == 0
    assert "planned actions:\n  - infra: label hit:infra\n" in out


def test_a_pr_that_deletes_a_base_rule_still_fails_that_rule(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({".maestro/rules.json": dumps([FAIL_RULE, LABEL_RULE]), ".maestro/changebot.yaml": NO_LIBRARY})
    repo.branch("feature")
    repo.commit({".maestro/rules.json": dumps([LABEL_RULE])}, "drop the WIP rule")
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", "--title", "WIP: sneaky")
    assert code == 1
    rules = gate_of(doc, "rules")
    assert rules["status"] == "fail"
    assert codes(rules) == ["rule-fail", "rules-changed"]
    assert rules["findings"][1]["message"].endswith(
        "the head version would decide: pass, 0 action(s). A governance owner should review the change."
    )
    assert rules["head"]["status"] == "pass"
    assert [r["id"] for r in rules["head"]["rules"]] == ["infra"]

    repo.checkout("main")
    repo.branch("delete-all")
    repo.commit({".maestro/rules.json": None}, "delete rules.json")
    code, doc = plan(repo, capsys, "--base", "main", "--head", "delete-all", "--title", "WIP: sneakier")
    assert code == 1
    assert codes(gate_of(doc, "rules")) == ["rule-fail", "rules-changed"]
    assert "no rules.json (deleted)" in gate_of(doc, "rules")["findings"][1]["message"]


def test_a_pr_that_deletes_a_base_policy_still_fails_it(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({".maestro/policies/nochart.rego": DENY_POLICY, "charts/x.yaml": "a: 1\n"})
    repo.branch("feature")
    repo.commit({".maestro/policies/nochart.rego": None, "charts/x.yaml": "a: 2\n"}, "remove the policy")
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", "--approved-by", "ana")
    assert code == 1
    policy = gate_of(doc, "policy")
    assert codes(policy) == ["governance-unowned", "policy-deny", "policies-changed"]
    assert policy["findings"][0]["message"].startswith(
        "this pull request edits governance config (.maestro/policies/nochart.rego)"
    )
    assert policy["findings"][2]["message"] == (
        "this pull request changes policies (.maestro/policies/nochart.rego): "
        "the gate is decided by the base versions; "
        "the head versions would decide: pass (0 error(s)). A governance owner should review the change."
    )
    assert policy["head"]["status"] == "pass"


def test_governance_edits_need_an_owner_approval(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = "version: 1\npolicy:\n  governance_owners: [ana, bo]\n"
    repo = make_repo({".maestro/changebot.yaml": settings, ".maestro/rules.json": "[]\n"})
    repo.branch("feature")
    repo.commit({".maestro/rules.json": dumps([LABEL_RULE])})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature")
    assert code == 1
    assert [f["message"] for f in gate_of(doc, "policy")["findings"]] == [
        "this pull request edits governance config (.maestro/rules.json) and needs an approval from one of ana, bo"
    ]
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", "--approved-by", "bo")
    assert code == 0
    assert gate_of(doc, "policy")["status"] == "pass"


def test_pipeline_policies_entries(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    pipeline = (
        "pipeline:\n  name: ci\n"
        "policies:\n"
        "  - path: .ci/policies/release.rego\n    enforce: false\n    actions: [promote, rollback]\n"
        "  - path: .ci/policies/missing.rego\n    enforce: true\n"
        "  - path: policy/elsewhere.rego\n"
    )
    repo = make_repo(
        {
            ".maestro/pipeline.yaml": pipeline,
            ".ci/policies/release.rego": DENY_POLICY,
            "policy/elsewhere.rego": DENY_POLICY,
            ".maestro/changebot.yaml": NO_LIBRARY,
        }
    )
    repo.branch("feature")
    repo.commit({"charts/x.yaml": "a: 1\n"})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature")
    policy = gate_of(doc, "policy")
    assert code == 1
    assert [(f["severity"], f["code"], f["message"], f["path"], f["line"]) for f in policy["findings"]] == [
        (
            "error",
            "policy-missing",
            "policies[1] names .ci/policies/missing.rego, which the base branch does not have",
            ".maestro/pipeline.yaml",
            7,
        ),
        (
            "error",
            "policy-missing",
            "policies[2] names policy/elsewhere.rego, which changebot does not read: keep policies under "
            ".maestro/policies/ or .ci/policies/",
            ".maestro/pipeline.yaml",
            9,
        ),
        (
            "warning",
            "policy-deny",
            "package org.nochart: charts/ needs the platform team (not enforced: enforce: false)",
            ".ci/policies/release.rego",
            5,
        ),
    ]
    assert policy["pipeline_policies"][0] == {
        "path": ".ci/policies/release.rego",
        "enforce": False,
        "actions": ["promote", "rollback"],
    }


def test_broken_policy_file_is_reported_and_the_rest_run(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        {
            ".maestro/policies/broken.rego": "import rego.v1\npackage x\n",
            ".maestro/policies/nochart.rego": DENY_POLICY,
            ".maestro/changebot.yaml": NO_LIBRARY,
        }
    )
    repo.branch("feature")
    repo.commit({"charts/x.yaml": "a: 1\n"})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature")
    assert code == 1
    assert codes(gate_of(doc, "policy")) == ["policy-compile-error", "policy-deny"]


def test_opa_url_gives_the_same_decisions(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    files = {f".maestro/policies/{p.rsplit('/', 1)[1]}": s for p, s in SUITE.items()}
    repo = make_repo({**files, ".maestro/changebot.yaml": NO_LIBRARY})
    repo.branch("feature")
    repo.commit({"secrets/key.pem": "x\n", "a": "", "b": "", "c": ""})
    args = ("--base", "main", "--head", "feature", "--title", "", "--label", "do-not-merge")
    embedded_code, embedded = plan(repo, capsys, *args)
    with opa_double(files) as server:
        opa_code, over_http = plan(repo, capsys, *args, "--opa-url", server.url)
    assert embedded_code == opa_code == 1
    strip = ("engine", "engine_version", "summary")
    left = {k: v for k, v in gate_of(embedded, "policy").items() if k not in strip}
    right = {k: v for k, v in gate_of(over_http, "policy").items() if k not in strip}
    assert left == right
    assert gate_of(over_http, "policy")["engine"] == "opa-server"
    assert "package legacy.merge: secrets/key.pem must not be committed" in [f["message"] for f in left["findings"]]


def test_opa_server_down_fails_the_gate(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    settings = (
        "version: 1\npolicy:\n  default_library: false\n  timeout_seconds: 1\n"
        "  opa_url: http://127.0.0.1:9\n  engine: opa\n"
    )
    repo = make_repo({".maestro/policies/nochart.rego": DENY_POLICY, ".maestro/changebot.yaml": settings})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "main")
    assert code == 1
    assert codes(gate_of(doc, "policy")) == ["policy-unreachable"]


def test_input_document_matches_its_schema_and_carries_upstream_gates() -> None:
    ctx = context(
        {".maestro/rules.json": "[]"},
        {
            ".maestro/rules.json": "[]",
            ".maestro/changes/20250101-a.yaml": "area: multi\nrelease_tag: v1\n",
            ".maestro/plan-x.yaml": "plan: x\n",
        },
        labels=("a",),
        files=(".maestro/rules.json", "src/x.py"),
        approvals=("bo",),
    )
    eoq = Window(datetime(2025, 12, 20, tzinfo=UTC), datetime(2025, 12, 22, tzinfo=UTC), "EOQ", "f.json", 3)
    freeze = GateResult(
        GateId.FREEZE,
        Status.FAIL,
        "frozen",
        detail=FreezeDetail(True, "main", governed=True, now=datetime(2025, 12, 20, 9, tzinfo=UTC), windows=(eoq,)),
    )
    budget = GateResult(
        GateId.BUDGET,
        Status.PASS,
        "ok",
        detail=BudgetDetail("pull_request", "pull_request", 1.0, 2.5, None, 0.008, (), None),
    )
    sequence = GateResult(GateId.SEQUENCE, Status.SKIPPED, "no patches")
    document = build_input(ctx, [freeze, budget, sequence], ["ana"])
    jsonschema.validate(document, schema("policy-input"))
    assert document["freeze"] == {
        "status": "fail",
        "summary": "frozen",
        "frozen": True,
        "branch": "main",
        "windows": [
            {
                "name": "EOQ",
                "source": "f.json",
                "line": 3,
                "start": "2025-12-20T00:00:00+00:00",
                "end": "2025-12-22T00:00:00+00:00",
                "enforced": True,
                "zone": "UTC",
                "kind": "absolute",
            }
        ],
        "overrides": [],
    }
    assert document["budget"]["hard_cap_usd"] is None
    assert document["sequence"] is None
    assert document["rules"] is None
    assert document["governance"] == {"changed": [".maestro/rules.json"], "owners": ["ana"]}
    assert document["pr"]["approvals"] == ["bo"]
    assert document["plans"] == [{"path": ".maestro/plan-x.yaml", "spec": {"plan": "x"}}]
    assert document["bundles"] == [
        {"path": ".maestro/changes/20250101-a.yaml", "spec": {"area": "multi", "release_tag": "v1"}}
    ]

    result = policy_gate(ctx, EmbeddedRego(), [freeze, budget, sequence])
    messages = [f.message for f in result.findings]
    assert not [m for m in messages if "frozen" in m]  # the freeze gate decides that, once
    bundle = [f for f in result.findings if f.message.startswith("package changebot.bundles:")]
    assert [(f.code, f.path, f.line) for f in bundle] == [
        ("policy-deny", ".maestro/changes/20250101-a.yaml", 2),
        ("policy-deny", ".maestro/changes/20250101-a.yaml", 2),
    ]
    assert bundle[0].message == (
        "package changebot.bundles: release bundle v1 has no owners.DRI (expected the directly responsible individual)"
    )


def test_pr_facts_from_flags_reach_rules_and_policies(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    facts = rule(
        "facts",
        "payload.draft && payload.author === 'ana' && payload.kind === 'push' && payload.title === 'T' "
        "&& payload.labels.join() === 'a,b' && payload.base === 'main'",
    )
    draft_policy = 'package facts\n\nimport rego.v1\n\ndeny contains "draft" if input.pr.draft\n'
    repo = make_repo(
        {
            ".maestro/rules.json": dumps([facts]),
            ".maestro/policies/facts.rego": draft_policy,
            ".maestro/changebot.yaml": NO_LIBRARY,
        }
    )
    args = ("--base", "main", "--head", "main", "--author", "ana", "--event", "push", "--title", "T")
    code, doc = plan(repo, capsys, *args, "--label", "a", "--label", "b", "--draft")
    assert code == 1
    assert [a["rule"] for a in doc["actions"]] == ["facts"]
    assert [f["message"] for f in gate_of(doc, "policy")["findings"]] == ["package facts: draft"]
    code, doc = plan(repo, capsys, *args, "--label", "a", "--label", "b")
    assert code == 0
    assert doc["actions"] == []


def test_head_policy_that_does_not_compile_is_previewed_by_the_policy_gate_and_fails_the_schema_gate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    """The base's policies decide the policy gate; the head's broken one fails the PR in the schema gate."""
    repo = make_repo({".maestro/policies/nochart.rego": DENY_POLICY, ".maestro/changebot.yaml": NO_LIBRARY})
    repo.branch("feature")
    repo.commit({".maestro/policies/nochart.rego": "import rego.v1\npackage broken\n"})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature")
    policy = gate_of(doc, "policy")
    assert code == 1
    schema = gate_of(doc, "schema")
    assert schema["status"] == "fail"
    assert [(f["code"], f["path"]) for f in schema["findings"]] == [
        ("policy-compile-error", ".maestro/policies/nochart.rego")
    ]
    assert policy["status"] == "pass"
    assert codes(policy) == ["policies-changed"]
    assert "the head versions would decide: fail (1 error(s))" in policy["findings"][0]["message"]
    assert [f["code"] for f in policy["head"]["findings"]] == ["policy-compile-error"]
