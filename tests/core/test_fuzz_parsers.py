"""Fuzz: every loader and every calendar parser gives findings or a value on any input, never an exception.

Two kinds of input, from hypothesis: arbitrary bytes in each governed file, and *structured* YAML, documents
of the right shape (a calendar entry, a pipeline, a plan, settings) whose values are drawn from the values
that broke parsers before (``FRI 17:00:60 UTC``, a 5,000-digit hex integer, rrule and cron fragments, dates
out of range) mixed with arbitrary text and numbers. Each case runs the pure core over them: the loaders,
the schema gate, the freeze gate (which reads every calendar shape and queries it), the budget gate's
pipeline reader, rules.json and patch parsing. ``max_examples`` keeps CI to a few seconds per target; the
longer run is ``CHANGEBOT_FUZZ_EXAMPLES=5000`` (benchmarks/README.md, "hardening").
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from changebot.core.budget.gate import budget_gate
from changebot.core.documents.load import load_any
from changebot.core.freeze.gate import freeze_gate
from changebot.core.policy.rules import parse_rules
from changebot.core.schema.gate import schema_gate
from changebot.core.sequence.patches import parse_patch
from changebot.model import GateResult
from tests.support.freezekit import context

EXAMPLES = int(os.environ.get("CHANGEBOT_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PATHS = [
    ".maestro/pipeline.yaml",
    ".maestro/freeze_windows.json",
    "release-policy.yml",
    ".maestro/changebot.yaml",
    ".maestro/plan-x.yaml",
    ".maestro/changes/20250901-x.yaml",
    ".maestro/rules.json",
    ".maestro/ci_budget.json",
    ".maestro/xrepo.yaml",
]
NASTY = [
    "FRI 17:00:60 UTC",
    "FRI 25:00 UTC",
    "MON 09:00 Mars/Base",
    "SUN 23:59:59 Europe/Berlin",
    "FREQ=WEEKLY;BYDAY=SA,SU",
    "FREQ=SECONDLY",
    "FREQ=MINUTELY;INTERVAL=10",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;COUNT=99999999",
    "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=DAILY;UNTIL=99991231T000000",
    "RRULE:FREQ=MONTHLY;BYSETPOS=0",
    "* * * * *",
    "0 17 * * FRI",
    "61 25 * * *",
    "0 0 30 2 *",
    "PT8H",
    "P9999999D",
    "-PT1H",
    "8h",
    "1e308d",
    "2025-12-15T00:00:00Z",
    "2025-13-01T00:00:00",
    "0001-01-01T00:00:00-05:00",
    "9999-12-31T23:59:59+14:00",
    "99999-01-01T00:00:00Z",
    "2025-09-27T17:00:00-06:00",
    "America/Denver",
    "Nowhere/City",
    "../../etc/passwd",
    "UTC",
    "0x" + "f" * 5000,
    "9" * 5000,
    "",
    "\u200b",
]
SCALARS = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
KEYS = st.sampled_from(
    [
        "name", "start", "end", "from", "to", "rrule", "cron", "duration", "timezone", "tz", "active",
        "enabled", "dtstart", "file", "windows", "code_freeze", "freeze", "window", "plan", "id", "if",
        "when", "then", "steps", "run", "budgets", "calendars", "limits", "max_nodes", "freeze_windows",
    ]
)  # fmt: skip
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5), max_leaves=20
)
ENTRY = st.dictionaries(KEYS, SCALARS, max_size=6)


def _dump(value: Any, path: str) -> str:
    if path.endswith(".json"):
        import json  # noqa: PLC0415

        return json.dumps(value)
    return yaml.safe_dump(value, allow_unicode=True)


def _run_core(files: dict[str, str]) -> None:
    """Everything the pure core does with governance and proposal files; each gate must return a value."""
    ctx = context(files, "2025-12-20T12:00:00Z", base_branch="main")
    for result in (schema_gate(ctx), freeze_gate(ctx, ()), budget_gate(ctx, None)):
        assert isinstance(result, GateResult)
    for path, text in files.items():
        loaded = load_any(path, text.encode("utf-8", "surrogatepass"))
        assert loaded.document is not None or loaded.findings
        if path.endswith("rules.json") and loaded.document is not None:
            parse_rules(loaded.document)


@FUZZ
@given(st.sampled_from(PATHS), st.binary(max_size=400))
def test_any_bytes_in_any_governed_file(path: str, raw: bytes) -> None:
    loaded = load_any(path, raw)
    assert loaded.document is not None or loaded.findings
    text = raw.decode("utf-8", "replace").replace("\x00", "")
    _run_core({path: text})


@FUZZ
@given(st.lists(ENTRY, min_size=1, max_size=4))
def test_weekly_rrule_cron_and_absolute_entries_in_a_pipeline(entries: list[dict[str, Any]]) -> None:
    _run_core(
        {".maestro/pipeline.yaml": _dump({"pipeline": {"name": "p", "steps": []}, "freeze_windows": entries}, "x.yaml")}
    )


@FUZZ
@given(st.lists(ENTRY, max_size=4), SCALARS, SCALARS)
def test_release_policy_windows(entries: list[dict[str, Any]], zone: Any, enabled: Any) -> None:
    document = {"freeze": {"enabled": enabled, "timezone": zone, "windows": entries}}
    _run_core({"release-policy.yml": _dump(document, "x.yml")})


@FUZZ
@given(st.lists(ENTRY, max_size=4), SCALARS)
def test_absolute_calendar_files_and_settings_calendars(entries: list[dict[str, Any]], zone: Any) -> None:
    _run_core(
        {
            ".maestro/freeze_windows.json": _dump({"timezone": zone, "windows": entries}, "x.json"),
            ".maestro/changebot.yaml": _dump({"freeze": {"calendars": entries}}, "x.yaml"),
        }
    )


@FUZZ
@given(SCALARS, SCALARS, SCALARS, SCALARS)
@example(None, None, None, "0x" + "f" * 5000)  # a zone name too long for a file name: ZoneInfo raised OSError
@example(None, "2025-12-15", "9999-12-31", None)  # the day after the window's end overflowed datetime
def test_plan_code_freeze(code_freeze: Any, start: Any, end: Any, tz: Any) -> None:
    plan = {"plan": "x", "window": {"start": start, "end": end, "tz": tz}, "freeze": {"code_freeze": code_freeze}}
    _run_core({".maestro/plan-x.yaml": _dump(plan, "x.yaml")})


@FUZZ
@given(st.sampled_from(PATHS), VALUES)
def test_structured_yaml_in_any_governed_file(path: str, value: Any) -> None:
    _run_core({path: _dump(value, path)})


@FUZZ
@given(st.binary(max_size=600))
def test_any_bytes_as_a_patch(raw: bytes) -> None:
    parsed = parse_patch(".orchestrator/patches/1/0001-x.patch", b"diff --git a/x b/x\n" + raw, 1024 * 1024)
    assert parsed.patch is not None
    assert parse_patch(".orchestrator/patches/1/0002-y.patch", raw, 1024 * 1024).patch is not None
