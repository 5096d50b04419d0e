"""What the README and the settings schema promise a user, checked against what the program does today."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import cmarkgfm
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from changebot.cli import build_parser, main
from changebot.core.budget import gate as budget
from changebot.core.documents import schema
from changebot.core.documents.load import Limits
from changebot.core.freeze import gate as freeze_gate
from changebot.core.overrides.rules import DEFAULT_EXPIRES_MAX, DEFAULT_REASON_MIN_LEN, DEFAULT_WHO
from changebot.core.policy.gate import PolicySettings
from changebot.core.policy.rules import RulesSettings
from changebot.core.sequence.series import SequenceSettings
from tests.support.repos import CORPUS, EXAMPLES, REPO_ROOT, GitRepo
from tests.support.required import require

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
CHANGELOG = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
PLAN_SCHEMA = json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
SETTINGS_SCHEMA = json.loads((REPO_ROOT / "schemas" / "changebot.schema.json").read_text(encoding="utf-8"))


def test_the_quick_start_shows_what_plan_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    block = README.split("## Quick start", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    assert lines[:2] == ["$ pip install .", "$ changebot plan --repo examples/payments --now 2026-01-14T10:00:00Z"]
    end = lines.index("$ echo $?")
    monkeypatch.chdir(EXAMPLES.parent)
    status = main(["plan", "--repo", "examples/payments", "--now", "2026-01-14T10:00:00Z"])
    out = capsys.readouterr().out
    assert out.splitlines() == lines[2:end]
    assert [str(status)] == lines[end + 1 :]


@pytest.mark.parametrize("name", ["README.md", "CHANGELOG.md"])
def test_markdown_renders_without_an_unclosed_code_block(name: str) -> None:
    text = README if name == "README.md" else CHANGELOG
    fences = [line for line in text.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0, f"{name}: an odd number of ``` fences leaves a code block open"
    html = cmarkgfm.github_flavored_markdown_to_html(text)
    # every level-2 heading written in the source is a heading in the rendered page (not swallowed by a code block)
    for heading in re.findall(r"(?m)^## (.+)$", text):
        plain = re.sub(r"`([^`]*)`", r"<code>\1</code>", heading)
        assert f"<h2>{plain}</h2>" in html, f"{name}: '## {heading}' does not render as a heading"


def test_readme_names_only_environment_variables_the_code_reads() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "changebot").rglob("*.py"))
    documented = set(re.findall(r"CHANGEBOT_[A-Z_]+[A-Z]", README))
    flags = {
        "CHANGEBOT_" + a.lstrip("-").replace("-", "_").upper()
        for command in _subparsers().values()
        for action in command._actions
        for a in action.option_strings
        if a.startswith("--")
    }
    missing = sorted(v for v in documented if v not in source and v not in flags)
    assert missing == [], f"README documents variables changebot never reads: {missing}"


def test_readme_command_lines_use_only_existing_flags() -> None:
    commands = _subparsers()
    checked = 0
    for line in re.findall(r"(?m)^(?:\$ )?changebot (\w+)([^#\n]*)", README):
        name, rest = line
        if name not in commands:
            continue
        known = {a for action in commands[name]._actions for a in action.option_strings}
        for flag in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", rest):
            assert flag in known, f"README: 'changebot {name}{rest}' uses {flag}, which {name} does not have"
            checked += 1
    assert checked > 30


def _subparsers() -> dict[str, Any]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(sub.choices)


def _defaults(node: dict[str, Any]) -> dict[str, Any]:
    return {key: value.get("default") for key, value in node["properties"].items()}


def test_every_settings_key_is_documented_with_a_default() -> None:
    def walk(node: dict[str, Any], path: str) -> None:
        for key, value in node.get("properties", {}).items():
            assert "description" in value, f"{path}.{key} has no description"
            assert "default" in value or "properties" in value, f"{path}.{key} has no default"
            walk(value, f"{path}.{key}")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            walk(extra, f"{path}.*")
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, f"{path}[]")

    walk(SETTINGS_SCHEMA, "$")


def test_settings_schema_defaults_are_the_code_defaults() -> None:
    props = SETTINGS_SCHEMA["properties"]
    limits = Limits()
    assert _defaults(props["limits"]) == {
        "max_file_bytes": limits.max_file_bytes,
        "max_repo_bytes": limits.max_repo_bytes,
        "max_nodes": limits.max_nodes,
    }
    assert _defaults(props["schema"]) == {"max_findings_per_file": schema.DEFAULT_MAX_FINDINGS}
    seq = SequenceSettings()
    assert _defaults(props["sequence"]) == {k: getattr(seq, k) for k in _defaults(props["sequence"])}
    pol = PolicySettings()
    expected_policy = {k: getattr(pol, k) for k in _defaults(props["policy"])}
    expected_policy.update(packages=list(pol.packages), governance_owners=list(pol.governance_owners))
    assert _defaults(props["policy"]) == expected_policy
    rules = RulesSettings()
    assert _defaults(props["rules"]) == {"time_limit_ms": rules.time_limit_ms, "memory_limit_mb": rules.memory_limit_mb}
    freeze = _defaults(props["freeze"])
    assert (freeze["lookahead_hours"], freeze["horizon_days"], freeze["default_branch"]) == (
        freeze_gate.DEFAULT_LOOKAHEAD_HOURS,
        freeze_gate.DEFAULT_HORIZON.days,
        "main",
    )
    assert _defaults(props["budget"]) == {
        "usd_per_minute": budget.DEFAULT_USD_PER_MINUTE,
        "default_step_minutes": budget.DEFAULT_STEP_MINUTES,
        "lanes": {},
    }
    override = _defaults(props["overrides"]["additionalProperties"])
    assert override["who"] == list(DEFAULT_WHO)
    assert override["reason_min_len"] == DEFAULT_REASON_MIN_LEN
    assert override["expires_max"] == f"{int(DEFAULT_EXPIRES_MAX.total_seconds() // 3600)}h"


@pytest.mark.parametrize("name", sorted(_subparsers()))
def test_help_fits_an_80_column_terminal(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    text = _subparsers()[name].format_help()
    assert "``" not in text, f"changebot {name} --help shows reStructuredText markup"
    assert "exit status" in text, f"changebot {name} --help does not say what its exit status means"
    long = [line for line in text.splitlines() if len(line) > 80]
    assert long == [], f"changebot {name} --help has lines wider than 80 columns"


def test_plan_json_of_the_real_corpus_follows_the_published_schema(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    require(CORPUS.is_dir(), f"the corpus is not at {CORPUS}")
    files = {str(p.relative_to(CORPUS)): p.read_bytes() for p in CORPUS.rglob("*") if p.is_file()}
    older = {path.split("@")[0]: raw for path, raw in files.items() if "@" in path}
    current = {path: raw for path, raw in files.items() if "@" not in path}
    repo = make_repo({**current, **older})  # base: the older versions where there are any
    repo.branch("feature")
    repo.commit(current)
    argv = ["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature"]
    status = main([*argv, "--now", "2025-12-20T09:00:00-07:00", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    validator = Draft202012Validator(PLAN_SCHEMA, format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(data)] == []
    assert status == 1
    statuses = {g["id"]: g["status"] for g in data["gates"]}
    assert statuses["freeze"] == "fail"  # the end-of-quarter freeze
    assert "skipped" not in {statuses[g] for g in ("schema", "rules", "policy", "freeze", "budget")}


def test_ci_runs_the_static_checks_then_exactly_the_readme_test_command() -> None:
    readme = re.search(r"(?m)^pip install '\.\[test\]' && (python -m pytest.*)$", README)
    assert readme is not None, "README no longer shows the test command"
    script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    steps = dict(re.findall(r"(?m)^step ([\w-]+) (.+?)(?: \|\| exit .*)?$", script))
    assert list(steps) == ["venv", "install", "ruff", "mypy", "lint-imports", "pytest"]
    assert steps["pytest"] == readme.group(1)
    assert "'.[test]'" in steps["install"]
    assert steps["ruff"] == "ruff check changebot tests benchmarks"
    assert "export CHANGEBOT_REQUIRE_FIXTURES=1" in script
    assert "`.ci/run` runs exactly this, after `ruff check`, `mypy` and `lint-imports`" in " ".join(README.split())


def test_the_readme_workflow_matches_the_example_workflow() -> None:
    import yaml  # noqa: PLC0415 - only this test needs it

    block = README.split("(examples/workflows/changebot.yml):\n\n```yaml\n", 1)[1].split("```", 1)[0]
    shown = yaml.safe_load(block)
    example = yaml.safe_load((REPO_ROOT / "examples" / "workflows" / "changebot.yml").read_text(encoding="utf-8"))
    # PyYAML reads the key `on` as True
    assert set(shown[True]) == set(example[True])
    assert shown["permissions"] == example["permissions"]
    assert shown["jobs"]["changebot"]["if"] == example["jobs"]["changebot"]["if"]
