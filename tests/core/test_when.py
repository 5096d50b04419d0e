"""The ``when:`` language: grammar, three-valued evaluation, and the corpus pipelines per event."""

from __future__ import annotations

from pathlib import Path

import pytest

from changebot.core.budget.pipeline import plan_steps, read_pipeline, run_facts
from changebot.core.budget.when import UNKNOWN, Facts, Truth, WhenError, evaluate, glob_match, parse
from changebot.core.documents.load import load_yaml
from changebot.model import ChangedFile, PullRequest
from tests.support.repos import CORPUS
from tests.support.required import require


def truth(text: str, names: dict[str, object] | None = None, files: frozenset[str] | None = frozenset()) -> Truth:
    steps = {"ok": True, "skipped": False, "unsure": UNKNOWN}

    def step(step_id: str) -> Truth:
        return steps[step_id]  # type: ignore[return-value]

    return evaluate(parse(text), Facts(names or {}, files, step))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ('event == "push" || event == "pull_request"', {"event": "push"}, True),
        ('event == "push" || event == "pull_request"', {"event": "schedule"}, False),
        ('branch == "main" || tag != ""', {"branch": "main", "tag": ""}, True),
        ('branch == "main" || tag != ""', {"branch": "dev", "tag": ""}, False),
        ('branch == "main" || tag != ""', {"tag": ""}, UNKNOWN),
        ('branch == "main" || tag != ""', {"tag": "v1"}, True),
        ('step_succeeded("ok") && canary_slo_passed', {}, UNKNOWN),
        ('step_succeeded("skipped") && canary_slo_passed', {}, False),
        ('!step_succeeded("ok")', {}, False),
        ('!step_succeeded("unsure")', {}, UNKNOWN),
        (r'tag =~ "^v[0-9]+\\.[0-9]+\\.[0-9]+$"', {"tag": "v1.22.3"}, True),
        (r'tag =~ "^v[0-9]+\\.[0-9]+\\.[0-9]+$"', {"tag": "v1x2.3"}, False),
        (r'tag =~ "^v[0-9]+\\.[0-9]+\\.[0-9]+$"', {}, UNKNOWN),
        (
            'event == "schedule" || (event == "workflow_dispatch" && input.workflow == "release-train")',
            {"event": "workflow_dispatch"},
            UNKNOWN,
        ),
        (
            'event == "schedule" || (event == "workflow_dispatch" && input.workflow == "release-train")',
            {"event": "workflow_dispatch", "input.workflow": "release-train"},
            True,
        ),
        ('event == "schedule" && input.type == "kpi-check"', {"event": "push"}, False),
        ("true && !false", {}, True),
        ("count == 3", {"count": 3.0}, True),
        ("'single' == \"single\"", {}, True),
        ("unknown_flag || true", {}, True),
        ("unknown_flag && false", {}, False),
    ],
)
def test_three_valued_evaluation(text: str, names: dict[str, object], expected: Truth) -> None:
    assert truth(text, names) is expected or truth(text, names) == expected


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("migrations/**", "migrations/001.sql", True),
        ("migrations/**", "migrations/2025/001.sql", True),
        ("migrations/**", "src/migrations/001.sql", False),
        ("**/*.sql", "db/x/001.sql", True),
        ("**/*.sql", "001.sql", True),
        ("src/*.py", "src/a/b.py", False),
        ("src/?.py", "src/a.py", True),
    ],
)
def test_git_style_globs(glob: str, path: str, expected: bool) -> None:
    assert glob_match(glob, path) is expected


def test_files_changed_is_false_without_a_diff() -> None:
    assert truth('files_changed("migrations/**")', files=None) is False
    assert truth('files_changed("migrations/**")', files=frozenset({"migrations/1.sql"})) is True


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        (
            "(" * 10_000 + "x" + ")" * 10_000,
            "when-too-long",
            "expression is 20,001 characters long; the limit is 4,096",
        ),
        ("(" * 2000 + "x" + ")" * 2000, "when-too-deep", "deeper than 64 levels"),
        ("!" * 10_000 + "x", "when-too-long", "the limit is 4,096"),
        ("!" * 100 + "x", "when-too-deep", "deeper than 64 levels"),
        ('event == "' + "a" * 100_000 + '"', "when-too-long", "expression is 100,011 characters long"),
        ("event ==", "when-syntax", "expression ends too early"),
        ("a == b == c", "when-syntax", "unexpected '=='"),
        ("a &&& b", "when-syntax", "unexpected character '&'"),
        ('deploy("x")', "when-unknown-function", "unknown function deploy()"),
        ('files_changed("a", "b")', "when-bad-arguments", "takes exactly one argument, got 2"),
        ('tag =~ "(unclosed"', "when-bad-regex", "does not compile"),
    ],
)
def test_bad_expressions_are_errors_not_crashes(text: str, code: str, message: str) -> None:
    with pytest.raises(WhenError) as caught:
        truth(text, {"tag": "v1", "event": "push", "a": "x", "b": "x", "c": "x"})
    assert caught.value.code == code
    assert message in str(caught.value)


def test_regex_is_linear_time() -> None:
    # a catastrophic pattern for a backtracking engine finishes at once under RE2
    assert truth('tag =~ "^(a+)+$"', {"tag": "a" * 5000 + "b"}) is False


# --- the corpus pipelines, per event --------------------------------------------------------------------------

ALWAYS = ["setup-toolchains", "build-all", "sbom-and-scan"]
CANARY_TAIL = [
    "canary-promote-50",
    "canary-analyze-50",
    "canary-promote-100",
    "promote-or-rollback",
    "evidence-collect",
    "evidence-sign",
    "evidence-upload",
    "kpi-check-schedule",
]

# (event, changed files, steps that will run, steps that may run) for the current pipeline.yaml.
# A PR from 'feature' into 'main': on pull_request the canary chain never starts (branch is 'feature', no tag);
# on push (the merge into main) canary-deploy runs, and everything after canary-analyze hangs on
# canary_slo_passed, which cannot be known: "maybe". Schedule runs the release train on main; a dispatch
# may run it (input.workflow is unknown) and kpi-compare may run on schedule (input.type is unknown).
CURRENT = [
    ("pull_request", [], [*ALWAYS, "slo-burn-check", "perf-gate"], []),
    ("pull_request", ["migrations/0001_init.sql"], [*ALWAYS, "slo-burn-check", "migration-gate", "perf-gate"], []),
    (
        "push",
        [],
        [*ALWAYS, "slo-burn-check", "perf-gate", "supply-chain-gate", "canary-deploy", "canary-analyze"],
        [*CANARY_TAIL, "notify-release"],
    ),
    (
        "schedule",
        ["migrations/0001_init.sql"],
        [
            *ALWAYS,
            "release-train-eligibility",
            "release-train-cut",
            "release-notes-generate",
            "canary-deploy",
            "canary-analyze",
        ],
        [*CANARY_TAIL, "kpi-compare", "notify-release"],
    ),
    (
        "workflow_dispatch",
        [],
        [*ALWAYS, "canary-deploy", "canary-analyze"],
        ["release-train-eligibility", "release-train-cut", "release-notes-generate", *CANARY_TAIL, "notify-release"],
    ),
]

# The older pipeline (@64e65415): no perf/supply-chain/release-train steps, and promote-or-rollback follows
# canary-analyze directly, so the merge to main prices a full canary.
OLD = [
    ("pull_request", [], [*ALWAYS, "slo-burn-check"], []),
    ("pull_request", ["migrations/x/1.sql"], [*ALWAYS, "slo-burn-check", "migration-gate"], []),
    ("push", [], [*ALWAYS, "slo-burn-check", "canary-deploy", "canary-analyze", "promote-or-rollback"], []),
    ("schedule", [], [*ALWAYS, "canary-deploy", "canary-analyze", "promote-or-rollback"], []),
    ("workflow_dispatch", [], [*ALWAYS, "canary-deploy", "canary-analyze", "promote-or-rollback"], []),
]


def _corpus_pipeline(name: str) -> Path:
    path = CORPUS / ".maestro" / name
    require(path.is_file(), f"the corpus file {path} is not present")
    return path


@pytest.mark.parametrize(("name", "cases"), [("pipeline.yaml", CURRENT), ("pipeline.yaml@64e65415", OLD)])
def test_corpus_pipeline_step_sets(name: str, cases: list[tuple[str, list[str], list[str], list[str]]]) -> None:
    loaded = load_yaml(".maestro/pipeline.yaml", _corpus_pipeline(name).read_bytes())
    assert loaded.document is not None
    pipeline, findings = read_pipeline(loaded.document)
    assert pipeline is not None
    assert findings == []
    for event, files, will, may in cases:
        pr = PullRequest(
            event=event, base_branch="main", head_branch="feature", files=tuple(ChangedFile("A", f) for f in files)
        )
        runs, findings = plan_steps(pipeline, run_facts(pr, "main", frozenset(files)))
        assert findings == []
        assert [r.step.id for r in runs if r.runs == "yes"] == will, event
        assert [r.step.id for r in runs if r.runs == "maybe"] == may, event


def test_pull_request_without_a_known_head_branch_may_deploy() -> None:
    loaded = load_yaml(".maestro/pipeline.yaml", _corpus_pipeline("pipeline.yaml@64e65415").read_bytes())
    assert loaded.document is not None
    pipeline, _ = read_pipeline(loaded.document)
    assert pipeline is not None
    runs, _ = plan_steps(pipeline, run_facts(PullRequest(), "main", frozenset()))
    assert [r.step.id for r in runs if r.runs == "maybe"] == ["canary-deploy", "canary-analyze", "promote-or-rollback"]


PIPELINE_BAD = """\
pipeline:
  name: demo
  budgets: {hard_cap_usd: -3}
  steps:
    - id: a
      run: x
      when: deploy("now")
    - id: b
      run: y
      when: step_succeeded("c")
    - id: c
      run: z
      when: step_succeeded("nope")
    - id: d
      cost_usd: "cheap"
      minutes: -4
      when: event == "push" ||
"""


def test_pipeline_findings_name_the_line() -> None:
    loaded = load_yaml(".maestro/pipeline.yaml", PIPELINE_BAD.encode())
    assert loaded.document is not None
    pipeline, findings = read_pipeline(loaded.document)
    assert pipeline is not None
    runs, more = plan_steps(pipeline, run_facts(PullRequest(event="push"), "main", frozenset()))
    got = [(f.code, f.line) for f in findings + more]
    assert got == [
        ("bad-money", 3),
        ("bad-money", 15),
        ("bad-money", 16),
        ("when-unknown-function", 7),
        ("when-forward-step", 10),
        ("when-unknown-step", 13),
        ("when-syntax", 17),
    ]
    assert [r.runs for r in runs] == ["maybe"] * 4
    assert "pipeline.budgets.hard_cap_usd must be a non-negative number, found -3" in findings[0].message
    assert "d.cost_usd must be a non-negative number, found 'cheap'" in findings[1].message


def test_precomputed_parser_tables_are_current() -> None:
    from lark.exceptions import LarkError  # noqa: PLC0415

    from changebot.core.budget import _when_tables  # noqa: PLC0415 - the generated module under test
    from changebot.core.budget.when import _build, _parser, grammar_digest  # noqa: PLC0415

    regenerate = (
        "changebot/core/budget/_when_tables.py is stale: regenerate it with python -c "
        '"from changebot.core.budget.when import tables_source;'
        " open('changebot/core/budget/_when_tables.py', 'w').write(tables_source())\""
    )
    assert grammar_digest() == _when_tables.DIGEST, regenerate
    shipped, fresh = _parser(), _build()
    assert shipped is not fresh
    good = [
        'event == "push" || event == "pull_request"',
        'step_succeeded("canary-analyze") && !step_succeeded("x") && canary_slo_passed',
        "(a.b.c != 'x') || true && false || 3 == -1.5",
        r'tag =~ "^v[0-9]+\\.[0-9]+$"',
    ]
    for text in good:
        assert shipped.parse(text) == fresh.parse(text), text
    for text in ["a ==", "&& b", "a = b", "f(,)"]:
        with pytest.raises(LarkError):
            shipped.parse(text)
        with pytest.raises(LarkError):
            fresh.parse(text)


@pytest.mark.parametrize(
    ("when", "code"),
    [
        ("(" * 10_000 + "x" + ")" * 10_000, "when-too-long"),
        ("(" * 1_000 + "x" + ")" * 1_000, "when-too-deep"),
        ("!" * 3_000 + "x", "when-too-deep"),
        ('event == "' + "x" * 100_000 + '"', "when-too-long"),
    ],
)
def test_hostile_when_in_a_pipeline_is_a_finding_with_line(when: str, code: str) -> None:
    text = f"pipeline:\n  steps:\n    - id: ok\n      run: x\n    - id: evil\n      run: y\n      when: '{when}'\n"
    loaded = load_yaml(".maestro/pipeline.yaml", text.encode())
    assert loaded.document is not None
    pipeline, findings = read_pipeline(loaded.document)
    assert pipeline is not None
    runs, more = plan_steps(pipeline, run_facts(PullRequest(), "main", frozenset()))
    assert [(f.code, f.path, f.line) for f in findings + more] == [(code, ".maestro/pipeline.yaml", 7)]
    assert [r.runs for r in runs] == ["yes", "maybe"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n", [("pipeline-shape", 1)]),
        ("pipeline:\n  steps: build\n", [("pipeline-shape", 2)]),
        ("pipeline:\n  steps:\n    - run: x\n", [("pipeline-step-shape", 3)]),
        ("pipeline:\n  steps:\n    - id: a\n    - id: a\n", [("pipeline-duplicate-step", 4)]),
        ("pipeline:\n  steps:\n    - id: a\n      when: [1]\n", [("when-syntax", 3)]),
    ],
)
def test_pipeline_shape_findings(text: str, expected: list[tuple[str, int]]) -> None:
    loaded = load_yaml(".maestro/pipeline.yaml", text.encode())
    assert loaded.document is not None
    _, findings = read_pipeline(loaded.document)
    assert [(f.code, f.line) for f in findings] == expected


def test_yaml_boolean_when() -> None:
    loaded = load_yaml(
        ".maestro/pipeline.yaml", b"pipeline:\n  steps:\n    - {id: a, when: false}\n    - {id: b, when: true}\n"
    )
    assert loaded.document is not None
    pipeline, _ = read_pipeline(loaded.document)
    assert pipeline is not None
    runs, _ = plan_steps(pipeline, run_facts(PullRequest(), "main", frozenset()))
    assert [r.runs for r in runs] == ["no", "yes"]
