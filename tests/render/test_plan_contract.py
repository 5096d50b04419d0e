"""The plan's outputs are a contract: JSON (``schemas/plan.schema.json``), Markdown and text stay byte for byte
what they were when gate details were JSON-ready dicts.

The expected files under ``tests/render/golden/`` were written by that dict-based code; a change that alters
them changes what users, their scripts and their Rego policies read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from changebot.cli import main
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


def plan_outputs(repo: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """``changebot plan`` in every format, with the repository's temp path made stable."""
    out = {}
    for fmt in FORMATS:
        main(["plan", "--repo", str(repo), *argv, "--now", NOW, "--format", fmt])
        out[fmt] = capsys.readouterr().out.replace(str(repo), "<repo>")
    return out


def _golden(name: str, fmt: str) -> str:
    return (GOLDEN / f"{name}.{fmt}").read_text(encoding="utf-8")


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
        assert outputs[fmt] == _golden("corpus", fmt), fmt


def test_plan_of_the_payments_example_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = plan_outputs(EXAMPLES / "payments", [], capsys)
    for fmt in FORMATS:
        assert outputs[fmt] == _golden("payments", fmt), fmt
