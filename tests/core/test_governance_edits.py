"""``core.policy.governance.patch_paths``: the paths a patch could touch, from its header lines only, are never
fewer than the sequence gate's parser finds (issue 16, item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from changebot.core.policy.governance import patch_paths
from changebot.core.sequence.patches import parse_patch
from tests.support import seriesfactory as sf
from tests.support.repos import GitRepo


def test_every_path_the_parser_finds_in_a_summit_shaped_series_is_named(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit(sf.BASE_FILES, "initial")
    files = sf.summit_series(repo, tmp_path / "out")
    seen: set[str] = set()
    for path in files:
        raw = path.read_bytes()
        parsed = {p for change in parse_patch(path.name, raw, 10**7).patch.changes for p in change.paths}
        assert parsed <= patch_paths(raw), path.name
        seen |= parsed
    assert {"docs/my guide.md", "docs/café.md", "src/helpers.py", "src/util.py", "assets/bundle.tar.gz"} <= seen


@pytest.mark.parametrize(
    "flags", [["--no-prefix"], ["--src-prefix=x/", "--dst-prefix=y/"], ["-M", "--binary"]], ids=str
)
def test_a_governance_file_is_named_whatever_the_prefixes(tmp_path: Path, flags: list[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit({".maestro/my rules.json": "[1]\n", ".maestro/freeze_windows.json": "[]\n"}, "initial")
    repo.git("mv", ".maestro/my rules.json", ".maestro/rules.json")
    repo.write({".maestro/freeze_windows.json": b"\x00binary\x00"})
    repo.commit({}, "edit governance")
    raw = repo.git("format-patch", "-1", "--stdout", *flags, "HEAD").encode() + b"\n"
    names = patch_paths(raw)
    assert {".maestro/rules.json", ".maestro/freeze_windows.json"} <= names
    assert ".maestro/my rules.json" in names
