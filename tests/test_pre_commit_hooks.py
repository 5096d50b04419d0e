"""``.pre-commit-hooks.yaml``: the real ``pre-commit`` (PyPI) runs ``changebot-validate`` from this repository
against a temporary repository with ``try-repo``: it installs changebot into its own environment as a user's
hook would."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.repos import GIT_ENV, REPO_ROOT, GitRepo
from tests.support.required import require

BAD = ".maestro/changes/20250902-bad.yaml"


def try_repo(repo: GitRepo, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHANGEBOT_", "PRE_COMMIT"))}
    env.update(GIT_ENV, PRE_COMMIT_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO_ROOT), "changebot-validate", *args],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_manifest_declares_changebot_validate_on_the_governed_files() -> None:
    [hook] = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert (hook["id"], hook["entry"], hook["language"]) == ("changebot-validate", "changebot validate", "python")


def test_changebot_validate_runs_under_pre_commit_try_repo(tmp_path: Path) -> None:
    require(importlib.util.find_spec("pre_commit") is not None, "pre-commit is not installed (pip install '.[test]')")
    require((REPO_ROOT / ".git").exists(), f"{REPO_ROOT} is not a git checkout: try-repo clones it")
    repo = GitRepo(tmp_path / "repo")
    repo.commit({BAD: "area: [unclosed\n", ".maestro/changes/20250901-ok.yaml": "area: payments\nintent: x\n"})
    home = tmp_path / "pre-commit-home"

    failed = try_repo(repo, home, "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "changebot validate" in failed.stdout and "Failed" in failed.stdout
    assert f"{BAD}:2:1: error[yaml-syntax] YAML syntax error" in failed.stdout

    repo.commit({BAD: "area: payments\nintent: harden\n"}, "fix the bundle")
    passed = try_repo(repo, home, "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout

    (repo.path / "docs.md").write_text("not governed\n", encoding="utf-8")
    repo.git("add", "docs.md")
    skipped = try_repo(repo, home)  # only the staged files: none that changebot governs
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "(no files to check)Skipped" in skipped.stdout
