"""The ``queue_url`` fixture: each queue backend changebot has, fresh for one test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh queue of each backend: a SQLite file in the test's temp dir, and a new database on the session
    PostgreSQL (``tests.support.postgres``)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    return str(request.getfixturevalue("postgres_url"))
