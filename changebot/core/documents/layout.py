"""Where changebot looks in a repository, and which side of a pull request each file is trusted from.

Governance config (what judges a change) is read from the **base** branch, so a pull request cannot relax
the rules that judge it. Proposals (what the change asks for) are read from the **head**. See CONTRIBUTING.md,
"Trust". Patterns are ``fnmatch``-style over repository-relative POSIX paths, where ``*`` also matches ``/``.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

SETTINGS = ".maestro/changebot.yaml"
RULES = ".maestro/rules.json"
PIPELINE = ".maestro/pipeline.yaml"
CI_BUDGET = ".maestro/ci_budget.json"
FREEZE_WINDOWS = ".maestro/freeze_windows.json"
RELEASE_POLICY = "release-policy.yml"
CHANGESPEC_SCHEMA = ".maestro/changespec.schema.yml"
CHANGESPEC = ".changespec.yml"
XREPO = ".maestro/xrepo.yaml"
ORCHESTRATOR_STATE = ".orchestrator/state.json"
BUNDLES = ".maestro/changes/*.yaml"
PLANS = ".maestro/plan-*.yaml"
PATCHES = ".orchestrator/patches/*"

#: Read from the base branch. ``.ci/policies`` holds Rego named by ``pipeline.yaml`` ``policies:``.
GOVERNANCE: tuple[str, ...] = (
    SETTINGS,
    RULES,
    PIPELINE,
    CI_BUDGET,
    FREEZE_WINDOWS,
    RELEASE_POLICY,
    CHANGESPEC_SCHEMA,
    XREPO,
    ".maestro/policies/*",
    ".ci/policies/*",
    ".maestro/*.json",
    ".maestro/*.yaml",
    ".maestro/*.yml",
)

#: Read from the head: what the pull request proposes.
PROPOSAL: tuple[str, ...] = (
    BUNDLES,
    ".maestro/changes/*.yml",
    PLANS,
    CHANGESPEC,
    ORCHESTRATOR_STATE,
    PATCHES,
)

#: Everything changebot may read, from either side; the adapters read these and nothing else.
READ: tuple[str, ...] = GOVERNANCE + PROPOSAL

#: Directories under which the patterns above can match; readers walk only these.
ROOTS: tuple[str, ...] = (".maestro", ".ci/policies", ".orchestrator", RELEASE_POLICY, CHANGESPEC)


def matches(path: str, patterns: tuple[str, ...]) -> bool:
    """True if ``path`` matches any of ``patterns``."""
    return any(fnmatchcase(path, pattern) for pattern in patterns)


def is_governance(path: str) -> bool:
    """True for files whose base-branch version governs the pull request."""
    return matches(path, GOVERNANCE) and not matches(path, PROPOSAL)


def is_proposal(path: str) -> bool:
    """True for files whose head version is what the pull request proposes."""
    return matches(path, PROPOSAL)
