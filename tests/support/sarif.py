"""The official SARIF 2.1.0 JSON Schema, from npm at a pinned version, as a validator.

``@microsoft/jest-sarif`` (MIT) ships the OASIS schema as ``lib/schemas/sarif-2.1.0-rtm.5.json`` (2.1.0-rtm.5 is
the final 2.1.0 schema, the one json.schemastore.org serves as ``sarif-2.1.0.json``). It is fetched by the test
setup (``tests.support.npm``), not copied into the repository.
"""

from __future__ import annotations

import json
from functools import cache

from jsonschema import Draft4Validator, FormatChecker

from tests.support import npm

SARIF_SCHEMA = npm.Pinned(
    "@microsoft/jest-sarif",
    "1.0.0-beta.0",
    "sha512-A1fOhPd6Ic5iDk4F9YPw1qNB4XF+7+IviR7xl8r2F6QzQkx5cpY9LsGk2rExiFIEcBbjpVnSmwWGBukASkiQ9A==",
    ("lib/schemas/sarif-2.1.0-rtm.5.json",),
)


@cache
def sarif_validator() -> Draft4Validator:
    """A validator for SARIF 2.1.0 logs (skips, or fails in CI, when the schema cannot be fetched)."""
    path = npm.fetch(SARIF_SCHEMA) / SARIF_SCHEMA.keep[0]
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=FormatChecker())
