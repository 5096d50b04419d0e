"""Fixtures a test cannot do without (the summit corpus, the npm packages): a skip locally, a failure in CI.

``.ci/run`` exports ``CHANGEBOT_REQUIRE_FIXTURES=1``, so a CI machine that lost the corpus or npm fails loudly
instead of passing with the tests that matter skipped. Skips that are not about fixtures (no ``opa`` binary,
running as root) stay plain ``pytest.skip``/``skipif``.
"""

from __future__ import annotations

import os

import pytest

ENV = "CHANGEBOT_REQUIRE_FIXTURES"


def require(condition: bool, what: str) -> None:
    """Go on when ``condition`` holds; otherwise skip, or fail when ``CHANGEBOT_REQUIRE_FIXTURES=1``."""
    if condition:
        return
    if os.environ.get(ENV) == "1":
        pytest.fail(f"{what} ({ENV}=1: required fixtures may not be skipped)", pytrace=False)
    pytest.skip(what)
