"""``changebot init``: scaffolds the settings, the workflow and the editor mapping; never overwrites without --force."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from changebot.cli import main
from changebot.cli.init import schema_url
from tests.support.repos import REPO_ROOT

FILES = (".maestro/changebot.yaml", ".github/workflows/changebot.yml", ".vscode/settings.json")


def init(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = main(["init", "--repo", str(root), *extra])
    return code, capsys.readouterr().out.splitlines()


def test_init_twice_creates_then_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = init(tmp_path, capsys)
    assert code == 0
    assert lines == [f"created   {f}" for f in FILES]
    before = {f: (tmp_path / f).read_bytes() for f in FILES}
    code, lines = init(tmp_path, capsys)
    assert (code, lines) == (0, [f"unchanged {f}" for f in FILES])
    assert {f: (tmp_path / f).read_bytes() for f in FILES} == before

    settings = (tmp_path / FILES[0]).read_text(encoding="utf-8")
    assert settings.splitlines()[0] == f"# yaml-language-server: $schema={schema_url('changebot')}"
    assert yaml.safe_load(settings) == {"version": 1}  # every other key is a commented default
    assert main(["validate", "--repo", str(tmp_path)]) == 0
    assert (tmp_path / FILES[1]).read_text(encoding="utf-8") == (
        REPO_ROOT / "examples" / "workflows" / "changebot.yml"
    ).read_text(encoding="utf-8")
    editor = json.loads((tmp_path / FILES[2]).read_text(encoding="utf-8"))
    assert editor["yaml.schemas"][schema_url("bundle")] == [".maestro/changes/*.yaml", ".maestro/changes/*.yml"]
    assert {"fileMatch": [".maestro/rules.json"], "url": schema_url("rules")} in editor["json.schemas"]
    names = {url.rsplit("/", 1)[1] for url in [*editor["yaml.schemas"], *(e["url"] for e in editor["json.schemas"])]}
    assert names <= {p.name for p in (REPO_ROOT / "schemas").glob("*.schema.json")}


def test_init_keeps_files_that_differ_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = "version: 1\nmode: advisory\n"
    (tmp_path / ".maestro").mkdir()
    (tmp_path / FILES[0]).write_text(mine, encoding="utf-8")
    (tmp_path / ".vscode").mkdir()
    (tmp_path / FILES[2]).write_text('{"editor.tabSize": 2}', encoding="utf-8")
    code, lines = init(tmp_path, capsys)
    assert code == 0
    assert lines[0] == f"kept      {FILES[0]} (it exists and differs; --force overwrites it)"
    assert (tmp_path / FILES[0]).read_text(encoding="utf-8") == mine
    editor = json.loads((tmp_path / FILES[2]).read_text(encoding="utf-8"))
    assert editor["editor.tabSize"] == 2 and schema_url("changebot") in editor["yaml.schemas"]
    assert init(tmp_path, capsys)[1][1:3] == [f"unchanged {FILES[1]}", f"unchanged {FILES[2]}"]

    code, lines = init(tmp_path, capsys, "--force")
    assert (code, lines[0]) == (0, f"replaced  {FILES[0]}")
    assert (tmp_path / FILES[0]).read_text(encoding="utf-8").startswith("# yaml-language-server:")


def test_init_refuses_a_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--repo", str(tmp_path / "nope")]) == 2
    assert not (tmp_path / "nope").exists()
