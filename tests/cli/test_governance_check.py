"""A pull request that breaks a governance file is told, by the readers the gates use (issue 14, hardening 5).

Each scenario is a real git repository: ``main`` holds working governance, ``pr`` the edit. ``plan`` must fail
the ``schema`` gate with file and line, ``validate`` on the head must say the same, and a gate reading the same
files as its base must agree.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from changebot.cli import main
from tests.support.repos import CORPUS, EXAMPLES, GitRepo, copy_tree
from tests.support.required import require

NOW = "2025-09-17T12:00:00Z"  # a Wednesday: no weekend freeze in force

PIPELINE = """\
pipeline:
  name: ci
  budgets: {hard_cap_usd: 25.00}
  steps:
    - id: build
      run: make
      when: event == "push" || event == "pull_request"
      cost_usd: 0.10
freeze_windows:
  - name: weekends
    start: "FRI 17:00 UTC"
    end: "MON 09:00 UTC"
"""

POLICY = """\
freeze:
  enabled: true
  timezone: America/Denver
  windows:
    - name: Weekend freeze
      rrule: "FREQ=WEEKLY;BYDAY=SA,SU"
      active: true
"""

GOOD: Mapping[str, str] = {".maestro/pipeline.yaml": PIPELINE, "release-policy.yml": POLICY}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def plan(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], base: str = "main", head: str = "pr"
) -> tuple[int, dict[str, Any]]:
    return run(["plan", "--repo", str(repo.path), "--base", base, "--head", head, "--now", NOW], capsys)


def gate(doc: Mapping[str, Any], gate_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(g for g in doc["gates"] if g["id"] == gate_id)
    return found


def where(findings: list[dict[str, Any]], severity: str = "error") -> list[tuple[str, str, int | None]]:
    return sorted((f["code"], f["path"], f["line"]) for f in findings if f["severity"] == severity)


def pr_repo(
    make_repo: Callable[..., GitRepo], base: Mapping[str, str | None], head: Mapping[str, str | None]
) -> GitRepo:
    repo = make_repo(dict(base))
    repo.branch("pr")
    repo.commit(dict(head), "edit governance")
    return repo


def test_the_issue_s_three_edits_fail_the_schema_gate_and_validate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    """BYDAY=SA,SUN, an unknown zone in a weekly window and ``|||`` in a ``when:``: green before, red now."""
    head = {
        ".maestro/pipeline.yaml": PIPELINE.replace("FRI 17:00 UTC", "FRI 17:00 Mars/Olympus").replace("||", "|||"),
        "release-policy.yml": POLICY.replace("SA,SU", "SA,SUN"),
    }
    repo = pr_repo(make_repo, GOOD, head)
    code, doc = plan(repo, capsys)
    expected = [
        ("freeze-bad-rrule", "release-policy.yml", 6),
        ("freeze-unknown-zone", ".maestro/pipeline.yaml", 11),
        ("when-syntax", ".maestro/pipeline.yaml", 7),
    ]
    schema = gate(doc, "schema")
    assert (code, schema["status"]) == (1, "fail")
    assert where(schema["findings"]) == expected
    assert gate(doc, "freeze")["status"] == "pass"  # the base's calendar still judges this pull request
    assert gate(doc, "budget")["status"] == "pass"
    code, found = run(["validate", "--repo", str(repo.path)], capsys)  # the working tree is the head
    assert (code, where(found["findings"])) == (1, expected)
    # the gates, reading the head as their base, report the very same findings
    code, same = plan(repo, capsys, "pr", "pr")
    gate_errors = where([f for g in same["gates"] if g["id"] != "schema" for f in g["findings"]])
    assert gate_errors == expected
    assert code == 1


def test_an_untouched_governance_file_is_left_to_its_gate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    """The schema gate checks what the pull request changes; a broken base calendar fails the freeze gate."""
    broken = {**GOOD, "release-policy.yml": POLICY.replace("SA,SU", "SA,SUN")}
    repo = pr_repo(make_repo, broken, {"notes.txt": "x"})
    code, doc = plan(repo, capsys)
    assert gate(doc, "schema")["status"] == "pass"
    assert where(gate(doc, "freeze")["findings"]) == [("freeze-bad-rrule", "release-policy.yml", 6)]
    assert code == 1


FREEZE_FILE = ".maestro/freeze_windows.json"


def test_naive_from_to_with_a_timezone_is_a_valid_calendar(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    calendar = (
        '[{"name": "EOQ", "timezone": "Europe/Dublin",\n'
        '  "from": "2025-09-17T00:00:00", "to": "2025-09-18T00:00:00"}]\n'
    )
    whole = (
        '{"timezone": "Europe/Dublin", "windows": [\n'
        '  {"name": "EOQ", "from": "2025-09-17T00:00:00", "to": "2025-09-18T00:00:00"}]}\n'
    )
    for text in (calendar, whole):
        repo = make_repo({FREEZE_FILE: text}, name=f"naive-{len(text)}")
        code, found = run(["validate", "--repo", str(repo.path)], capsys)
        assert (code, found["findings"]) == (0, [])
        code, doc = plan(repo, capsys, "main", "main")
        freeze = gate(doc, "freeze")
        assert (code, freeze["status"], freeze["windows"][0]["name"]) == (1, "fail", "EOQ")


def test_a_zero_length_window_is_an_error_in_validate_as_in_the_freeze_gate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    text = '[\n  {"name": "blink", "from": "2025-12-15T00:00:00Z", "to": "2025-12-15T00:00:00Z"}\n]\n'
    repo = make_repo({FREEZE_FILE: text})
    code, found = run(["validate", "--repo", str(repo.path)], capsys)
    assert (code, where(found["findings"])) == (1, [("freeze-end-before-start", FREEZE_FILE, 2)])
    code, doc = plan(repo, capsys, "main", "main")
    assert where(gate(doc, "freeze")["findings"]) == [("freeze-end-before-start", FREEZE_FILE, 2)]


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ("FREQ=DAILY;COUNT=0", "COUNT=0 means it never fires"),
        ("FREQ=DAILY;UNTIL=19990101T000000", "is before its start"),
    ],
)
def test_an_rrule_that_never_fires_is_an_error(
    rule: str, why: str, make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({"release-policy.yml": POLICY.replace("FREQ=WEEKLY;BYDAY=SA,SU", rule)})
    code, found = run(["validate", "--repo", str(repo.path)], capsys)
    assert (code, where(found["findings"])) == (1, [("freeze-bad-rrule", "release-policy.yml", 6)])
    assert why in found["findings"][0]["message"]
    code, doc = plan(repo, capsys, "main", "main")
    assert (code, gate(doc, "freeze")["status"]) == (1, "fail")


def test_an_empty_repository_skips_the_schema_gate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({"README.md": "hello\n"})
    code, doc = plan(repo, capsys, "main", "main")
    schema = gate(doc, "schema")
    assert (schema["status"], schema["summary"]) == ("skipped", "no .maestro files: nothing to govern")
    assert code == 0


SPEC = "area: 1\nintent: 2\ntest_impact: 3\nowners: 4\ndata:\n  pii: false\nbudgets:\n  err_rate_pct: 1\n"
BUNDLE = ".maestro/changes/20250101-spec.yaml"


def test_new_schema_errors_are_not_hidden_behind_inherited_ones(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    """The base bundle fills the per-file cap with its own errors; the two the head adds still fail the PR."""
    head = SPEC.replace("  pii: false\n", "  pii: false\n  residency: MARS\n").replace(
        "  err_rate_pct: 1\n", "  err_rate_pct: 1\n  p95_ms: -5\n"
    )
    repo = pr_repo(make_repo, {BUNDLE: SPEC}, {BUNDLE: head})
    code, doc = plan(repo, capsys)
    schema = gate(doc, "schema")
    assert (code, schema["status"]) == (1, "fail")
    assert where(schema["findings"]) == [("schema-enum", BUNDLE, 7), ("schema-minimum", BUNDLE, 10)]
    assert len(where(schema["findings"], "warning")) == 3  # inherited, shown as warnings
    [hidden] = [f for f in schema["findings"] if f["code"] == "more-schema-errors"]
    assert hidden["message"].startswith("1 other schema error(s)")


def test_inherited_errors_beyond_the_cap_stay_inherited(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    """A head that only reorders a broken bundle adds nothing: every error it shows is on the base too."""
    repo = pr_repo(make_repo, {BUNDLE: SPEC}, {BUNDLE: "owners: 4\n" + SPEC.replace("owners: 4\n", "")})
    code, doc = plan(repo, capsys)
    schema = gate(doc, "schema")
    assert (code, schema["status"]) == (0, "warn")
    assert where(schema["findings"]) == []


RULES = ".maestro/rules.json"


def test_rules_json_unknown_operation_and_javascript_syntax(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    good = '[\n  {"id": "ok", "when": {"==": [1, 1]}, "if": "payload.files.length > 0", "then": []}\n]\n'
    bad = (
        "[\n"
        '  {"id": "op", "when": {"frobnicate": [1]}, "then": [{"do": "label", "with": {"labels": ["y"]}}]},\n'
        '  {"id": "js", "if": "payload.files.some(f => f.startsWith(\'x\')",\n'
        '   "then": [{"do": "label", "with": {"labels": ["x"]}}]}\n'
        "]\n"
    )
    repo = pr_repo(make_repo, {RULES: good}, {RULES: bad})
    code, doc = plan(repo, capsys)
    expected = [("rule-script-syntax", RULES, 3), ("rule-when-error", RULES, 2)]
    assert (code, where(gate(doc, "schema")["findings"])) == (1, expected)
    assert gate(doc, "rules")["status"] == "pass"
    code, found = run(["validate", "--repo", str(repo.path)], capsys)
    assert (code, where(found["findings"])) == (1, expected)
    script = next(f for f in found["findings"] if f["code"] == "rule-script-syntax")
    assert "SyntaxError" in script["message"]


def test_a_policy_that_does_not_compile_fails_validate(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({".maestro/policies/broken.rego": "package broken\n\ndeny contains msg if {\n  msg := \n}\n"})
    code, found = run(["validate", "--repo", str(repo.path)], capsys)
    assert code == 1
    assert [(f["code"], f["path"]) for f in found["findings"]] == [
        ("policy-compile-error", ".maestro/policies/broken.rego")
    ]


def test_ci_budget_arithmetic(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = '{\n  "monthlyUsd": 100,\n  "softPct": 1.2,\n  "hardPct": 1.0,\n  "prio": {"main": 1.0, "preview": -1}\n}\n'
    repo = make_repo({".maestro/ci_budget.json": text, ".maestro/pipeline.yaml": PIPELINE})
    code, found = run(["validate", "--repo", str(repo.path)], capsys)
    expected = [
        ("bad-money", ".maestro/ci_budget.json", 5),
        ("budget-soft-over-hard", ".maestro/ci_budget.json", 3),
        ("schema-minimum", ".maestro/ci_budget.json", 5),
    ]
    assert (code, where(found["findings"])) == (1, expected)


# ---------------------------------------------------------------------------------------------------------------
# validate and the gates never disagree on a file

#: Errors that judge the pull request rather than a file: a gate may report them where validate cannot.
OUTCOMES = frozenset(
    {"freeze-active", "budget-run-cap", "budget-month-hard", "budget-prio-missing", "policy-deny", "rule-fail"}
)

BROKEN: Mapping[str, Mapping[str, str]] = {
    "issue-edits": {
        ".maestro/pipeline.yaml": PIPELINE.replace("FRI 17:00 UTC", "FRI 17:00 Mars/Olympus").replace("||", "|||"),
        "release-policy.yml": POLICY.replace("SA,SU", "SA,SUN"),
    },
    "zero-length": {FREEZE_FILE: '[{"name": "z", "from": "2025-12-15T00:00:00Z", "to": "2025-12-15T00:00:00Z"}]'},
    "never-fires": {"release-policy.yml": POLICY.replace("FREQ=WEEKLY;BYDAY=SA,SU", "FREQ=DAILY;COUNT=0")},
    "cron-bad": {
        ".maestro/changebot.yaml": "freeze:\n  calendars:\n    - {name: c, cron: '61 * * * *', duration: PT1H}\n"
    },
    "rules-op": {
        RULES: '[{"id": "op", "when": {"frobnicate": [1]}, "then": [{"do": "label", "with": {"labels": ["y"]}}]}]'
    },
    "budget": {
        ".maestro/pipeline.yaml": PIPELINE,
        ".maestro/ci_budget.json": '{"monthlyUsd": 5, "softPct": 1.8, "hardPct": 1.0, "prio": {"x": "1"}}',
    },
    "xrepo-cycle": {".maestro/xrepo.yaml": "graph:\n  a: [b]\n  b: [a]\n"},
    "missing-file": {".maestro/pipeline.yaml": PIPELINE + "  - name: h\n    file: .maestro/nope.json\n"},
}


def _fixtures() -> list[str]:
    names = ["examples/payments", "corpus", *(f"broken/{n}" for n in BROKEN)]
    return [*names, *(f"corpus+{p.name}" for p in sorted(CORPUS.rglob("*@*")))] if CORPUS.is_dir() else names


def _materialise(name: str, target: Path) -> None:
    if name == "examples/payments":
        shutil.copytree(EXAMPLES / "payments", target)
    elif name.startswith("broken/"):
        target.mkdir()
        for rel, text in BROKEN[name.removeprefix("broken/")].items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_text(text, encoding="utf-8")
    else:
        require(CORPUS.is_dir(), f"the real corpus at {CORPUS}")
        target.mkdir()
        copy_tree(CORPUS, target)
        if "+" in name:
            older = next(CORPUS.rglob(name.split("+", 1)[1]))
            rel = older.relative_to(CORPUS).as_posix().split("@", 1)[0]
            (target / rel).write_bytes(older.read_bytes())


@pytest.mark.parametrize("name", _fixtures())
def test_validate_and_the_gates_agree_on_every_fixture(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every error validate reports is reported by a gate (the schema gate for shapes and cross-file checks, the
    gate that reads the file for the rest), and every error a gate reports about a file (not an outcome such as
    an active freeze or a denying policy) is in validate. Without refs both sides are the working tree."""
    root = tmp_path / "repo"
    _materialise(name, root)
    _, found = run(["validate", "--repo", str(root)], capsys)
    _, doc = run(["plan", "--repo", str(root), "--now", NOW], capsys)
    validate_errors = {
        (f["path"], f["line"], f["code"], f["message"]) for f in found["findings"] if f["severity"] == "error"
    }
    gate_errors = {
        (f["path"], f["line"], f["code"], f["message"])
        for g in doc["gates"]
        for f in g["findings"]
        if f["severity"] == "error" and f["path"] and not f["path"].startswith(("rules/", "data."))
    }
    assert validate_errors <= gate_errors, name
    assert {e for e in gate_errors if e[2] not in OUTCOMES} <= validate_errors, name
    if name.startswith("broken/"):
        parsers = {e for e in validate_errors if not e[2].startswith("schema-")}
        assert parsers, f"{name} should break something a gate's reader sees"
