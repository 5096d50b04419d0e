"""`changebot validate` over a git repository holding a copy of the summit corpus: the pinned findings."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from changebot.cli import main
from tests.support.repos import CORPUS, GitRepo
from tests.support.required import require


@pytest.fixture(autouse=True)
def _corpus() -> None:
    require(CORPUS.is_dir(), f"the corpus is not at {CORPUS}")


#: What a maintainer would agree is wrong in the corpus as it stands (file, line, code).
EXPECTED = [
    (
        ".maestro/changes/20250915-sprint-next-prov-ledger-copilot-connectors.yaml:84:5",
        "schema-type",
        "$.definition_of_done[1]: expected a string, found a mapping with keys E2E (an unquoted ': ' makes YAML "
        "read the text as a key; quote the whole text) (change bundle schema)",
    ),
    (
        ".maestro/changes/20251117-phase3-sprint3-community.yaml:8",
        "duplicate-work-item-id",
        "work item id 'CP-1' is already used in .maestro/changes/20250915-copilot-hardening.yaml (line 6): "
        "expected ids unique across all bundles",
    ),
    (
        ".maestro/pipeline.yaml:161",
        "policy-missing",
        "policies[0] names .ci/policies/release.rego, which the base branch does not have",
    ),
]


def _corpus_files(versions: bool) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file() and ("@" in path.name) == versions:
            out[path.relative_to(CORPUS).as_posix()] = path.read_bytes()
    return out


def test_validate_corpus_pins_the_findings(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(_corpus_files(versions=False))
    status = main(["validate", "--repo", str(repo.path)])
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{where}: error[{code}] {message}" for where, code, message in EXPECTED] + [
        "3 error(s), 0 warning(s)"
    ]
    assert status == 1


def test_plan_over_corpus_with_refs_reports_inherited_errors_as_warnings(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    """The corpus's two real problems are already on main: a PR that does not cause them is warned, not failed;
    a PR that adds a broken bundle fails for that bundle alone."""
    repo = make_repo(_corpus_files(versions=False))
    repo.branch("feature")
    repo.commit({"notes.txt": "x"})
    main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json"])
    plan = json.loads(capsys.readouterr().out)
    schema_gate = {g["id"]: g for g in plan["gates"]}["schema"]
    assert schema_gate["status"] == "warn"
    inherited = schema_gate["findings"]
    assert sorted(f["code"] for f in inherited) == ["duplicate-work-item-id", "schema-type"]
    assert {f["severity"] for f in inherited} == {"warning"}
    assert all(
        f["message"].endswith("(already so on the base branch: not introduced by this pull request)") for f in inherited
    )
    repo.commit({".maestro/changes/20251202-new.yaml": "- not\n- a mapping\n"})
    main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json"])
    schema_gate = {g["id"]: g for g in json.loads(capsys.readouterr().out)["gates"]}["schema"]
    assert schema_gate["status"] == "fail"
    errors = [f for f in schema_gate["findings"] if f["severity"] == "error"]
    assert [f["path"] for f in errors] == [".maestro/changes/20251202-new.yaml"]
    assert sum(f["severity"] == "warning" for f in schema_gate["findings"]) == 2


@pytest.mark.parametrize("name", sorted(_corpus_files(versions=True)) if CORPUS.is_dir() else ["(no corpus)"])
def test_every_older_version_is_valid_in_place_of_the_current_one(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Swap each ``name@<sha>`` in for its current file: none adds a finding of its own."""
    shutil.copytree(CORPUS, tmp_path / "repo", ignore=shutil.ignore_patterns("*@*"))
    target = tmp_path / "repo" / name.split("@", maxsplit=1)[0]
    target.write_bytes((CORPUS / name).read_bytes())
    status = main(["validate", "--repo", str(tmp_path / "repo"), "--format", "json"])
    codes = sorted(f["code"] for f in json.loads(capsys.readouterr().out)["findings"])
    # the current pipeline.yaml names a policy the corpus does not have (the policy gate fails on it too)
    names_missing_policy = name != ".maestro/pipeline.yaml@64e65415"
    assert codes == ["duplicate-work-item-id", *(["policy-missing"] if names_missing_policy else []), "schema-type"]
    assert status == 1


def test_an_error_the_pr_causes_in_a_file_it_did_not_touch_still_fails(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = "area: payments\nintent: harden\nwork_items:\n  - id: PAY-1\n    story: refunds\n"
    repo = make_repo(
        {".maestro/changes/20251201-a.yaml": bundle, ".maestro/changebot.yaml": "policy:\n  default_library: false\n"}
    )
    repo.branch("feature")
    repo.commit({".maestro/changes/20251202-b.yaml": bundle})
    assert main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json"]) == 1
    schema_gate = {g["id"]: g for g in json.loads(capsys.readouterr().out)["gates"]}["schema"]
    assert schema_gate["status"] == "fail"
    assert [(f["code"], f["severity"]) for f in schema_gate["findings"]] == [("duplicate-work-item-id", "error")]


def test_a_broken_file_inherited_from_base_warns_and_a_newly_broken_one_fails(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({".maestro/changes/20251201-a.yaml": "- a list\n", ".maestro/changebot.yaml": "version: 1\n"})
    repo.branch("feature")
    repo.commit({"README.md": "docs\n"})
    main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json"])
    gate = {g["id"]: g for g in json.loads(capsys.readouterr().out)["gates"]}["schema"]
    assert gate["status"] == "warn"
    assert [(f["path"], f["severity"]) for f in gate["findings"]] == [(".maestro/changes/20251201-a.yaml", "warning")]
    repo.commit({".maestro/changebot.yaml": "version: 2\n"})  # the PR breaks the settings file
    main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json"])
    gate = {g["id"]: g for g in json.loads(capsys.readouterr().out)["gates"]}["schema"]
    assert gate["status"] == "fail"
    assert sorted((f["path"], f["severity"]) for f in gate["findings"]) == [
        (".maestro/changebot.yaml", "error"),
        (".maestro/changes/20251201-a.yaml", "warning"),
    ]
