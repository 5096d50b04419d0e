"""A non-editable install carries the schemas and rules, and plans from them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.repos import EXAMPLES, REPO_ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("changebot-*.whl")
    return built


def test_the_wheel_contains_every_schema(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"changebot/_data/schemas/{p.name}" for p in (REPO_ROOT / "schemas").glob("*.schema.json")}
    assert len(shipped) >= 12
    assert shipped <= names
    assert any(n.startswith("changebot/_data/rules/") for n in names)


def test_the_installed_wheel_plans_from_its_own_schemas(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-m", "changebot", "plan", "--repo", str(EXAMPLES / "payments"), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["verdict"] == "fail"
    where = subprocess.run(
        [sys.executable, "-c", "from changebot.core.documents import resources; print(resources.data_dir('schemas'))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=env,
    )
    assert where.stdout.strip() == str(site / "changebot" / "_data" / "schemas")
