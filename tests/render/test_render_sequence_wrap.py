"""A long patch series reads in lines a terminal can show: the ``order`` and ``independent groups`` lines wrap."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from changebot.cli import main
from changebot.render.sequence import wrapped
from tests.support import seriesfactory as sf
from tests.support.repos import GitRepo


def test_the_order_of_a_long_series_wraps_at_100_columns(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({"README.md": "hi\n"})
    repo.branch("feature")
    for i in range(1, 46):
        repo.commit({f"src/f{i}.txt": f"{i}\n"}, f"add file {i}")
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    sf.publish(repo, files, pr="7")
    assert main(["sequence", "--repo", str(repo.path), "--base", "main", "--head", "head"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    start = next(i for i, line in enumerate(lines) if line.startswith("  order: "))
    order = " ".join(lines[start : start + 5]).removeprefix("  order: ").split(" -> ")
    assert [o.strip() for o in order] == [f"{i:04d}" for i in range(1, 46)]
    assert all(line.startswith(" " * 9 + "0") for line in lines[start + 1 : start + 4])


def test_wrapping_keeps_short_lists_on_one_line_and_gives_a_wide_item_its_own() -> None:
    assert wrapped("  order: ", ["0001", "0002"], " -> ") == ["  order: 0001 -> 0002"]
    assert wrapped("  x: ", ["a" * 30, "b" * 30], "; ", width=40) == ["  x: " + "a" * 30 + ";", "     " + "b" * 30]
