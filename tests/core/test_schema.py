"""The shipped schemas and how their errors read: file, line, JSON path, expected, found; best match first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from changebot.cli import main
from changebot.core.documents import schema
from changebot.core.documents.load import load_any
from changebot.model import Finding
from tests.support.repos import REPO_ROOT

SCHEMAS = sorted((REPO_ROOT / "schemas").glob("*.schema.json"))


def findings(path: str, text: str, max_findings: int = 3) -> list[Finding]:
    loaded = load_any(path, text.encode())
    assert loaded.document is not None, loaded.findings
    kind = schema.kind_of(path)
    assert kind is not None
    return schema.findings_for(loaded.document, schema.validator(kind), f"{kind} schema", max_findings)


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_every_shipped_schema_is_a_valid_2020_12_schema(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(data)
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert data["$id"].endswith("/" + path.name)


def test_every_schema_this_module_applies_is_shipped() -> None:
    assert {f"{name}.schema.json" for name in schema.SHIPPED} <= {p.name for p in SCHEMAS}
    assert {name for _, name in schema.KINDS} <= set(schema.SHIPPED)


def test_a_wrong_type_names_path_line_expected_and_found() -> None:
    [found] = findings(
        ".maestro/changes/20250101-a.yaml", "area: pay\nintent: fix\nwork_items:\n  - id: 7\n    story: s\n"
    )
    assert (found.path, found.line, found.column, found.code) == (
        ".maestro/changes/20250101-a.yaml",
        4,
        9,
        "schema-type",
    )
    assert found.message == "$.work_items[0].id: expected a string, found 7 (bundle schema)"


def test_a_missing_key_is_reported_on_its_mapping() -> None:
    [found] = findings(".maestro/changes/20250101-a.yaml", "area: pay\nowners:\n  DRI: x\n")
    assert (found.line, found.code) == (1, "schema-required")
    assert found.message == "$: expected required key 'intent', found keys: area, owners (bundle schema)"


def test_a_pattern_error_says_what_was_meant() -> None:
    [found] = findings(".maestro/changes/20250101-a.yaml", "area: pay\nintent: fix\nmetrics: ['fast']\n")
    assert found.line == 3
    assert found.message == (
        "$.metrics[0]: expected a metric target such as 'p95_graph_ms <= 1500', found 'fast' (bundle schema)"
    )


def test_dates_and_date_times_are_format_checked() -> None:
    [bad_date] = findings(
        ".maestro/changes/2.yaml", "area: a\nintent: b\nwindow: {start: 2025-02-30, end: 2025-03-01}\n"
    )
    assert bad_date.code == "schema-format"
    assert "found '2025-02-30'" in bad_date.message
    [no_zone] = findings(
        ".maestro/freeze_windows.json", '[{"name": "x", "from": "2025-12-15T00:00:00", "to": "2025-12-16T00:00:00Z"}]'
    )
    assert no_zone.code == "schema-format"
    assert no_zone.message.startswith("$[0].from: expected an RFC 3339 date-time with a zone")


def test_time_zones_must_be_iana_names() -> None:
    text = (
        "plan: p\nwindow: {start: 2025-01-01, end: 2025-01-02, tz: Mars/Olympus}\n"
        "changes: [{from_file: .maestro/changes/a.yaml}]\n"
    )
    [found] = findings(".maestro/plan-a.yaml", text)
    assert found.message == (
        "$.window.tz: expected an IANA time zone such as 'America/Denver', found 'Mars/Olympus' (release-plan schema)"
    )


def test_best_match_first_then_the_rest_in_line_order_then_a_summary() -> None:
    text = "area: a\nintent: b\nrelease_tag: x\nmetrics: [fast]\ndata: {residency: APAC}\nbudgets: {p95_ms: -1}\n"
    out = findings(".maestro/changes/3.yaml", text, max_findings=2)
    assert [(f.line, f.code) for f in out] == [
        (3, "schema-pattern"),
        (4, "schema-pattern"),
        (None, "more-schema-errors"),
    ]
    assert out[-1].severity == "notice"
    assert out[-1].message.startswith("2 other schema error(s) in this file not shown")


def test_a_self_explaining_alternative_is_not_descended_into() -> None:
    [found] = findings(".maestro/changes/4.yaml", "area: a\nintent: b\nwork_items:\n  - id: X-1\n    storry: typo\n")
    assert found.code == "schema-any-of"
    assert found.message == (
        "$.work_items[0]: expected a work item with 'id' and 'story', or an epic with 'epic' and 'stories', "
        "found a mapping with keys id, storry (bundle schema)"
    )


def test_a_wrong_value_inside_an_alternative_is_pointed_at() -> None:
    text = (
        "pipeline: {name: p, steps: [{id: a, run: b}]}\n"
        "freeze_windows:\n  - name: w\n    start: FRY 17:00\n    end: MON 09:00\n"
    )
    [found] = findings(".maestro/pipeline.yaml", text)
    assert (found.line, found.code) == (4, "schema-pattern")
    assert "found 'FRY 17:00'" in found.message


def test_unexpected_settings_keys_point_at_the_key() -> None:
    [found] = findings(".maestro/changebot.yaml", "version: 1\nlimts: {}\n")
    assert (found.line, found.code) == (2, "schema-additional-properties")
    assert found.message.startswith("$.limts: unexpected key 'limts'; expected one of ")
    assert "limits, " in found.message


@pytest.mark.parametrize(
    ("path", "text", "code"),
    [
        (".maestro/changes/5.yaml", "- area: a\n- intent: b\n", "not-a-mapping"),
        (".maestro/rules.json", '{"id": "r"}', "not-a-list"),
        (".maestro/rules.json", '[{"id": "r", "then": [{"do": "label", "with": {}}]}]', "schema-required"),
        (".maestro/ci_budget.json", '{"monthlyUsd": 100, "softPct": 85}', "schema-maximum"),
        (".maestro/xrepo.yaml", "graph:\n  a: [b, b]\n  b: []\n", "schema-unique-items"),
        (".orchestrator/state.json", '{"runSummary": [{"pr": 1, "checks": "all"}]}', "schema-pattern"),
        (
            "release-policy.yml",
            "freeze:\n  timezone: UTC\n  windows:\n    - {name: w, rrule: WEEKLY}\n",
            "schema-pattern",
        ),
        (
            ".maestro/plan-b.yaml",
            "plan: p\nwindow: {start: 2025-01-01, end: 2025-01-02, tz: UTC}\nchanges: []\n",
            "schema-min-items",
        ),
    ],
)
def test_what_is_really_wrong_is_rejected(path: str, text: str, code: str) -> None:
    assert findings(path, text)[0].code == code


def test_a_remote_ref_is_refused_not_fetched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".maestro").mkdir()
    (tmp_path / ".maestro/changespec.schema.yml").write_text(
        "type: object\nproperties:\n  area: {$ref: 'https://127.0.0.1:9/area.json'}\n  intent: {$ref: '#/$defs/nope'}\n"
    )
    (tmp_path / ".changespec.yml").write_text("area: server\n")
    status = main(["validate", "--repo", str(tmp_path)])
    assert status == 1
    assert capsys.readouterr().out.splitlines() == [
        ".changespec.yml: notice[changespec-not-checked] not checked: the base branch's "
        ".maestro/changespec.schema.yml is not a usable JSON Schema",
        '.maestro/changespec.schema.yml:3:16: error[schema-ref-refused] $.properties.area["$ref"]: expected a '
        "reference inside this schema ('#/$defs/...'), found 'https://127.0.0.1:9/area.json': changebot never "
        "fetches remote or external schemas; copy the definition under $defs",
        '.maestro/changespec.schema.yml:4:18: error[schema-ref-unresolvable] $.properties.intent["$ref"]: expected a '
        "reference to a definition in this schema, found '#/$defs/nope', which points nowhere",
        "2 error(s), 0 warning(s)",
    ]


def test_an_unresolvable_ref_met_while_validating_is_a_finding_not_a_crash() -> None:
    """``$id``-relative references slip past the static scan; the registry still refuses them."""
    spec = load_any(".maestro/changespec.schema.yml", b"$id: https://x.example/s\nproperties:\n  a: {$ref: other}\n")
    assert spec.document is not None
    doc = load_any(".changespec.yml", b"a: 1\n").document
    assert doc is not None
    [found] = schema.findings_for(doc, schema.foreign_validator(spec.document.data), "changespec")
    assert found.code == "schema-ref-refused"
    assert "refers to 'other'" in found.message


def test_the_changespec_schema_applies_to_changespec_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".maestro/changes").mkdir(parents=True)
    (tmp_path / ".maestro/changespec.schema.yml").write_text(
        "type: object\nrequired: [area, budgets]\nproperties:\n  area: {enum: [server]}\n"
        "  owner: {type: string, format: email}\n"
    )
    (tmp_path / ".changespec.yml").write_text("area: client\nbudgets: {}\nowner: not-an-email\n")
    (tmp_path / ".maestro/changes/20250101-a.yaml").write_text("area: ledger\nintent: fix\n")
    status = main(["validate", "--repo", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out == [
        ".changespec.yml:1:7: error[schema-enum] $.area: expected one of 'server', found 'client' "
        "(.maestro/changespec.schema.yml from the base branch)",
        ".changespec.yml:3:8: error[schema-format] $.owner: expected a valid email, found 'not-an-email' "
        "(.maestro/changespec.schema.yml from the base branch)",
        "2 error(s), 0 warning(s)",
    ]


def test_a_broken_changespec_schema_is_itself_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".maestro").mkdir()
    (tmp_path / ".maestro/changespec.schema.yml").write_text("type: object\nproperties:\n  area: {type: strnig}\n")
    (tmp_path / ".changespec.yml").write_text("area: server\n")
    status = main(["validate", "--repo", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert (
        out[0] == ".changespec.yml: notice[changespec-not-checked] not checked: the base branch's "
        ".maestro/changespec.schema.yml is not a usable JSON Schema"
    )
    assert out[1].startswith(
        ".maestro/changespec.schema.yml:3: error[changespec-schema-invalid] .maestro/changespec.schema.yml is not "
        "a valid JSON Schema at $.properties.area.type:"
    )


@pytest.mark.parametrize("name", schema.SHIPPED)
def test_expanded_schemas_are_valid_and_reference_free(name: str) -> None:
    expanded = schema.inlined(name)
    Draft202012Validator.check_schema(expanded)
    assert "$ref" not in json.dumps(expanded)


def test_expansion_keeps_the_meaning_of_references() -> None:
    """A release plan's release_tag is checked by the bundle schema's definition, through the expansion."""
    text = (
        "plan: p\nwindow: {start: 2025-01-01, end: 2025-01-02, tz: UTC}\n"
        "changes: [{from_file: .maestro/changes/a.yaml}]\n"
    )
    [found] = findings(".maestro/plan-c.yaml", text + "release_tag: banana\n")
    assert found.message == (
        "$.release_tag: expected a semantic version tag such as 'v1.2.0' or 'v0.1.0-rc1', found 'banana' "
        "(release-plan schema)"
    )
