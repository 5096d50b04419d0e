"""The ``schema`` gate: every governed file loads, has the shape its kind requires, and agrees with the others.

Files are judged as the head has them (the state the repository would be in after the merge): a pull request
that breaks a governance file is told so, even though the other gates keep reading the base version. Three
layers, each reported with file and line:

1. loading (``documents.load``): syntax, size, encoding, duplicate keys, tags, alias bombs;
2. shape (``documents.schema``): the shipped JSON Schema of each file kind (see ``schema.KINDS``); the
   repository's own ``.maestro/changespec.schema.yml`` (from base) is applied to ``.changespec.yml`` only,
   never to bundles (FORMATS.md: most bundles do not satisfy it), and is itself checked to be a schema;
3. cross-file checks (``documents.bundles``): missing bundles, duplicate work-item ids, xrepo cycles, code freezes
   outside their window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from changebot.core.context import Context
from changebot.core.documents import bundles, layout, schema
from changebot.core.documents.load import Document
from changebot.core.schema import governance
from changebot.core.schema.governance import NO_ENGINES, Engines
from changebot.model import (
    Finding,
    GateId,
    GateResult,
    Severity,
    Status,
    notice,
    skipped,
    status_from_findings,
)

STRUCTURED = (".yaml", ".yml", ".json")
#: A per-file cap that shows every schema error (identity checks must see them all).
UNCAPPED = 1_000_000

#: How each file kind is named in messages.
LABELS: Mapping[str, str] = {
    "bundle": "change bundle schema",
    "release-plan": "release plan schema",
    "freeze-windows": "freeze windows schema",
    "pipeline": "pipeline schema",
    "ci-budget": "CI budget schema",
    "rules": "rules schema",
    "xrepo": "xrepo schema",
    "orchestrator-state": "orchestrator state schema",
    "release-policy": "release policy schema",
    "changebot": "changebot settings schema",
}


def max_findings(ctx: Context) -> int:
    """``schema.max_findings_per_file`` from the settings (default 3)."""
    value: Any = ctx.settings.section("schema").get("max_findings_per_file", schema.DEFAULT_MAX_FINDINGS)
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if ok else schema.DEFAULT_MAX_FINDINGS


def _changespec_findings(ctx: Context, doc: Document, limit: int) -> list[Finding]:
    """``.changespec.yml`` against the base branch's ``.maestro/changespec.schema.yml``."""
    loaded = ctx.governance(layout.CHANGESPEC_SCHEMA)
    if loaded is None:
        return []
    if loaded.document is None:  # the base has a schema it could not read: not checked is not valid
        return list(loaded.findings)
    spec = loaded.document
    if schema.schema_problems(spec, layout.CHANGESPEC_SCHEMA):
        return [
            notice(
                "changespec-not-checked",
                f"not checked: the base branch's {layout.CHANGESPEC_SCHEMA} is not a usable JSON Schema",
                doc.path,
            )
        ]
    check = schema.foreign_validator(spec.data)
    return schema.findings_for(doc, check, f"{layout.CHANGESPEC_SCHEMA} from the base branch", limit)


def document_findings(ctx: Context, doc: Document, limit: int) -> list[Finding]:
    """Shape findings for one loaded document, by its kind."""
    if doc.path == layout.CHANGESPEC_SCHEMA:
        return schema.schema_problems(doc, layout.CHANGESPEC_SCHEMA)
    if doc.path == layout.CHANGESPEC:
        return _changespec_findings(ctx, doc, limit)
    kind = schema.kind_of(doc.path)
    if kind is None:
        return []
    return schema.findings_for(doc, schema.validator(kind), LABELS.get(kind, f"{kind} schema"), limit)


def head_documents(ctx: Context) -> tuple[dict[str, Document], list[Finding]]:
    """Every structured file of the head, loaded; and the findings of those that would not load."""
    docs: dict[str, Document] = {}
    findings: list[Finding] = list(ctx.head.findings)
    for path in sorted(ctx.head.files):
        if not path.endswith(STRUCTURED):
            continue
        loaded = ctx.proposal(path)
        if loaded is None:
            continue
        findings.extend(loaded.findings)
        if loaded.document is not None:
            docs[path] = loaded.document
    return docs, findings


def base_settings_findings(ctx: Context) -> list[Finding]:
    """The base branch's settings could not be read, so every gate used the defaults: that fails the plan.

    Nothing is added when the head has the very same file (its own load findings say it already).
    """
    loaded = ctx.governance(layout.SETTINGS)
    if loaded is None or loaded.document is not None:
        return []
    base_raw, head_raw = ctx.base.files.get(layout.SETTINGS), ctx.head.files.get(layout.SETTINGS)
    if base_raw == head_raw and (base_raw is not None or all(f in ctx.head.findings for f in loaded.findings)):
        return []
    suffix = " (on the base branch, whose settings judge this pull request: every gate used the defaults)"
    return [replace(f, message=f.message + suffix) for f in loaded.findings]


def changed_governance(ctx: Context) -> list[str]:
    """Governance files whose head bytes differ from the base's (added or edited), sorted."""
    return sorted(p for p in ctx.head.files if layout.is_governance(p) and ctx.head.files[p] != ctx.base.files.get(p))


def _kinds(paths: list[str]) -> tuple[str, ...]:
    """The governance checks worth running when ``paths`` changed: the sandboxed ones only when their files did."""
    kinds = ["calendar", "pipeline", "ci-budget", "rules"]
    if any(p.endswith(".rego") for p in paths) or layout.PIPELINE in paths:
        kinds.append("policy")
    return tuple(kinds)


def file_findings(
    ctx: Context, engines: Engines = NO_ENGINES, limit: int | None = None, changed_only: bool = False
) -> list[Finding]:
    """Load, schema, cross-file and governance findings for every file changebot reads, grouped by file.

    Governance files are also read by the gates' own readers (``governance.CHECKS``), as the head has them. With
    ``changed_only`` (the ``schema`` gate) those checks report only on the governance files the head changes:
    the other gates already judge the base's. ``limit`` caps the schema findings per file (default: settings)."""
    docs, findings = head_documents(ctx)
    findings.extend(base_settings_findings(ctx))
    cap = max_findings(ctx) if limit is None else limit
    for doc in docs.values():
        findings.extend(document_findings(ctx, doc, cap))
    findings.extend(bundles.cross_file_findings(docs, ctx.head.paths))
    changed = changed_governance(ctx) if changed_only else None
    if changed is None or changed:
        kinds = _kinds(changed) if changed is not None else tuple(governance.CHECKS)
        found = governance.governance_findings(governance.as_governance(ctx, "head"), engines, kinds)
        findings.extend(f for f in found if changed is None or f.path in changed)
    # Stable sort by file only: within a file, load problems, then the schema's best match first, then the
    # rest of its errors in line order, then the cross-file and governance findings. Each finding once.
    return sorted(dict.fromkeys(findings), key=lambda f: f.path or "")


def _key(finding: Finding) -> tuple[str | None, str, str]:
    return finding.path, finding.code, finding.message


def preexisting(ctx: Context, findings: list[Finding]) -> set[tuple[str | None, str, str]]:
    """The head's errors that the base branch already has, word for word (file, code and message).

    Only asked when the head has errors and base and head differ, so a clean pull request costs nothing
    extra. A problem the PR introduces, even one reported on a file it did not touch (a work-item id it
    duplicates), is not on the base and stays an error.
    """
    # Only proposal files' errors can soften (``_is_inherited``): governance errors need no look at the base.
    errors = [f for f in findings if f.severity is Severity.ERROR and f.path and layout.is_proposal(f.path)]
    if not errors or ctx.base.commit is None or ctx.base.commit == ctx.head.commit:
        return set()
    on_base = replace(ctx, head=ctx.base, _cache={})
    if any(f.code == "duplicate-work-item-id" for f in errors):  # needs every bundle of the base
        return {_key(f) for f in file_findings(on_base, limit=UNCAPPED) if f.severity is Severity.ERROR}
    # Otherwise each error concerns its own file: re-check just those files as the base has them, every schema
    # error of each (identity, not what survives the per-file cap, decides what is inherited).
    found: list[Finding] = list(ctx.base.findings)
    docs: dict[str, Document] = {}
    limit = UNCAPPED
    for path in sorted({f.path for f in errors if f.path}):
        loaded = on_base.proposal(path) if path.endswith(STRUCTURED) else None
        if loaded is None:
            continue
        found.extend(loaded.findings)
        if loaded.document is not None:
            docs[path] = loaded.document
            found.extend(document_findings(on_base, loaded.document, limit))
    found.extend(bundles.cross_file_findings(docs, ctx.base.paths))
    return {_key(f) for f in found if f.severity is Severity.ERROR}


def _is_inherited(finding: Finding, old: set[tuple[str | None, str, str]]) -> bool:
    """An error in a proposal file (bundle, plan, changespec, patch series) that the base already has. Errors
    in governance files never soften: what judges the pull request must be readable (fail closed)."""
    return (
        finding.severity is Severity.ERROR
        and finding.path is not None
        and layout.is_proposal(finding.path)
        and _key(finding) in old
    )


def _inherited(finding: Finding) -> Finding:
    return replace(
        finding,
        severity=Severity.WARNING,
        message=f"{finding.message} (already so on the base branch: not introduced by this pull request)",
    )


def _hidden_new_errors(
    ctx: Context, found: list[Finding], old: set[tuple[str | None, str, str]], engines: Engines
) -> list[Finding]:
    """Errors of the head that the per-file cap left out and that the base does not have.

    A file whose inherited errors fill the cap would otherwise hide the errors a pull request adds behind
    "N other schema error(s) not shown": those are added back, and the file's count of hidden ones lowered."""
    capped = {f.path for f in found if f.code == "more-schema-errors" and f.path and layout.is_proposal(f.path)}
    if not capped or ctx.base.commit is None or ctx.base.commit == ctx.head.commit:
        return []
    shown = {_key(f) for f in found}
    every = [f for f in file_findings(ctx, engines, limit=UNCAPPED, changed_only=True) if f.path in capped]
    return [f for f in every if f.severity is Severity.ERROR and _key(f) not in shown and _key(f) not in old]


def _recount(finding: Finding, added: list[Finding]) -> Finding | None:
    """The "N other schema error(s)" notice of a file, less the errors shown after all; ``None`` at zero."""
    if finding.code != "more-schema-errors":
        return finding
    extra = sum(1 for f in added if f.path == finding.path)
    if not extra:
        return finding
    hidden = int(finding.message.split(" ", 1)[0]) - extra
    if hidden <= 0:
        return None
    return replace(finding, message=f"{hidden}{finding.message[finding.message.index(' ') :]}")


def schema_gate(ctx: Context, engines: Engines = NO_ENGINES) -> GateResult:
    """Decide the ``schema`` gate. Errors in proposal files that the base branch already has are reported as
    warnings: a pull request fails for what it breaks, not for what it inherits. Governance files the pull
    request changes are read by the gates' own readers too (``governance``); ``engines`` are the sandboxes
    that compile Rego and JavaScript. With no file to judge the gate is ``skipped``, never ``pass``."""
    checked = sum(1 for p in ctx.head.files if p.endswith(STRUCTURED))
    judged = checked or any(layout.is_governance(p) for p in ctx.head.files) or ctx.head.findings
    if not judged and not base_settings_findings(ctx):
        return skipped(GateId.SCHEMA, "no .maestro files: nothing to govern")
    found = file_findings(ctx, engines, changed_only=True)
    old = preexisting(ctx, found)
    added = _hidden_new_errors(ctx, found, old, engines)
    kept = [r for r in (_recount(f, added) for f in found) if r is not None]
    merged = sorted([*kept, *added], key=lambda f: f.path or "")
    findings = tuple(_inherited(f) if _is_inherited(f, old) else f for f in merged)
    status = status_from_findings(findings)
    if status is Status.PASS:
        summary = f"{checked} file(s) checked, all valid"
    else:
        errors = sum(1 for f in findings if f.severity is Severity.ERROR)
        warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
        bad = len({f.path for f in findings if f.severity is not Severity.NOTICE})
        summary = f"{errors} error(s), {warnings} warning(s) in {bad} of {checked} file(s)"
    return GateResult(GateId.SCHEMA, status, summary, findings)
