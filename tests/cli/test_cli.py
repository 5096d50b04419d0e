"""The command line as a user meets it: exit codes, stdout vs stderr, refs, env vars, -o, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from changebot import __version__
from changebot.cli import main
from tests.support.repos import EXAMPLES, REPO_ROOT, GitRepo

NOW = "2025-09-20T12:00:00Z"
GOOD = "area: ledger\nintent: fix\nwork_items:\n  - id: L-1\n    story: s\n"
BROKEN = "area: ledger\nintent: fix\nwork_items:\n  - id: L-1\n"
BUNDLE = ".maestro/changes/20250901-ledger.yaml"
PLAN_SCHEMA = Draft202012Validator(
    json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8")),
    format_checker=FormatChecker(),
)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def go(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return go


def plan_json(run: Run, *argv: str) -> tuple[int, dict[str, object]]:
    status, out, _ = run("plan", "--now", NOW, "--format", "json", *argv)
    data = json.loads(out)
    PLAN_SCHEMA.validate(data)
    return status, data


def gate(data: dict[str, object], gate_id: str) -> dict[str, object]:
    gates = data["gates"]
    assert isinstance(gates, list)
    return next(g for g in gates if g["id"] == gate_id)


def codes(data: dict[str, object]) -> list[str]:
    findings = gate(data, "schema")["findings"]
    assert isinstance(findings, list)
    return [f["code"] for f in findings]


def test_version_from_the_real_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "changebot", "--version"], capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0] == f"changebot {__version__}"
    engines = {line.strip().rsplit(" ", 1)[0]: line.strip().rsplit(" ", 1)[1] for line in lines[1:-1]}
    assert engines["regorus (embedded Rego)"] == metadata.version("celine-regorus")
    assert engines["quickjs (rules' if)"] == metadata.version("quickjs")
    assert engines["PyGithub"] == metadata.version("PyGithub")
    assert lines[-1].startswith("  opa ")


@pytest.mark.parametrize("example", sorted(p for p in EXAMPLES.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_every_example_plans_to_json_that_matches_the_published_schema(example: Path, run: Run) -> None:
    status, data = plan_json(run, "--repo", str(example))
    assert data["verdict"] in {"pass", "warn", "fail"}
    assert status == (1 if data["verdict"] == "fail" else 0)
    assert [g["id"] for g in data["gates"]] == ["schema", "rules", "policy", "freeze", "budget", "sequence"]  # type: ignore[attr-defined]


def test_the_payments_example_fails_on_its_broken_bundle_only(run: Run) -> None:
    # A Wednesday morning: outside the example's weekend freeze, before its plan's code freeze.
    status, data = plan_json(run, "--repo", str(EXAMPLES / "payments"), "--now", "2026-01-14T10:00:00Z")
    assert status == 1
    findings = gate(data, "schema")["findings"]
    assert isinstance(findings, list)
    assert {f["path"] for f in findings} == {".maestro/changes/20260112-refund-webhooks.yaml"}
    assert sorted(f["code"] for f in findings) == ["duplicate-work-item-id", "schema-any-of", "window-end-before-start"]
    others = {g["id"]: g["status"] for g in data["gates"] if g["id"] != "schema"}  # type: ignore[attr-defined]
    assert "fail" not in others.values(), others


def test_a_repository_without_maestro_has_nothing_to_govern(make_repo: Callable[..., GitRepo], run: Run) -> None:
    repo = make_repo({"README.md": "hello\n"})
    repo.branch("feature")
    repo.commit({"src/app.py": "print('hi')\n"})
    status, data = plan_json(run, "--repo", str(repo.path), "--base", "main", "--head", "feature")
    assert status == 0
    assert data["verdict"] == "pass"
    assert gate(data, "schema")["summary"] == "no .maestro files: nothing to govern"
    assert data["pr"]["files"] == ["src/app.py"]  # type: ignore[index]


def test_proposals_come_from_head(make_repo: Callable[..., GitRepo], run: Run) -> None:
    repo = make_repo({BUNDLE: GOOD})
    repo.branch("feature")
    repo.commit({BUNDLE: BROKEN})
    status, data = plan_json(run, "--repo", str(repo.path), "--base", "main", "--head", "feature")
    assert status == 1
    assert codes(data) == ["schema-any-of"]
    status, data = plan_json(run, "--repo", str(repo.path), "--base", "feature", "--head", "main")
    assert (status, codes(data)) == (0, [])


def test_governance_comes_from_base(make_repo: Callable[..., GitRepo], run: Run) -> None:
    """The PR raises the file-size limit and relaxes the changespec schema; base still judges it."""
    repo = make_repo(
        {
            ".maestro/changebot.yaml": "limits: {max_file_bytes: 200}\n",
            ".maestro/changespec.schema.yml": "type: object\nproperties:\n  area: {enum: [server]}\n",
            ".changespec.yml": "area: server\n",
        }
    )
    repo.branch("feature")
    repo.commit(
        {
            ".maestro/changebot.yaml": "limits: {max_file_bytes: 100000}\n",
            ".maestro/changespec.schema.yml": "type: object\n",
            ".changespec.yml": "area: client\n",
            BUNDLE: GOOD + "objective: '" + "x" * 300 + "'\n",
        }
    )
    status, data = plan_json(run, "--repo", str(repo.path), "--base", "main", "--head", "feature")
    assert status == 1
    findings = gate(data, "schema")["findings"]
    assert isinstance(findings, list)
    assert [(f["path"], f["code"]) for f in findings] == [
        (".changespec.yml", "schema-enum"),
        (BUNDLE, "file-too-large"),
    ]
    # Merged, the new settings and schema govern: the same content passes.
    status, data = plan_json(run, "--repo", str(repo.path), "--base", "feature", "--head", "feature")
    assert (status, codes(data)) == (0, [])


def test_a_missing_ref_is_exit_2_with_a_clear_message(make_repo: Callable[..., GitRepo], run: Run) -> None:
    repo = make_repo({BUNDLE: GOOD})
    out_file = repo.path.parent / "plan.json"
    status, out, err = run("plan", "--repo", str(repo.path), "--base", "main", "--head", "nope", "-o", str(out_file))
    assert status == 2
    assert out == ""
    assert err.startswith("changebot: error: ref 'nope' does not exist in ")
    assert "hint: fetch it first" in err
    assert not out_file.exists()


def test_base_on_a_directory_that_is_not_git_is_exit_2(tmp_path: Path, run: Run) -> None:
    (tmp_path / ".maestro/changes").mkdir(parents=True)
    (tmp_path / BUNDLE).write_text(GOOD)
    status, out, err = run("plan", "--repo", str(tmp_path), "--base", "main")
    assert (status, out) == (2, "")
    assert f"changebot: error: {tmp_path} is not a git repository" in err
    assert "drop them to read a plain directory" in err


def test_a_missing_repository_is_exit_2(tmp_path: Path, run: Run) -> None:
    status, out, err = run("plan", "--repo", str(tmp_path / "nowhere"))
    assert (status, out) == (2, "")
    assert "no such directory" in err


def test_output_file_is_written_whole(make_repo: Callable[..., GitRepo], run: Run, tmp_path: Path) -> None:
    repo = make_repo({BUNDLE: GOOD})
    target = tmp_path / "out" / "plan.md"
    target.parent.mkdir()
    status, out, _ = run("plan", "--repo", str(repo.path), "--now", NOW, "--format", "markdown", "-o", str(target))
    assert (status, out) == (0, "")
    assert target.read_text(encoding="utf-8").startswith("### changebot: :white_check_mark: **pass**\n")
    assert [p.name for p in target.parent.iterdir()] == ["plan.md"]  # no temporary file left behind


def test_output_into_a_missing_directory_is_exit_2(make_repo: Callable[..., GitRepo], run: Run, tmp_path: Path) -> None:
    repo = make_repo({BUNDLE: GOOD})
    status, out, err = run("plan", "--repo", str(repo.path), "-o", str(tmp_path / "missing" / "plan.json"))
    assert (status, out) == (2, "")
    assert "does not exist" in err
    assert not (tmp_path / "missing").exists()


def test_environment_variables_set_flags(
    make_repo: Callable[..., GitRepo], run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({BUNDLE: BROKEN})
    monkeypatch.setenv("CHANGEBOT_REPO", str(repo.path))
    monkeypatch.setenv("CHANGEBOT_FORMAT", "json")
    monkeypatch.setenv("CHANGEBOT_NOW", NOW)
    status, out, err = run("plan")
    assert (status, err) == (1, "")
    data = json.loads(out)
    assert data["now"] == "2025-09-20T12:00:00+00:00"
    assert data["repo"] == str(repo.path)
    # a flag on the command line wins over the environment
    status, out, _ = run("plan", "--format", "text")
    assert out.startswith(f"changebot plan for {repo.path} (working tree -> working tree) at 2025-09-20T12:00:00+00:00")


def test_now_without_an_offset_is_refused(tmp_path: Path, run: Run) -> None:
    status, out, err = run("plan", "--repo", str(tmp_path), "--now", "2025-09-20T12:00:00")
    assert (status, out) == (2, "")
    assert "has no UTC offset" in err


def test_validate_reports_only_the_paths_asked_for(tmp_path: Path, run: Run) -> None:
    (tmp_path / ".maestro/changes").mkdir(parents=True)
    (tmp_path / BUNDLE).write_text(BROKEN)
    (tmp_path / ".maestro/changes/20250902-ok.yaml").write_text(GOOD.replace("L-1", "L-2"))
    status, out, err = run("validate", "--repo", str(tmp_path), ".maestro/changes/20250902-ok.yaml")
    assert (status, out, err) == (0, "0 error(s), 0 warning(s)\n", "")
    status, out, _ = run("validate", "--repo", str(tmp_path), BUNDLE)
    assert status == 1
    assert out.startswith(f"{BUNDLE}:4:5: error[schema-any-of] $.work_items[0]: expected a work item")


def test_validate_refuses_a_path_outside_the_repository(tmp_path: Path, run: Run) -> None:
    (tmp_path / "repo").mkdir()
    status, out, err = run("validate", "--repo", str(tmp_path / "repo"), "../etc/passwd")
    assert (status, out) == (2, "")
    assert "changebot: error: ../etc/passwd: path is outside the repository" in err


def test_validate_a_path_that_does_not_exist_is_exit_2(tmp_path: Path, run: Run) -> None:
    status, out, err = run("validate", "--repo", str(tmp_path), ".maestro/changes/nope.yaml")
    assert (status, out) == (2, "")
    assert f"changebot: error: .maestro/changes/nope.yaml: no such file in {tmp_path}" in err


def test_validate_says_when_it_does_not_read_a_file(tmp_path: Path, run: Run) -> None:
    (tmp_path / "notes.yaml").write_text("a: 1\n")
    status, out, _ = run("validate", "--repo", str(tmp_path), "notes.yaml")
    assert status == 0
    assert out.splitlines()[0] == (
        "notes.yaml: notice[not-governed] changebot does not read this file (see 'What changebot reads' in the README)"
    )


def test_validate_the_example_in_markdown(run: Run) -> None:
    status, out, _ = run("validate", "--repo", str(EXAMPLES / "payments"), "--format", "markdown")
    assert status == 1
    lines = out.splitlines()
    assert lines[:2] == ["| severity | where | code | message |", "|---|---|---|---|"]
    assert len(lines) == 5


def test_verbose_logs_go_to_stderr_and_results_to_stdout(make_repo: Callable[..., GitRepo]) -> None:
    repo = make_repo({BUNDLE: GOOD})
    repo.branch("feature")
    repo.commit({BUNDLE: BROKEN})
    argv = ["-v", "plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--now", NOW]
    done = subprocess.run(
        [sys.executable, "-m", "changebot", *argv, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["verdict"] == "fail"
    assert done.stderr.splitlines() == [
        "changebot: INFO: read 1 governed file(s) from main and 1 from feature; 1 file(s) changed",
        "changebot: INFO: verdict fail",
    ]
