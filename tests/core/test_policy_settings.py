"""Settings sections ``rules`` and ``policy``: the schema documents the defaults the code uses."""

from __future__ import annotations

import jsonschema
import pytest

from changebot.core.documents.resources import schema
from changebot.core.policy.gate import PolicySettings, policy_settings
from changebot.core.policy.rules import RulesSettings, rules_settings


def _defaults(section: str) -> dict[str, object]:
    props = schema("changebot")["properties"][section]["properties"]
    return {key: spec["default"] for key, spec in props.items()}


def test_schema_defaults_agree_with_the_code() -> None:
    assert _defaults("rules") == {
        "time_limit_ms": RulesSettings().time_limit_ms,
        "memory_limit_mb": RulesSettings().memory_limit_mb,
    }
    code = PolicySettings()
    assert _defaults("policy") == {
        "engine": code.engine,
        "opa_url": code.opa_url,
        "strict": code.strict,
        "timeout_seconds": code.timeout_seconds,
        "retries": code.retries,
        "default_library": code.default_library,
        "packages": list(code.packages),
        "governance_owners": list(code.governance_owners),
    }


def test_sections_are_read() -> None:
    assert rules_settings({"time_limit_ms": 20, "memory_limit_mb": 8}) == RulesSettings(20, 8)
    assert rules_settings({"time_limit_ms": "fast", "memory_limit_mb": 0}) == RulesSettings()
    parsed = policy_settings(
        {"opa_url": "http://127.0.0.1:8181", "timeout_seconds": 2, "packages": ["a.b"], "governance_owners": ["ana"]}
    )
    assert parsed == PolicySettings(
        engine="opa-server",
        opa_url="http://127.0.0.1:8181",
        timeout_seconds=2.0,
        packages=("a.b",),
        governance_owners=("ana",),
    )
    assert policy_settings({"engine": "embedded", "opa_url": "http://x"}).engine == "embedded"
    assert policy_settings({"engine": "opa", "opa_url": "http://x"}).engine == "opa-server"
    assert policy_settings({"engine": "opa"}).engine == "opa"
    assert policy_settings({"engine": "auto", "strict": True}) == PolicySettings(engine="auto", strict=True)
    assert policy_settings({"timeout_seconds": True, "retries": -1, "default_library": False}) == PolicySettings(
        default_library=False
    )


@pytest.mark.parametrize(
    "section",
    [
        {"policy": {"engine": "wasm"}},
        {"policy": {"timeout_seconds": 0}},
        {"policy": {"packages": ["not a package"]}},
        {"rules": {"time_limit_ms": 0}},
        {"rules": {"memory_limit_mb": 4096}},
    ],
)
def test_schema_rejects_bad_values(section: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": 1, **section}, schema("changebot"))


def test_schema_accepts_a_full_section() -> None:
    jsonschema.validate(
        {
            "version": 1,
            "rules": {"time_limit_ms": 100, "memory_limit_mb": 64},
            "policy": {
                "engine": "opa",
                "opa_url": "http://127.0.0.1:8181",
                "timeout_seconds": 2.5,
                "retries": 1,
                "default_library": False,
                "packages": ["maestro.gate"],
                "governance_owners": ["ana"],
            },
        },
        schema("changebot"),
    )
