"""``require``: a missing corpus or npm is a skip on a laptop and a failure in CI (``.ci/run``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.repos import REPO_ROOT
from tests.support.required import ENV

NEEDY_TEST = """
from tests.support.required import require


def test_needs_the_corpus():
    require(False, "the corpus is not at /nowhere")


def test_has_what_it_needs():
    require(True, "never shown")
"""


def _run(tmp_path: Path, required: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_needy.py").write_text(NEEDY_TEST, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["PYTHONPATH"] = str(REPO_ROOT)
    if required is not None:
        env[ENV] = required
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider", "test_needy.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("required", [None, "0"])
def test_a_missing_fixture_is_a_skip_by_default(tmp_path: Path, required: str | None) -> None:
    done = _run(tmp_path, required)
    assert done.returncode == 0, done.stdout
    assert "1 passed, 1 skipped" in done.stdout
    assert "the corpus is not at /nowhere" in done.stdout


def test_a_missing_fixture_fails_when_fixtures_are_required(tmp_path: Path) -> None:
    done = _run(tmp_path, "1")
    assert done.returncode == 1, done.stdout
    assert "1 failed, 1 passed" in done.stdout
    assert " skipped" not in done.stdout.splitlines()[-1]
    assert f"the corpus is not at /nowhere ({ENV}=1: required fixtures may not be skipped)" in done.stdout
