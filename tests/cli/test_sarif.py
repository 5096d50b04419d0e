"""``--format sarif`` on ``validate`` and ``plan``: valid SARIF 2.1.0 that GitHub code scanning can place.

Every log is checked against the official SARIF 2.1.0 JSON Schema (``tests.support.sarif``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from changebot.cli import main
from tests.cli.test_action import BOT, REPO, Checkout, Runner, pr_event
from tests.render.test_plan_contract import NOW, corpus_repo
from tests.support.github_double import GitHubDouble
from tests.support.repos import CORPUS, GitRepo
from tests.support.sarif import sarif_validator

BAD = ".maestro/changes/20250902-bad.yaml"


def valid(text: str) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(text)
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []
    return log


def test_validate_writes_sarif_at_file_line_and_column(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({BAD: "area: [unclosed\n", ".maestro/changes/20250901-ok.yaml": "area: payments\nintent: x\n"})
    out = tmp_path / "changebot.sarif"
    assert main(["validate", "--repo", str(repo.path), "--format", "sarif", "-o", str(out)]) == 1
    log = valid(out.read_text(encoding="utf-8"))
    [run] = log["runs"]
    assert (log["version"], run["tool"]["driver"]["name"]) == ("2.1.0", "changebot")
    assert run["automationDetails"]["id"] == "changebot/validate/"
    [result] = run["results"]
    assert result["ruleId"] == "yaml-syntax"
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": BAD, "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 2, "startColumn": 1},
    }
    rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == "yaml-syntax"
    assert rule["help"]["text"].startswith("A governed file does not load")
    assert rule["helpUri"].endswith("#finding-codes")


def test_validate_sarif_without_findings_is_an_empty_run(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({".maestro/changes/20250901-ok.yaml": "area: payments\nintent: harden\n"})
    assert main(["validate", "--repo", str(repo.path), "--format", "sarif"]) == 0
    log = valid(capsys.readouterr().out)
    assert log["runs"][0]["results"] == []


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
def test_plan_sarif_of_the_real_corpus_places_every_finding(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = corpus_repo(make_repo)
    argv = ["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--now", NOW]
    assert main([*argv, "--format", "json"]) == 1
    plan = json.loads(capsys.readouterr().out)
    assert main([*argv, "--format", "sarif"]) == 1
    log = valid(capsys.readouterr().out)
    [run] = log["runs"]
    findings = [(g["id"], f) for g in plan["gates"] for f in g["findings"]]
    assert len(run["results"]) == len(findings) > 0
    levels = {"error": "error", "warning": "warning", "notice": "note"}
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for (gate, finding), result in zip(findings, run["results"], strict=True):
        assert (result["ruleId"], result["level"]) == (finding["code"], levels[finding["severity"]])
        assert rules[result["ruleIndex"]]["id"] == finding["code"]
        assert result["properties"] == {"gate": gate, "mode": "enforce"}
        [location] = result["locations"]  # code scanning refuses a result without one
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == (finding["path"] or ".maestro/changebot.yaml")
        if finding["path"] and finding["line"]:
            assert physical["region"]["startLine"] == finding["line"]


def test_the_schema_check_catches_a_log_code_scanning_would_refuse(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({BAD: "area: [unclosed\n"})
    main(["validate", "--repo", str(repo.path), "--format", "sarif"])
    log = valid(capsys.readouterr().out)
    log["runs"][0]["results"][0]["level"] = "fatal"
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    messages = sorted(e.message for e in sarif_validator().iter_errors(log))
    assert messages == ["'fatal' is not one of ['none', 'note', 'warning', 'error']", "0 is less than the minimum of 1"]


def test_the_action_writes_the_plan_as_sarif_for_upload_sarif(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = Checkout(make_repo({".maestro/changes/20250901-ok.yaml": "area: payments\nintent: harden\n"}))
    github.bot_login = BOT
    github.add_pull(REPO, 7, checkout.head, checkout.base, files=[BAD, "docs/readme.md"])
    runner = Runner(tmp_path, github, checkout.repo.path, monkeypatch)
    assert runner.run("pull_request", pr_event(checkout.base, checkout.head), INPUT_SARIF="results.sarif") == 1
    written = checkout.repo.path / "results.sarif"
    assert runner.outputs()["sarif"] == str(written)
    [result] = valid(written.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert (result["ruleId"], result["properties"]["gate"]) == ("yaml-syntax", "schema")
