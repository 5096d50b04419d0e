"""Reading one patch-series directory from disk (``changebot sequence --series DIR``), within limits.

The directory is listed first and nothing is read when it holds more files than allowed, so a directory of
10,000 files costs one listing and no reads. Each file's size is checked with ``stat`` before it is read;
symbolic links and subdirectories are never followed, but listed, so that the series reports them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from changebot.errors import UsageError


@dataclass(frozen=True)
class SeriesFiles:
    """Every entry of the directory (as ``prefix/name``), the bytes of the regular files within the size cap,
    and which files were over it. An entry without bytes that is not too large is not a regular file (a
    subdirectory, a symbolic link): the series reports it rather than skipping it."""

    names: tuple[str, ...]
    contents: dict[str, bytes]
    too_many: bool
    too_large: frozenset[str] = frozenset()


def read_series_dir(directory: Path, prefix: str, max_files: int, max_bytes: int) -> SeriesFiles:
    """List ``directory`` and read its regular files, each at most ``max_bytes``; ``prefix`` names them."""
    if not directory.is_dir():
        raise UsageError(f"--series {directory}: no such directory")
    regular: list[str] = []
    other: list[str] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            (regular if entry.is_file(follow_symlinks=False) else other).append(entry.name)
    listed = tuple(f"{prefix}/{n}" for n in sorted(regular + other))
    if len(listed) > max_files:
        return SeriesFiles(listed, {}, True)
    contents: dict[str, bytes] = {}
    too_large: set[str] = set()
    for name in sorted(regular):
        path = directory / name
        if path.stat().st_size <= max_bytes:
            contents[f"{prefix}/{name}"] = path.read_bytes()
        else:
            too_large.add(f"{prefix}/{name}")
    return SeriesFiles(listed, contents, False, frozenset(too_large))
