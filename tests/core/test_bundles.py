"""Cross-file checks: missing bundles, duplicate work items, xrepo graph, code freeze vs window."""

from __future__ import annotations

import pytest

from changebot.core.documents import bundles
from changebot.core.documents.load import Document, load_any


def doc(path: str, text: str) -> Document:
    loaded = load_any(path, text.encode())
    assert loaded.document is not None, loaded.findings
    return loaded.document


PLAN = """plan: p
window: {{start: 2025-09-15, end: 2025-09-29, tz: America/Denver}}
changes:
  - from_file: .maestro/changes/a.yaml
  - from_file: .maestro/changes/b.yaml
freeze:
  code_freeze: {freeze}
"""


def test_a_plan_naming_a_missing_bundle() -> None:
    plan = doc(".maestro/plan-p.yaml", PLAN.format(freeze="2025-09-27T17:00:00-06:00"))
    [found] = bundles.plan_findings(plan, frozenset({".maestro/changes/a.yaml", ".maestro/plan-p.yaml"}))
    assert (found.path, found.line, found.code) == (".maestro/plan-p.yaml", 5, "missing-bundle")
    assert found.message == (
        "$.changes[1].from_file: expected an existing bundle, found '.maestro/changes/b.yaml', "
        "which is not in the repository at this ref"
    )


@pytest.mark.parametrize(
    ("freeze", "inside"),
    [
        ("2025-09-27T17:00:00-06:00", True),
        ("2025-09-15T00:00:00-06:00", True),  # the first instant of the window, in its zone
        ("2025-09-15T05:59:59Z", False),  # 23:59:59 the day before in Denver
        ("2025-09-30T05:59:59Z", True),  # 23:59:59 on the last day in Denver
        ("2025-09-30T06:00:00Z", False),  # midnight after the last day in Denver
    ],
)
def test_code_freeze_must_fall_within_the_window_in_its_zone(freeze: str, inside: bool) -> None:
    plan = doc(".maestro/plan-p.yaml", PLAN.format(freeze=freeze))
    paths = frozenset({".maestro/changes/a.yaml", ".maestro/changes/b.yaml"})
    found = bundles.plan_findings(plan, paths)
    assert [f.code for f in found] == ([] if inside else ["code-freeze-outside-window"])


def test_code_freeze_after_the_window_reads_well() -> None:
    plan = doc(".maestro/plan-p.yaml", PLAN.format(freeze="2025-10-01T09:00:00-06:00"))
    [found] = bundles.plan_findings(plan, frozenset({".maestro/changes/a.yaml", ".maestro/changes/b.yaml"}))
    assert found.line == 7
    assert found.message == (
        "$.freeze.code_freeze: expected an instant within the plan window 2025-09-15 .. 2025-09-29 "
        "(America/Denver), i.e. from 2025-09-15T00:00:00-06:00 until before 2025-09-30T00:00:00-06:00; "
        "found 2025-10-01T09:00:00-06:00, after the window ends"
    )


def test_duplicate_work_item_ids_across_and_within_bundles() -> None:
    a = doc(".maestro/changes/a.yaml", "area: x\nintent: y\nwork_items:\n  - {id: X-1, story: s}\n")
    b = doc(
        ".maestro/changes/b.yaml",
        "area: x\nintent: y\nwork_items:\n  - {id: X-2, story: s}\n  - {id: X-1, story: t}\n  - {id: X-2, story: u}\n",
    )
    found = bundles.duplicate_work_items([b, a])
    assert [(f.path, f.line, f.code) for f in found] == [
        (".maestro/changes/b.yaml", 5, "duplicate-work-item-id"),
        (".maestro/changes/b.yaml", 6, "duplicate-work-item-id"),
    ]
    assert found[0].message == (
        "work item id 'X-1' is already used in .maestro/changes/a.yaml (line 4): expected ids unique across all bundles"
    )
    assert "already used in this file (line 4)" in found[1].message


def test_xrepo_unknown_repositories_and_cycles() -> None:
    graph = doc(".maestro/xrepo.yaml", "graph:\n  a: [b]\n  b: [c, ghost]\n  c: [a]\n  d: []\n")
    found = bundles.xrepo_findings(graph)
    assert [(f.line, f.code) for f in found] == [(3, "xrepo-unknown-repo"), (2, "xrepo-cycle")]
    assert found[0].message == "$.graph.b[1]: expected a repository defined in the graph (a, b, c, d), found 'ghost'"
    assert "(a -> b -> c -> a, '->' read as 'depends on')" in found[1].message


def test_a_repository_depending_on_itself_is_a_cycle() -> None:
    found = bundles.xrepo_findings(doc(".maestro/xrepo.yaml", "graph:\n  a: [a]\n"))
    assert [f.code for f in found] == ["xrepo-cycle"]


def test_an_ordered_graph_is_fine() -> None:
    assert bundles.xrepo_findings(doc(".maestro/xrepo.yaml", "graph:\n  a: []\n  b: [a]\n  c: [a, b]\n")) == []


def test_windows_that_end_before_they_start() -> None:
    bundle = doc(".maestro/changes/a.yaml", "area: x\nintent: y\nwindow:\n  start: 2025-02-10\n  end: 2025-02-01\n")
    [found] = bundles.bundle_findings(bundle)
    assert (found.line, found.code) == (5, "window-end-before-start")


def test_malformed_parts_are_left_to_the_schema() -> None:
    plan = doc(".maestro/plan-p.yaml", "plan: p\nwindow: {start: soon, end: 3, tz: 7}\nchanges: nope\nfreeze: []\n")
    assert bundles.plan_findings(plan, frozenset()) == []
    assert bundles.xrepo_findings(doc(".maestro/xrepo.yaml", "graph: [a]\n")) == []
    assert bundles.duplicate_work_items([doc(".maestro/changes/a.yaml", "- 1\n")]) == []
