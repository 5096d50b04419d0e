"""Fixtures for the GitHub REST double (imported by conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.github_double import ROUTES, GitHubDouble, SpecChecker
from tests.support.octokit import openapi


@pytest.fixture(scope="session")
def github_spec() -> dict[str, Any]:
    """GitHub's OpenAPI description, reduced to the operations the double serves (fetched once)."""
    return openapi(tuple(sorted({t for _, t in ROUTES})))


@pytest.fixture(scope="session")
def github_checker(github_spec: dict[str, Any]) -> SpecChecker:
    """One validator set for the session (compiled schemas are reused across tests)."""
    return SpecChecker(github_spec)


@pytest.fixture
def github_mode() -> str:
    """How the double answers: ``full`` (every field it keeps), or ``required-only`` (only the fields GitHub's
    description requires). Parametrise a test with ``github_mode`` to run it both ways."""
    return "full"


@pytest.fixture
def github(github_checker: SpecChecker, github_mode: str) -> Iterator[GitHubDouble]:
    """A running GitHub double (``github.base_url``); fails the test if any request broke GitHub's spec."""
    double = GitHubDouble(token="test-token", checker=github_checker, required_only=github_mode == "required-only")
    server = double.serve()
    try:
        yield double
    finally:
        server.stop()
    problems = "\n".join(double.violations)
    assert not double.violations, f"requests or answers that GitHub's OpenAPI description does not allow:\n{problems}"
