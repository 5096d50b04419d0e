"""Reading one patch-series directory from disk (``changebot sequence --series DIR``), within limits.

The directory is listed first and nothing is read when it holds more files than allowed, so a directory of
10,000 files costs one listing and no reads. Each file's size is checked with ``stat`` before it is read;
symbolic links and subdirectories are never followed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from changebot.errors import UsageError


@dataclass(frozen=True)
class SeriesFiles:
    """The listed files (as ``prefix/name``) and the bytes of those within the size cap."""

    names: tuple[str, ...]
    contents: dict[str, bytes]
    too_many: bool


def read_series_dir(directory: Path, prefix: str, max_files: int, max_bytes: int) -> SeriesFiles:
    """List ``directory`` and read its regular files, each at most ``max_bytes``; ``prefix`` names them."""
    if not directory.is_dir():
        raise UsageError(f"--series {directory}: no such directory")
    names: list[str] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                names.append(entry.name)
    listed = tuple(f"{prefix}/{n}" for n in sorted(names))
    if len(names) > max_files:
        return SeriesFiles(listed, {}, True)
    contents: dict[str, bytes] = {}
    for name in sorted(names):
        path = directory / name
        if path.stat().st_size <= max_bytes:
            contents[f"{prefix}/{name}"] = path.read_bytes()
    return SeriesFiles(listed, contents, False)
