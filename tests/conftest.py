"""Fixtures every test folder shares: real git repositories, and the GitHub REST double."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.github_fixtures import github, github_checker, github_mode, github_spec  # noqa: F401 - fixtures
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.support.queues import queue_url  # noqa: F401 - fixture
from tests.support.repos import GitRepo


@pytest.fixture
def make_repo(tmp_path: Path) -> Iterator[Callable[..., GitRepo]]:
    """``make_repo(files)`` -> a git repository whose first commit on ``main`` holds ``files``."""
    counter = 0

    def make(files: Mapping[str, str | bytes | None] | None = None, name: str | None = None) -> GitRepo:
        nonlocal counter
        counter += 1
        repo = GitRepo(tmp_path / (name or f"repo{counter}"))
        repo.commit(dict(files or {}), "initial")
        return repo

    yield make
