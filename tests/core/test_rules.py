"""The rules gate: real rules.json files, planned actions, and every kind of bad rule."""

from __future__ import annotations

import time

import jsonschema
import pytest

from changebot.adapters.engines.jsbox import QuickJs
from changebot.core.documents.resources import schema
from changebot.core.policy.rules import RulesDetail, RulesSettings, build_payload, rules_gate
from changebot.model import Action, GateResult, Status
from tests.support.policy_helpers import context, dumps, rule
from tests.support.repos import CORPUS
from tests.support.required import require

RULES = ".maestro/rules.json"
RUN = QuickJs()


def gate(rules: object, **kw: object) -> GateResult:
    return rules_gate(context({RULES: dumps(rules)}, **kw), RUN)  # type: ignore[arg-type]


def only(result: GateResult) -> tuple[str, str, int | None]:
    assert len(result.findings) == 1, result.findings
    f = result.findings[0]
    return f.code, f.message, f.line


@pytest.mark.parametrize("name", ["rules.json", "rules.json@925bea1d"])
def test_corpus_rules_plan_their_actions(name: str) -> None:
    require(CORPUS.is_dir(), f"the corpus is not at {CORPUS}")
    text = (CORPUS / ".maestro" / name).read_text(encoding="utf-8")
    ctx = context({RULES: text}, labels=("risk:high",), files=("charts/api/values.yaml", "README.md"))
    result = rules_gate(ctx, RUN)
    assert result.status is Status.PASS
    assert isinstance(result.detail, RulesDetail)
    assert result.detail.actions == (
        Action("risk-block-infra", "label", {"labels": ["needs:arch-review"]}),
        Action("risk-block-infra", "comment", {"body": "High risk infra change — arch review required."}),
    )
    assert [r.matched for r in result.detail.rules or ()] == [True, False]
    calm = rules_gate(context({RULES: text}, labels=("confidence:90",)), RUN)
    assert calm.detail.to_json()["actions"] == [
        {"rule": "low-risk-automerge", "do": "label", "with": {"labels": ["automerge"]}}
    ]
    push = rules_gate(context({RULES: text}, labels=("confidence:90",), event="push"), RUN)
    assert push.detail.to_json()["actions"] == []


def test_payload_matches_its_schema() -> None:
    bundle = "area: multi\nrelease_tag: v1\n"
    ctx = context({RULES: "[]"}, {RULES: "[]", ".maestro/changes/20250101-a.yaml": bundle}, labels=("x",), files=("a",))
    payload = build_payload(ctx)
    jsonschema.validate(payload, schema("rules-payload"))
    assert payload["bundles"] == [
        {"path": ".maestro/changes/20250101-a.yaml", "spec": {"area": "multi", "release_tag": "v1"}}
    ]
    assert payload["kind"] == "pull_request"


def test_warn_and_fail_actions_set_the_gate_status() -> None:
    rules = [
        rule("big", "payload.files.length > 1", then=[{"do": "warn", "with": {"message": "large PR"}}]),
        rule(
            "nope", "payload.title.startsWith('WIP')", then=[{"do": "fail", "with": {"message": "WIP may not merge"}}]
        ),
        rule("ask", "true", then=[{"do": "request_review", "with": {"reviewers": ["ana"]}}]),
    ]
    result = gate(rules, files=("a", "b"), title="WIP: thing")
    assert result.status is Status.FAIL
    assert [(f.severity, f.code, f.message, f.line) for f in result.findings] == [
        ("warning", "rule-warn", "rule 'big': large PR", 6),
        ("error", "rule-fail", "rule 'nope': WIP may not merge", 18),
    ]
    assert [a["do"] for a in result.detail.to_json()["actions"]] == ["warn", "fail", "request_review"]
    assert gate(rules, files=("a",), title="ready").status is Status.PASS


def test_rule_without_if_or_when_always_matches() -> None:
    result = gate([{"id": "always", "then": [{"do": "comment", "with": {"body": "hi"}}]}])
    assert result.detail.to_json()["actions"] == [{"rule": "always", "do": "comment", "with": {"body": "hi"}}]


@pytest.mark.parametrize(
    ("script", "code", "text"),
    [
        ("while(true){}", "rule-timeout", "did not finish within the time limit (stopped after 50 ms)"),
        ("let a=[]; while(true){a.push(new Array(1e6).fill(1))}", "rule-out-of-memory", "exceeded the memory limit"),
        ("new ArrayBuffer(1024 * 1024 * 1024).byteLength > 0", "rule-out-of-memory", "(limit 32 MiB)"),
        ("'x'.repeat(1<<30).length > 0", "rule-script-error", "failed: InternalError"),
        ("globalThis.process.exit(1)", "rule-script-error", "TypeError"),
        ("require('fs').readFileSync('/etc/passwd')", "rule-script-error", "'require' is not defined"),
        ("typeof std === 'object' || typeof os === 'object' || typeof console === 'object'", None, None),
        ("throw new Error('boom')", "rule-script-error", "failed: Error: boom"),
        ("payload.labels.includes(", "rule-script-error", "SyntaxError"),
        ("42", "rule-script-error", "returned a number (42), expected true or false"),
        ("payload.title", "rule-script-error", "returned a string ('a change'), expected true or false"),
        ("/^(a+)+$/.test('a'.repeat(40) + 'b')", "rule-timeout", "no answer within"),
    ],
)
def test_bad_scripts_are_errors_naming_the_rule(script: str, code: str | None, text: str | None) -> None:
    started = time.monotonic()
    result = gate([rule("bad-rule", script), rule("good-rule", "payload.labels.length === 0")])
    assert time.monotonic() - started < 5
    assert result.detail.to_json()["actions"][-1]["rule"] == "good-rule"  # the rule after a bad one still runs
    if code is None:  # no host objects: the probe is simply false
        assert result.status is Status.PASS
        assert result.detail.to_json()["rules"][0] == {"id": "bad-rule", "matched": False}
        return
    assert result.status is Status.FAIL
    found_code, message, line = only(result)
    assert found_code == code
    assert message.startswith("rule 'bad-rule': 'if' ")
    assert text in message
    assert line == 4  # the line of the rule's "if"


def test_globals_are_ecmascript_and_payload_only() -> None:
    host = "Object.getOwnPropertyNames(globalThis).filter(n => !%s.includes(n)).length === 0"
    allowed = (
        "['Object','Function','Error','EvalError','RangeError','ReferenceError','SyntaxError','TypeError','URIError',"
        "'InternalError','AggregateError','Array','parseInt','parseFloat','isNaN','isFinite','decodeURI',"
        "'decodeURIComponent','encodeURI','encodeURIComponent','escape','unescape','Infinity','NaN','undefined',"
        "'__date_clock','Number','Boolean','String','Math','Reflect','Symbol','eval','globalThis','Date','RegExp',"
        "'JSON','Proxy','Map','Set','WeakMap','WeakSet','ArrayBuffer','SharedArrayBuffer','Uint8ClampedArray',"
        "'Int8Array','Uint8Array','Int16Array','Uint16Array','Int32Array','Uint32Array','BigInt64Array',"
        "'BigUint64Array','Float32Array','Float64Array','DataView','Atomics','Promise','BigInt','payload']"
    )
    assert gate([rule("globals", host % allowed)]).detail.to_json()["rules"] == [
        {"id": "globals", "matched": True, "actions": ["label"]}
    ]


def test_rules_do_not_share_state() -> None:
    rules = [
        rule("writer", "(globalThis.leak = 1, Array.prototype.includes = () => true, true)"),
        rule("reader", "typeof leak === 'undefined' && !payload.labels.includes('x')"),
    ]
    assert [r["matched"] for r in gate(rules).detail.to_json()["rules"]] == [True, True]


def test_time_limit_comes_from_settings() -> None:
    slow = "(() => { const end = Date.now() + 30; while (Date.now() < end) {} return true })()"
    assert gate([rule("slow", slow)]).status is Status.PASS
    tight = rules_gate(context({RULES: dumps([rule("slow", slow)])}), QuickJs(RulesSettings(time_limit_ms=5)))
    assert only(tight)[0] == "rule-timeout"


@pytest.mark.parametrize(
    ("when", "text"),
    [
        ({"frobnicate": [1, 2]}, "Unrecognized operation: 'frobnicate'"),
        ({"and": [True, {"no_such_op": []}]}, "Unrecognized operation: 'no_such_op'"),
        ({"log": "hello"}, "Unrecognized operation: 'log'"),
    ],
)
def test_json_logic_unknown_operator_is_an_error(when: object, text: str) -> None:
    result = gate([rule("odd", "true", when=when)])
    assert result.status is Status.FAIL
    code, message, line = only(result)
    assert code == "rule-when-error"
    assert message == f"rule 'odd': JSON Logic 'when' failed: {text}"
    assert line == 4
    assert result.detail.to_json()["actions"] == []


@pytest.mark.parametrize(
    ("rules", "code", "message", "line"),
    [
        ({"id": "x"}, "rules-not-a-list", "rules.json must be a list of {id, when, if, then}", 1),
        ([{"when": True}], "rule-bad-entry", "$[0] must be a mapping with a string 'id'", 2),
        ([rule("a"), rule("a")], "rule-duplicate-id", "rule id 'a' is used twice (first at entry 0)", 15),
        (
            [rule("a", then=[{"do": "explode"}])],
            "rule-unknown-action",
            "rule 'a': action 'explode' is not one of label, comment, request_review, warn, fail",
            6,
        ),
        (
            [rule("a", then=[{"do": "fail", "with": {}}])],
            "rule-bad-action",
            "rule 'a': action 'fail' needs with.message",
            6,
        ),
        ([{"id": "a", "if": 42, "then": []}], "rule-bad-if", "rule 'a': 'if' must be a JavaScript string", 4),
        (
            [rule("a", then=[{"do": "label", "with": {"labels": "automerge"}}])],
            "rule-bad-action",
            "rule 'a': with.labels of 'label' must be a list of strings",
            8,
        ),
        (
            [rule("a", then=[{"do": "comment", "with": {"body": ["x"]}}])],
            "rule-bad-action",
            "rule 'a': with.body of 'comment' must be a string, found list",
            8,
        ),
    ],
)
def test_malformed_rules_are_reported(rules: object, code: str, message: str, line: int) -> None:
    result = gate(rules)
    assert result.status is Status.FAIL
    assert only(result) == (code, message, line)


def test_no_rules_file_is_skipped() -> None:
    result = rules_gate(context({}), RUN)
    assert result.status is Status.SKIPPED
    assert result.summary == "no .maestro/rules.json on the base branch"


def test_head_version_is_previewed_not_enforced() -> None:
    base = dumps([rule("gate", "true", then=[{"do": "fail", "with": {"message": "blocked"}}])])
    head = dumps([rule("gate", "false", then=[{"do": "fail", "with": {"message": "blocked"}}])])
    result = rules_gate(context({RULES: base}, {RULES: head}), RUN)
    assert result.status is Status.FAIL
    assert [f.code for f in result.findings] == ["rule-fail", "rules-changed"]
    assert result.findings[1].message == (
        "this pull request changes .maestro/rules.json: the gate is decided by the base version; the head version "
        "would decide: pass, 0 action(s). A governance owner should review the change."
    )
    assert result.detail.to_json()["head"]["status"] == "pass"


def test_unreadable_base_rules_fail_the_gate() -> None:
    result = rules_gate(context({RULES: '[{"id": "a",}]'}), RUN)
    assert result.status is Status.FAIL
    assert result.summary == ".maestro/rules.json on the base branch cannot be read"
    assert [(f.code, f.path, f.line) for f in result.findings] == [("json-syntax", RULES, 1)]
