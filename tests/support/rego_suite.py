"""Real-world style Rego policies (the shapes FORMATS.md describes), written for the tests, and inputs for them."""

from __future__ import annotations

from typing import Any

#: A gate policy in OPA v1 syntax: a ``decision`` object built from a ``violations`` partial set.
GATE_V1 = """\
package maestro.gate

import rego.v1

default allow := false

allow if count(violations) == 0

violations contains msg if {
	some b in input.bundles
	b.spec.release_tag
	not b.spec.owners.DRI
	msg := sprintf("%v: release bundle needs owners.DRI", [b.path])
}

violations contains msg if {
	input.budget.high_usd > input.budget.hard_cap_usd
	share := round((input.budget.high_usd * 100) / input.budget.hard_cap_usd)
	msg := sprintf("CI estimate is %v%% of the hard cap", [share])
}

warnings contains msg if {
	count(input.pr.files) > 3
	msg := sprintf("large PR: %d files", [count(input.pr.files)])
}

decision := {"allow": allow, "reasons": violations, "warnings": warnings}
"""

#: Pre-v1 syntax with ``import future.keywords``: ``deny[msg]`` and ``warn contains``.
LEGACY_V0 = """\
package legacy.merge

import future.keywords.in
import future.keywords.if
import future.keywords.contains

deny[msg] {
	some f in input.pr.files
	startswith(f, "secrets/")
	msg := sprintf("%s must not be committed", [f])
}

warn contains msg if {
	input.pr.title == ""
	msg := "the pull request has no title"
}
"""

#: Two files sharing one package, both adding to ``violation``.
SHARED_A = """\
package team.shared

import rego.v1

violation contains "draft pull requests cannot merge" if input.pr.draft
"""
SHARED_B = """\
package team.shared

import rego.v1

violation contains msg if {
	"do-not-merge" in input.pr.labels
	msg := "labelled do-not-merge"
}
"""

#: Files that do not compile: ``import`` before ``package``, a non-existent builtin, a regex literal.
IMPORT_FIRST = 'import rego.v1\npackage broken.order\n\ndeny contains "x" if true\n'
NO_SUCH_BUILTIN = (
    "package broken.builtin\n\nimport rego.v1\n\ndeny contains msg if {\n\tmsg := no_such_builtin(input.pr.title)\n}\n"
)
REGEX_LITERAL = """\
package broken.regex

import rego.v1

deny contains "bad title" if {
	regex.match(/WIP/, input.pr.title)
}
"""

#: Loops for (practically) ever.
LOOPS = """\
package slow.loop

import rego.v1

deny contains "never" if {
	count([[a, b] | some a in numbers.range(1, 100000); some b in numbers.range(1, 100000)]) == 0
}
"""

SUITE: dict[str, str] = {
    ".maestro/policies/gate.rego": GATE_V1,
    ".maestro/policies/legacy.rego": LEGACY_V0,
    ".maestro/policies/shared_a.rego": SHARED_A,
    ".maestro/policies/shared_b.rego": SHARED_B,
}


def suite_input(**pr: Any) -> dict[str, Any]:
    """An input document for the suite (the full shape of schemas/policy-input.schema.json)."""
    base_pr: dict[str, Any] = {
        "number": None,
        "event": "pull_request",
        "base": "main",
        "head": "feature",
        "base_sha": None,
        "head_sha": None,
        "author": "dev",
        "title": "add thing",
        "labels": [],
        "draft": False,
        "files": ["src/a.py"],
        "changes": [],
        "approvals": [],
    }
    base_pr.update(pr)
    return {
        "pr": base_pr,
        "now": "2025-09-20T12:00:00+00:00",
        "bundles": [{"path": ".maestro/changes/r.yaml", "spec": {"release_tag": "v1"}}],
        "plans": [],
        "freeze": None,
        "budget": {"status": "pass", "summary": "", "low_usd": 20, "high_usd": 30, "hard_cap_usd": 25, "lane": "pr"},
        "sequence": None,
        "rules": None,
        "governance": {"changed": [], "owners": []},
    }
