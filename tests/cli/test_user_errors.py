"""Mistakes a user makes on the command line: exit 2, a message naming the flag or variable, no traceback,
nothing half-written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from changebot.cli import main
from tests.support.repos import EXAMPLES

NOW = "2026-01-14T10:00:00Z"
PAYMENTS = str(EXAMPLES / "payments")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_output_to_a_directory_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(capsys, "plan", "--repo", PAYMENTS, "--now", NOW, "-o", str(tmp_path))
    assert (status, out) == (2, "")
    assert err == f"changebot: error: -o {tmp_path}: is a directory\nhint: name a file to write, e.g. -o plan.md\n"
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only directory")
def test_output_into_a_read_only_directory_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        status, out, err = run(capsys, "freeze", "--repo", PAYMENTS, "--format", "ics", "-o", str(tmp_path / "f.ics"))
    finally:
        tmp_path.chmod(0o755)
    assert (status, out) == (2, "")
    assert err.startswith(f"changebot: error: -o {tmp_path / 'f.ics'}: cannot write in {tmp_path} (")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, where nobody can create files")
def test_output_into_proc_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "freeze", "--repo", PAYMENTS, "--format", "ics", "-o", "/proc/changebot.ics")
    assert (status, out) == (2, "")
    assert err.startswith("changebot: error: -o /proc/changebot.ics: cannot write in /proc (")
    assert err.endswith(")\nhint: choose a directory you can write to\n")


def test_output_where_the_parent_is_a_file_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "plan.json"
    blocker.write_text("keep me\n")
    status, out, err = run(capsys, "plan", "--repo", PAYMENTS, "--now", NOW, "-o", str(blocker / "x.json"))
    assert (status, out) == (2, "")
    assert err.startswith("changebot: error: -o ")
    assert "Traceback" not in err
    assert blocker.read_text() == "keep me\n"


def test_a_bad_format_from_the_environment_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANGEBOT_FORMAT", "xml")
    status, out, err = run(capsys, "plan", "--repo", PAYMENTS, "--now", NOW)
    assert (status, out) == (2, "")
    assert err.splitlines()[-1] == (
        "changebot plan: error: argument --format: invalid choice: 'xml' "
        "(choose from text, markdown, json, sarif; from --format or CHANGEBOT_FORMAT)"
    )
    # the command line still wins over the environment
    status, out, _ = run(capsys, "plan", "--repo", PAYMENTS, "--now", NOW, "--format", "json")
    assert status == 1
    assert out.startswith("{")


def test_a_bad_format_on_the_command_line_names_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "freeze", "--repo", PAYMENTS, "--format", "markdown")
    assert (status, out) == (2, "")
    assert "argument --format: invalid choice: 'markdown' (choose from text, json, ics" in err


def test_a_bad_verbosity_from_the_environment_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANGEBOT_VERBOSE", "loud")
    status, out, err = run(capsys, "plan", "--repo", PAYMENTS, "--now", NOW)
    assert (status, out) == (2, "")
    assert err == (
        "changebot: error: CHANGEBOT_VERBOSE='loud' is not a number\nhint: set it to 1 (like -v) or 2 (like -vv)\n"
    )


def test_validate_in_markdown_with_nothing_to_report_is_a_sentence_not_an_empty_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / ".maestro").mkdir()
    status, out, err = run(capsys, "validate", "--repo", str(tmp_path), "--format", "markdown")
    assert (status, err) == (0, "")
    assert out == "No findings: 0 error(s), 0 warning(s).\n"


def test_audit_at_a_ref_of_a_plain_directory_names_the_flag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    argv = [
        "audit",
        "--repo",
        "octo/app",
        "--checkout",
        str(tmp_path),
        "--ref",
        "main",
        "--api-url",
        "http://127.0.0.1:9",
    ]
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err == (
        f"changebot: error: {tmp_path} is not a git repository\n"
        "hint: reading at a ref (--base/--head, audit --ref) needs a git repository; "
        "drop them to read a plain directory\n"
    )


def test_audit_without_a_token_says_every_way_to_give_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("CHANGEBOT_TOKEN", raising=False)
    status, out, err = run(capsys, "audit", "--repo", "octo/app")
    assert (status, out) == (2, "")
    assert err == (
        "changebot: error: no GitHub token\nhint: set CHANGEBOT_TOKEN or GITHUB_TOKEN "
        "(in Actions: env: GITHUB_TOKEN: ${{ github.token }}), or pass --token\n"
    )
