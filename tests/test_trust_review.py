"""Trust review: governance config the base branch has but changebot could not read never becomes a pass."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from changebot.adapters.engines import worker
from changebot.adapters.engines.jsbox import QuickJs
from changebot.cli import main
from changebot.core.policy.rules import rules_gate
from tests.support.policy_helpers import context, dumps, rule
from tests.support.repos import GitRepo

NOW = "2025-12-20T12:00:00Z"  # a Saturday: inside the weekend freeze below
SETTINGS = "version: 1\nlimits: {max_file_bytes: 400}\n"
WINDOWS = json.dumps(
    [{"name": f"weekend freeze {n}", "start": "FRI 17:00 UTC", "end": "MON 09:00 UTC"} for n in range(12)]
)


def plan(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, object]]]:
    status = main(
        ["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--now", NOW, "--format", "json"]
    )
    data = json.loads(capsys.readouterr().out)
    return status, {g["id"]: g for g in data["gates"]}


def test_a_base_calendar_too_large_to_read_fails_the_freeze_gate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(WINDOWS) > 400
    repo = make_repo({".maestro/changebot.yaml": SETTINGS, ".maestro/freeze_windows.json": WINDOWS})
    repo.branch("feature")
    repo.commit({"src/app.py": "print('hotfix')\n"})
    status, gates = plan(repo, capsys)
    freeze = gates["freeze"]
    assert freeze["status"] == "fail", freeze["summary"]
    findings = freeze["findings"]
    assert isinstance(findings, list)
    assert [(f["code"], f["path"]) for f in findings] == [("file-too-large", ".maestro/freeze_windows.json")]
    assert status == 1


def test_a_base_rules_file_too_large_to_read_fails_the_rules_gate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    rules = json.dumps(
        {
            "rules": [
                {"id": f"r{n}", "when": True, "then": [{"do": "fail", "with": {"message": "no"}}]} for n in range(8)
            ]
        }
    )
    repo = make_repo({".maestro/changebot.yaml": SETTINGS, ".maestro/rules.json": rules})
    repo.branch("feature")
    repo.commit({"src/app.py": "print('hotfix')\n"})
    status, gates = plan(repo, capsys)
    assert gates["rules"]["status"] == "fail", gates["rules"]["summary"]
    assert status == 1


def test_a_base_policy_too_large_to_read_fails_the_policy_gate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    rego = 'package repo.guard\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := "nothing merges"\n}\n'
    rego += "".join(f"# padding line {n} so that the module passes the size limit\n" for n in range(10))
    assert len(rego) > 400
    repo = make_repo({".maestro/changebot.yaml": SETTINGS, ".maestro/policies/guard.rego": rego})
    repo.branch("feature")
    repo.commit({"src/app.py": "print('hotfix')\n"})
    status, gates = plan(repo, capsys)
    policy = gates["policy"]
    assert policy["status"] == "fail", policy["summary"]
    findings = policy["findings"]
    assert isinstance(findings, list)
    assert ("file-too-large", ".maestro/policies/guard.rego") in [(f["code"], f["path"]) for f in findings]
    assert status == 1


def test_a_base_changespec_schema_that_cannot_be_read_fails_the_schema_gate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = "type: object\nrequired: [owner]\nproperties:\n  owner: {type: string}\n" + "#" * 400 + "\n"
    repo = make_repo({".maestro/changebot.yaml": SETTINGS, ".maestro/changespec.schema.yml": spec})
    repo.branch("feature")
    # The pull request deletes the schema: the base's still judges it, and it cannot be read.
    repo.commit({".changespec.yml": "title: no owner here\n", ".maestro/changespec.schema.yml": None})
    status, gates = plan(repo, capsys)
    schema = gates["schema"]
    assert schema["status"] == "fail", schema["summary"]
    findings = schema["findings"]
    assert isinstance(findings, list)
    assert ("file-too-large", ".maestro/changespec.schema.yml") in [(f["code"], f["path"]) for f in findings]
    assert status == 1


def test_base_settings_that_cannot_be_read_fail_the_plan_even_when_the_head_repairs_them(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "version: 1\noverrides:\n  freeze: {allowed: false\n"  # an unclosed flow mapping
    repo = make_repo({".maestro/changebot.yaml": broken})
    repo.branch("feature")
    repo.commit({".maestro/changebot.yaml": "version: 1\n"})
    status, gates = plan(repo, capsys)
    schema = gates["schema"]
    assert schema["status"] == "fail", schema["summary"]
    findings = schema["findings"]
    assert isinstance(findings, list)
    assert [f["path"] for f in findings] == [".maestro/changebot.yaml"]
    assert "base branch" in findings[0]["message"]
    assert status == 1


def test_a_head_rules_file_of_hanging_rules_cannot_hold_the_evaluation_for_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each rule hangs in a regex QuickJS cannot interrupt, so each costs the sandbox's whole wall-clock deadline
    # (~1 s); a 1 MiB rules.json in a pull request holds thousands. The head version is only previewed, yet it
    # was evaluated to the end. Every evaluation now has a total budget (60 s; 3 s here).
    monkeypatch.setattr(worker, "BATCH_SECONDS", 3.0, raising=False)
    hang = "/^(a+)+$/.test('a'.repeat(40) + 'b')"
    base = {".maestro/rules.json": dumps([rule("ok", "payload.title.length > 0")])}
    head = {".maestro/rules.json": dumps([rule(f"slow{n}", hang) for n in range(30)])}
    started = time.monotonic()
    gate = rules_gate(context(base, head), QuickJs())
    assert time.monotonic() - started < 15
    assert gate.status.value == "pass"  # decided by the base
    preview = gate.detail.to_json()["head"]
    assert preview["status"] == "fail"
    errors = [r["error"] for r in preview["rules"]]
    assert len(errors) == 30
    assert errors[-1] == "not evaluated: the batch ran past its 3 s budget"
