"""Advisory rollout: ``mode`` and ``gates: {<id>: {mode}}`` in the base branch's ``.maestro/changebot.yaml``.

An advisory gate still shows its findings, but its failure makes the verdict ``warn``: ``changebot plan`` exits
0, the check run concludes ``neutral`` and says what would have failed. An ``off`` gate is not evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from changebot.cli import main
from tests.cli.test_action import BAD, BOT, REPO, Checkout, Runner, pr_event
from tests.support.github_double import GitHubDouble
from tests.support.repos import GitRepo

SETTINGS = ".maestro/changebot.yaml"
OK = {".maestro/changes/20250901-ok.yaml": "area: payments\nintent: harden\n"}


def plan_json(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def broken_pr(make_repo: Callable[..., GitRepo], settings: str | None) -> GitRepo:
    """A PR whose head adds a bundle that is not YAML (the schema gate fails), under ``settings`` on main."""
    repo = make_repo({**OK, **({SETTINGS: settings} if settings is not None else {})})
    repo.branch("feature")
    repo.commit({BAD: "area: [unclosed\n"}, "add a bundle")
    return repo


def gate(doc: dict[str, Any], gate_id: str) -> dict[str, Any]:
    return next(g for g in doc["gates"] if g["id"] == gate_id)


def test_every_gate_is_enforced_by_default_and_says_so_in_json(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = plan_json(broken_pr(make_repo, None), capsys)
    assert (code, doc["verdict"]) == (1, "fail")
    assert {g["mode"] for g in doc["gates"]} == {"enforce"}


def test_an_advisory_gate_shows_its_failure_but_the_verdict_only_warns(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = broken_pr(make_repo, "version: 1\ngates:\n  schema: {mode: advisory}\n")
    code, doc = plan_json(repo, capsys)
    assert (code, doc["verdict"]) == (0, "warn")
    schema = gate(doc, "schema")
    assert (schema["status"], schema["mode"]) == ("fail", "advisory")
    assert [f["code"] for f in schema["findings"]] == ["yaml-syntax"]

    assert main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature"]) == 0
    text = capsys.readouterr().out
    assert "(advisory)" in text.splitlines()[2]
    assert "advisory: would have failed on schema; advisory gates do not fail the verdict" in text
    assert "verdict: WARN" in text

    assert main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "| schema | :x: fail (advisory) |" in markdown
    assert "**Advisory**: would have failed on the **schema** gate" in markdown


def test_global_advisory_with_one_gate_enforced_fails_on_that_gate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = broken_pr(make_repo, "version: 1\nmode: advisory\ngates:\n  schema: {mode: enforce}\n")
    code, doc = plan_json(repo, capsys)
    assert (code, doc["verdict"]) == (1, "fail")
    assert gate(doc, "schema")["mode"] == "enforce"
    assert {g["mode"] for g in doc["gates"] if g["id"] != "schema"} == {"advisory"}


def test_an_off_gate_is_not_evaluated(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = plan_json(broken_pr(make_repo, "version: 1\ngates:\n  schema: {mode: off}\n"), capsys)
    assert (code, doc["verdict"]) == (0, "pass")
    schema = gate(doc, "schema")
    assert (schema["status"], schema["mode"], schema["findings"]) == ("skipped", "off", [])
    assert schema["summary"] == f"not evaluated: mode off in {SETTINGS}"


def test_a_misspelt_mode_enforces_and_is_reported(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = plan_json(broken_pr(make_repo, "version: 1\nmode: advisroy\n"), capsys)
    assert (code, doc["verdict"]) == (1, "fail")
    assert {g["mode"] for g in doc["gates"]} == {"enforce"}
    assert any(f["path"] == SETTINGS and f["line"] == 2 for f in gate(doc, "schema")["findings"])


def test_a_pr_cannot_make_its_own_gates_advisory(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(OK)
    repo.branch("feature")
    repo.commit({BAD: "area: [unclosed\n", SETTINGS: "version: 1\nmode: advisory\n"}, "relax and break")
    code, doc = plan_json(repo, capsys)
    assert (code, doc["verdict"]) == (1, "fail")
    assert gate(doc, "schema")["mode"] == "enforce"


def test_the_action_concludes_neutral_and_names_what_would_have_failed(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    advisory = Checkout(make_repo({**OK, SETTINGS: "version: 1\nmode: advisory\n"}))
    github.bot_login = BOT
    runner = Runner(tmp_path, github, advisory.repo.path, monkeypatch)
    github.add_pull(REPO, 7, advisory.head, advisory.base, files=[BAD, "docs/readme.md"])

    assert runner.run("pull_request", pr_event(advisory.base, advisory.head)) == 0
    [run] = github.check_runs[REPO]
    assert (run["head_sha"], run["conclusion"]) == (advisory.head, "neutral")
    assert run["output"]["title"] == "warn: 1 error (advisory: would fail on schema)"
    assert [a["annotation_level"] for a in run["_annotations"]] == ["failure"]
    [comment] = github.comments[REPO][7]
    assert "**Advisory**: would have failed on the **schema** gate" in comment["body"]
    assert runner.outputs()["verdict"] == "warn"
