"""``require``: a missing corpus or npm is a skip on a laptop and a failure in CI (``.ci/run``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.repos import REPO_ROOT
from tests.support.required import ENV, require

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


NPM_TEST = """
from tests.support import npm
from tests.support.sarif import SARIF_SCHEMA


def test_needs_an_npm_package():
    npm.fetch(SARIF_SCHEMA)
"""


def _run_npm(tmp_path: Path, required: str | None, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """A test needing an npm package, with an empty cache and a registry that does not answer."""
    (tmp_path / "test_npm.py").write_text(NPM_TEST, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != ENV and not k.lower().startswith("npm_config_")}
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        CHANGEBOT_TEST_CACHE=str(tmp_path / "cache"),
        npm_config_registry="http://127.0.0.1:9/",
        npm_config_cache=str(tmp_path / "npm-cache"),
        npm_config_fetch_retries="0",
        npm_config_offline="false",
    )
    if path is not None:
        env["PATH"] = path
    if required is not None:
        env[ENV] = required
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider", "test_npm.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_the_cache_or_the_registry_npm_fixtures_skip_with_the_reason(tmp_path: Path) -> None:
    done = _run_npm(tmp_path, None)
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "@microsoft/jest-sarif@1.0.0-beta.0 could not be fetched from the npm registry" in done.stdout


def test_without_the_registry_npm_fixtures_fail_when_required(tmp_path: Path) -> None:
    done = _run_npm(tmp_path, "1")
    assert done.returncode == 1, done.stdout
    assert "could not be fetched from the npm registry" in done.stdout
    assert f"({ENV}=1: required fixtures may not be skipped)" in done.stdout


def test_without_npm_on_path_the_skip_says_node_and_npm_are_needed(tmp_path: Path) -> None:
    done = _run_npm(tmp_path, None, path=str(Path(sys.executable).parent))
    assert done.returncode == 0, done.stdout
    assert "npm is not on PATH: Node.js and npm fetch @microsoft/jest-sarif@1.0.0-beta.0" in done.stdout


def test_a_fetched_package_keeps_only_the_files_tests_read_and_checks_its_integrity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support import npm  # noqa: PLC0415 - after the cache is pointed at tmp_path
    from tests.support.sarif import SARIF_SCHEMA  # noqa: PLC0415

    require(shutil.which("npm") is not None, "npm is not on PATH")
    monkeypatch.setenv(npm.CACHE_ENV, str(tmp_path / "cache"))
    where = npm.fetch(SARIF_SCHEMA)
    assert where.is_relative_to(tmp_path / "cache")
    assert sorted(str(p.relative_to(where)) for p in where.rglob("*") if p.is_file()) == [
        npm.DONE,
        *SARIF_SCHEMA.keep,
    ]
    tampered = npm.Pinned(SARIF_SCHEMA.name, SARIF_SCHEMA.version, "sha512-AAAA", SARIF_SCHEMA.keep)
    monkeypatch.setenv(npm.CACHE_ENV, str(tmp_path / "other"))
    with pytest.raises(AssertionError, match="is not the pinned sha512-AAAA"):
        npm.fetch(tampered)
    assert not (tmp_path / "other" / "npm" / "@microsoft+jest-sarif@1.0.0-beta.0").exists()
