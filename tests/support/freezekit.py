"""Helpers for freeze and budget tests: a Context over in-memory files (the core is pure, so no disk needed)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from changebot.core.context import Context, make_context
from changebot.model import PullRequest, RepoFiles
from changebot.usecases import plan as planning


def files_of(files: Mapping[str, str]) -> RepoFiles:
    return RepoFiles(None, None, {k: v.encode() for k, v in files.items()}, frozenset(files))


def context(repo_files: Mapping[str, str], now: str, **pr: Any) -> Context:
    side = files_of(repo_files)
    return make_context(side, side, PullRequest(**pr), datetime.fromisoformat(now), planning.settings_from(side))
