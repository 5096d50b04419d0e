"""The outputs are a contract: ``plan`` (JSON per ``schemas/plan.schema.json``, Markdown, text) and the
``sequence``, ``budget`` and ``freeze`` reports stay byte for byte what they were when gate details were
JSON-ready dicts.

The expected files under ``tests/render/golden/`` were written by that dict-based code; a change that alters
them changes what users, their scripts and their Rego policies read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from changebot.cli import main
from tests.support import seriesfactory as sf
from tests.support.repos import CORPUS, EXAMPLES, REPO_ROOT, GitRepo

GOLDEN = Path(__file__).parent / "golden"
NOW = "2025-12-20T09:00:00-07:00"
FORMATS = ("json", "markdown", "text")


def corpus_repo(make_repo: Callable[..., GitRepo]) -> GitRepo:
    """The summit corpus as a pull request: the older versions on ``main``, the current ones on ``feature``."""
    files = {str(p.relative_to(CORPUS)): p.read_bytes() for p in CORPUS.rglob("*") if p.is_file()}
    older = {path.split("@")[0]: raw for path, raw in files.items() if "@" in path}
    current = {path: raw for path, raw in files.items() if "@" not in path}
    repo = make_repo({**current, **older})
    repo.branch("feature")
    repo.commit(current)
    return repo


#: Every report the series repository is read with: (golden file name, arguments after ``--repo``).
REPORTS = [
    *((f"plan.{fmt}", ["plan", "--base", "main", "--head", "head", "--now", NOW, "--format", fmt]) for fmt in FORMATS),
    *((f"sequence.{fmt}", ["sequence", "--base", "main", "--head", "head", "--format", fmt]) for fmt in FORMATS),
    *(
        (f"budget.{fmt}", ["budget", "--base", "main", "--head", "head", "--now", NOW, "--format", fmt])
        for fmt in FORMATS
    ),
    *((f"freeze.{fmt}", ["freeze", "--now", NOW, "--format", fmt]) for fmt in ("json", "text")),
]


def series_repo(root: Path) -> GitRepo:
    """Every gate at work: the payments governance files plus a rule that always plans actions on ``main``, and
    a summit-shaped patch series on ``head`` that no longer applies because ``main`` moved on."""
    repo = GitRepo(root / "repo")
    repo.commit(sf.BASE_FILES, "initial")
    sf.publish(repo, sf.summit_series(repo, root / "out"))
    maestro = EXAMPLES / "payments" / ".maestro"
    governance = {
        f".maestro/{p.relative_to(maestro).as_posix()}": p.read_bytes() for p in maestro.rglob("*") if p.is_file()
    }
    always = {
        "id": "always",
        "then": [{"do": "label", "with": {"labels": ["seen"]}}, {"do": "warn", "with": {"message": "look"}}],
    }
    governance[".maestro/rules.json"] = json.dumps([always]).encode()
    repo.commit({**governance, "src/util.py": "def util():\n    return 99\n"}, "governance; base moved on")
    return repo


def plan_outputs(repo: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """``changebot plan`` in every format, with the repository's temp path made stable."""
    return run_reports(repo, [(fmt, ["plan", *argv, "--now", NOW, "--format", fmt]) for fmt in FORMATS], capsys)


def run_reports(repo: Path, reports: list[tuple[str, list[str]]], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Each report's output by name, with the repository's temp path made stable."""
    out = {}
    for name, argv in reports:
        main([argv[0], "--repo", str(repo), *argv[1:]])
        out[name] = capsys.readouterr().out.replace(str(repo), "<repo>")
    return out


def _golden(name: str, fmt: str, actual: str) -> str:
    """The expected output ``<name>.<fmt>`` (rewritten to ``actual`` first when ``CHANGEBOT_UPDATE_GOLDEN=1``)."""
    path = GOLDEN / f"{name}.{fmt}"
    if os.environ.get("CHANGEBOT_UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    return path.read_text(encoding="utf-8")


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
def test_plan_of_the_real_corpus_is_unchanged_and_follows_the_schema(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = corpus_repo(make_repo)
    outputs = plan_outputs(repo.path, ["--base", "main", "--head", "feature"], capsys)
    schema = json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(json.loads(outputs["json"]))] == []
    for fmt in FORMATS:
        assert outputs[fmt] == _golden("corpus", fmt, outputs[fmt]), fmt


def test_plan_of_the_payments_example_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = plan_outputs(EXAMPLES / "payments", [], capsys)
    for fmt in FORMATS:
        assert outputs[fmt] == _golden("payments", fmt, outputs[fmt]), fmt


def test_every_report_of_a_repository_with_every_gate_at_work_is_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = run_reports(series_repo(tmp_path).path, REPORTS, capsys)
    plan = json.loads(outputs["plan.json"])
    assert {g["id"]: g["status"] for g in plan["gates"]}["sequence"] == "fail"
    assert plan["actions"] and "flowchart TD" in outputs["plan.markdown"]
    for name, _ in REPORTS:
        assert outputs[name] == _golden("series", name, outputs[name]), name
