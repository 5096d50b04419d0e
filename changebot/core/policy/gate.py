"""The ``policy`` gate: Rego policies, evaluated by a ``PolicyEngine``, turned into findings. Pure.

Which policies run (all read from the **base** branch, so a pull request cannot relax them):

1. changebot's default library (``rules/`` in the package; off with ``policy.default_library: false``);
2. every ``.rego`` file under ``.maestro/policies/``;
3. every ``policies:`` entry of ``.maestro/pipeline.yaml`` (``path``, ``enforce``, ``actions``); an entry with
   ``enforce: false`` only warns.

``*_test.rego`` files are tests, not gates, and are not loaded. Each package is queried as a whole
(``data.<package>``, which is also what ``POST /v1/data/<package>`` returns), and read with conftest's
conventions: ``deny``, ``violation`` and ``deny_reasons`` fail, ``warn`` warns; a ``decision`` object
``{allow, reasons, warnings}`` is understood too, and a lone boolean ``allow``/``allow_merge`` as a last resort.
Messages are strings or objects with ``msg`` (and optionally ``path`` and ``line`` or ``key``); reading the
answers is ``changebot.core.policy.decisions``.

Fail closed: a module that does not compile, a query that errors, times out, is undefined or answers with the
wrong type, and an unreachable engine are each an error finding with its own code. The gate never passes on
an error. When the pull request edits policies, the head versions are evaluated too and only reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from changebot.core.context import Context, Side
from changebot.core.documents import layout
from changebot.core.policy.approval import governance_findings
from changebot.core.policy.baseline import in_repository, inherit
from changebot.core.policy.decisions import (
    Evaluation,
    Locate,
    Module,
    interpret,
    message_line,
    no_lines,
    package_ref,
    package_segments,
)
from changebot.core.policy.input import build_input
from changebot.model import (
    Finding,
    GateDetail,
    GateId,
    GateResult,
    Severity,
    Status,
    error,
    notice,
    status_from_findings,
)

POLICY_DIRS: tuple[str, ...] = (".maestro/policies/*.rego",)
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_KEY = r'\[[ \t]*"(?:[^"\\\n]|\\.)*"[ \t]*\]'
_PACKAGE = re.compile(rf"^[ \t]*package[ \t]+({_IDENT}(?:[ \t]*\.[ \t]*{_IDENT}|[ \t]*{_KEY})*)", re.MULTILINE)


class PolicyEngine(Protocol):
    """Embedded Rego (``changebot.adapters.engines.rego``) or an OPA server (``changebot.adapters.engines.opa``)."""

    @property
    def name(self) -> str:
        """``embedded``, ``opa`` or ``opa-server``: shown in the report."""
        ...

    @property
    def version(self) -> str:
        """The engine's version (``regorus 0.9.1``, ``OPA 1.22.4``), or ``""`` when it cannot be told."""
        ...

    def evaluate(self, modules: Sequence[Module], packages: Sequence[str], data_input: Mapping[str, Any]) -> Evaluation:
        """Load ``modules`` (an OPA server already has its own) and query each ``data.<package>``."""
        ...

    def library(self) -> Sequence[Module]:
        """changebot's default library (``rules/``) to load beside the repository's policies; empty for an OPA
        server, which has its own. Read by the adapter, so this module does no I/O."""
        ...


#: ``policy.engine``: ``auto`` is ``opa`` when the binary is found, else ``embedded``.
ENGINES = ("auto", "embedded", "opa", "opa-server")


@dataclass(frozen=True)
class PolicySettings:
    """Settings section ``policy``."""

    engine: str = "embedded"
    opa_url: str | None = None
    strict: bool = False
    timeout_seconds: float = 5.0
    retries: int = 2
    default_library: bool = True
    packages: tuple[str, ...] = ()
    governance_owners: tuple[str, ...] = ()


def policy_settings(section: Mapping[str, Any]) -> PolicySettings:
    """``PolicySettings`` from the raw ``policy`` section; wrong types keep the default."""
    d = PolicySettings()
    timeout = section.get("timeout_seconds")
    retries = section.get("retries")
    url = section.get("opa_url")
    engine = section.get("engine")

    def strings(key: str) -> tuple[str, ...]:
        value = section.get(key)
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    has_url = isinstance(url, str) and bool(url)
    if engine == "opa" and has_url:
        engine = "opa-server"  # ``opa`` with an ``opa_url`` meant the server before the binary was an engine
    return PolicySettings(
        engine=engine if engine in ENGINES else ("opa-server" if has_url else d.engine),
        strict=section.get("strict") is True,
        opa_url=url if isinstance(url, str) and url else None,
        timeout_seconds=float(timeout)
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0
        else d.timeout_seconds,
        retries=retries if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 0 else d.retries,
        default_library=section.get("default_library") is not False,
        packages=strings("packages"),
        governance_owners=strings("governance_owners"),
    )


def package_of(source: str) -> str | None:
    """The package a module declares (the first ``package`` clause), as a normalised reference: string keys
    that are identifiers become dotted (``package gate["sub"]`` is ``gate.sub``), others stay bracketed
    (``a["b-c"]``). ``package_segments`` splits it back into the path queried."""
    found = _PACKAGE.search(source)
    return package_ref(package_segments(found.group(1))) if found else None


def _text(ctx: Context, side: Side, path: str) -> str | None:
    raw = ctx.files(side).files.get(path)
    if raw is None or len(raw) > ctx.settings.limits.max_file_bytes:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _missing(ctx: Context, side: Side, n: int, path: str) -> str:
    files = ctx.files(side)
    if path in files.files:
        return f"policies[{n}] names {path}, which is not UTF-8 text or is too large to read"
    if path in files.paths:
        return (
            f"policies[{n}] names {path}, which changebot does not read: keep policies under "
            ".maestro/policies/ or .ci/policies/"
        )
    return f"policies[{n}] names {path}, which the {side} branch does not have"


def repository_modules(ctx: Context, side: Side) -> tuple[list[Module], list[Finding], list[dict[str, Any]]]:
    """The repository's policies on ``side``: modules, findings about missing entries, pipeline entries."""
    modules: dict[str, Module] = {}
    findings: list[Finding] = []
    for pattern in POLICY_DIRS:
        for path in ctx.paths(side, pattern):
            text = _text(ctx, side, path)
            if text is not None and not path.endswith("_test.rego"):
                modules[path] = Module(path, text)
    # A base policy that was not read (over a size limit) fails the gate instead of silently not running.
    unread = ctx.base.findings if side == "base" else ()
    findings.extend(
        f for f in unread if f.path and layout.matches(f.path, POLICY_DIRS) and not f.path.endswith("_test.rego")
    )
    entries: list[dict[str, Any]] = []
    pipeline = ctx.load(side, layout.PIPELINE)
    pipeline_data = ctx.mapping(side, layout.PIPELINE)
    raw_entries = pipeline_data.get("policies") if pipeline_data is not None else None
    if isinstance(raw_entries, list) and pipeline is not None and pipeline.document is not None:
        for n, entry in enumerate(raw_entries):
            line = pipeline.document.line(("policies", n))
            if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
                findings.append(
                    error("policy-bad-entry", f"policies[{n}] must be a mapping with a 'path'", layout.PIPELINE, line)
                )
                continue
            path = entry["path"].removeprefix("./")
            enforce = entry.get("enforce", True) is not False
            actions = (
                [a for a in entry.get("actions", []) if isinstance(a, str)]
                if isinstance(entry.get("actions"), list)
                else []
            )
            entries.append({"path": path, "enforce": enforce, "actions": actions})
            text = _text(ctx, side, path)
            if text is None:
                findings.append(error("policy-missing", _missing(ctx, side, n, path), layout.PIPELINE, line))
                continue
            modules[path] = Module(path, text, enforce)
    return list(modules.values()), findings, entries


def _soften(findings: list[Finding]) -> list[Finding]:
    return [
        Finding(f.path, f.line, f.column, Severity.WARNING, f.code, f.message + " (not enforced: enforce: false)")
        if f.severity is Severity.ERROR
        else f
        for f in findings
    ]


@dataclass(frozen=True)
class PackageResult:
    """One Rego package: its files, what the engine answered (``result``: the answer's kind, or
    ``not-compiled``) and the status its findings give."""

    package: str
    files: tuple[str, ...]
    result: str
    status: Status

    def to_json(self) -> dict[str, Any]:
        """``{package, files, result, status}``."""
        return {"package": self.package, "files": list(self.files), "result": self.result, "status": str(self.status)}


@dataclass(frozen=True)
class PolicyOutcome:
    """What one set of policies decided."""

    findings: tuple[Finding, ...]
    packages: tuple[PackageResult, ...]

    @property
    def status(self) -> Status:
        """``fail``/``warn``/``pass`` from the findings."""
        return status_from_findings(self.findings)


#: Most Rego modules (the default library's included) and packages one evaluation takes; past it none runs.
MAX_POLICY_MODULES = 200


def run_policies(
    modules: Sequence[Module],
    data_input: Mapping[str, Any],
    engine: PolicyEngine,
    packages: Sequence[str] = (),
    locate: Locate = no_lines,
) -> PolicyOutcome:
    """Evaluate ``modules`` (or, when given, exactly ``packages``) and interpret every answer."""
    if len(modules) > MAX_POLICY_MODULES or len(packages) > MAX_POLICY_MODULES:
        what = f"{len(modules):,} policy modules" if len(modules) > MAX_POLICY_MODULES else "policy.packages"
        message = (
            f"{what}; the limit is {MAX_POLICY_MODULES:,} modules and as many packages "
            f"(each query may cost its whole deadline): none was evaluated"
        )
        return PolicyOutcome((error("policy-too-many", message),), ())
    owners: dict[str, list[Module]] = {}
    for module in modules:
        pkg = package_of(module.source)
        if pkg is not None:
            owners.setdefault(pkg, []).append(module)
    names = list(packages) if packages else sorted(owners)
    evaluation = engine.evaluate(modules, names, data_input)
    findings = _compile_findings(modules, evaluation)
    report: list[PackageResult] = []
    for name, result in zip(names, evaluation.results, strict=True):
        declared = owners.get(name, [])
        group = [m for m in declared if m.path not in evaluation.compile_errors]
        if declared and not group:  # every file of the package failed to compile: already reported
            report.append(PackageResult(name, tuple(m.path for m in declared), "not-compiled", Status.FAIL))
            continue
        where = group[0] if group else Module(f"data.{name}", "", True, engine.name)
        found = _unplaced(interpret(name, result, where, locate), where)
        if group and all(not m.enforce for m in group):
            found = _soften(found)
        findings.extend(found)
        report.append(PackageResult(name, tuple(m.path for m in group), result.kind, status_from_findings(found)))
    return PolicyOutcome(tuple(findings), tuple(report))


def _compile_findings(modules: Sequence[Module], evaluation: Evaluation) -> list[Finding]:
    findings: list[Finding] = []
    for module in modules:
        if module.path in evaluation.compile_errors:
            message = evaluation.compile_errors[module.path]
            parts = message.split("; ")
            each = parts if all(message_line(p) is not None for p in parts) else [message]
            broken = [
                error(
                    "policy-compile-error",
                    f"{module.path} does not compile and was skipped: {part}",
                    module.path,
                    message_line(part),
                )
                for part in each
            ]
            findings.extend(_unplaced(broken if module.enforce else _soften(broken), module))
        elif package_of(module.source) is None:
            findings.append(
                error("policy-compile-error", f"{module.path} has no package clause and was skipped", module.path, 1)
            )
    return findings


def compile_policies(modules: Sequence[Module], engine: PolicyEngine) -> list[Finding]:
    """Compile ``modules`` with ``engine`` (the configured one: ``usecases.plan.policy_engine``) and evaluate
    nothing: one error finding per problem, with file and line, exactly as the policy gate would report them
    (``opa check`` for the ``opa`` engine; for the embedded engine also the builtins and sprintf verbs it
    cannot run). For checking Rego that is not evaluated, such as the head's policies in the schema gate."""
    return _compile_findings(modules, engine.evaluate(modules, (), {}))


def _unplaced(findings: list[Finding], where: Module) -> list[Finding]:
    """Findings about a file that is not in the user's repository (the default library, an OPA server's
    ``data.<package>``) carry no path, so that no annotation points at it; the message names the package."""
    if where.origin == "repository":
        return findings
    return [replace(f, path=None, line=None) if f.path == where.path else f for f in findings]


def _changed_policies(ctx: Context, entries: Sequence[Sequence[Mapping[str, Any]]]) -> list[str]:
    """Policy files, the pipeline and the files pipeline entries name (``entries``: both sides') that differ."""
    base = {p for pat in POLICY_DIRS for p in ctx.paths("base", pat)}
    head = {p for pat in POLICY_DIRS for p in ctx.paths("head", pat)}
    paths = {p for p in base | head if ctx.base.files.get(p) != ctx.head.files.get(p)}
    if ctx.base.files.get(layout.PIPELINE) != ctx.head.files.get(layout.PIPELINE):
        paths.add(layout.PIPELINE)
    for side_entries in entries:
        paths.update(e["path"] for e in side_entries if ctx.base.files.get(e["path"]) != ctx.head.files.get(e["path"]))
    return sorted(paths)


def _locator(ctx: Context) -> Locate:
    """Lines of keys in the files policies talk about: proposals from the head, the rest from the base."""

    def locate(path: str, key: tuple[str | int, ...]) -> int | None:
        loaded = ctx.proposal(path) if layout.is_proposal(path) else ctx.governance(path)
        return loaded.document.line(key) if loaded is not None and loaded.document is not None else None

    return locate


@dataclass(frozen=True)
class PipelinePolicy:
    """A ``policies:`` entry of pipeline.yaml: the policy file, whether it is enforced, the actions it covers."""

    path: str
    enforce: bool
    actions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """``{path, enforce, actions}``."""
        return {"path": self.path, "enforce": self.enforce, "actions": list(self.actions)}


@dataclass(frozen=True)
class PolicyHead:
    """The head's policies when the pull request changes them: what they would decide (never enforced)."""

    status: Status
    changed: tuple[str, ...]
    packages: tuple[PackageResult, ...]
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        """``{status, changed, packages, findings}``; each finding as ``{severity, code, message, path}``."""
        return {
            "status": str(self.status),
            "changed": list(self.changed),
            "packages": [p.to_json() for p in self.packages],
            "findings": [
                {"severity": str(f.severity), "code": f.code, "message": f.message, "path": f.path}
                for f in self.findings
            ],
        }


@dataclass(frozen=True)
class PolicyDetail(GateDetail):
    """The policy gate's detail: the engine, the packages evaluated, pipeline.yaml's policy entries, and the
    head's verdict when the pull request changes policies."""

    engine: str
    packages: tuple[PackageResult, ...]
    pipeline_policies: tuple[PipelinePolicy, ...]
    head: PolicyHead | None = None
    engine_version: str = ""

    def to_json(self) -> dict[str, Any]:
        """The detail in the plan's JSON (``head`` only when policies changed)."""
        out: dict[str, Any] = {
            "engine": self.engine,
            "engine_version": self.engine_version,
            "packages": [p.to_json() for p in self.packages],
            "pipeline_policies": [p.to_json() for p in self.pipeline_policies],
        }
        if self.head is not None:
            out["head"] = self.head.to_json()
        return out


def _engine_label(engine: PolicyEngine) -> str:
    return f"{engine.name} ({engine.version})" if engine.version else engine.name


def policy_gate(ctx: Context, engine: PolicyEngine, upstream: Sequence[GateResult]) -> GateResult:
    """Decide the ``policy`` gate with the base branch's policies; preview the head's when they differ.

    Denials the base branch already produces are warnings (see ``_inherit``); the governance-approval rule is
    decided natively (``changebot.core.policy.approval``), whichever engine runs."""
    settings = policy_settings(ctx.settings.section("policy"))
    data_input = build_input(ctx, upstream, settings.governance_owners)
    governance = governance_findings(
        data_input["governance"]["changed"], settings.governance_owners, ctx.pr.approvals, settings.default_library
    )
    library = list(engine.library()) if settings.default_library else []
    modules, entry_findings, entries = repository_modules(ctx, "base")
    all_modules = library + modules
    if not all_modules and not settings.packages:
        if governance:
            status = status_from_findings(governance)
            detail = PolicyDetail(engine.name, (), (), engine_version=engine.version)
            return GateResult(GateId.POLICY, status, "governance edits checked; no policies", tuple(governance), detail)
        reason = (
            "no packages to ask the OPA server about: the repository has no policies and policy.packages is empty"
            if engine.name == "opa-server"
            else "no policies: the default library is off and the repository has none"
        )
        return GateResult(GateId.POLICY, Status.SKIPPED, reason)
    locate = _locator(ctx)
    base = run_policies(all_modules, data_input, engine, settings.packages, locate)

    def judge_base(base_ctx: Context) -> Sequence[Finding]:
        base_input = build_input(base_ctx, (), settings.governance_owners)
        return run_policies(all_modules, base_input, engine, settings.packages, _locator(base_ctx)).findings

    inherited = inherit(base.findings, ctx, judge_base)
    findings = [*governance, *entry_findings, *in_repository(inherited, ctx)]
    head_detail: PolicyHead | None = None
    head_modules, head_entry_findings, head_entries = repository_modules(ctx, "head")
    changed = _changed_policies(ctx, (entries, head_entries))
    if changed:
        head = run_policies(library + head_modules, data_input, engine, settings.packages, locate)
        head_findings = [*head_entry_findings, *head.findings]
        head_status = status_from_findings(head_findings)
        head_detail = PolicyHead(head_status, tuple(changed), tuple(head.packages), tuple(head_findings))
        head_errors = sum(1 for f in head_findings if f.severity is Severity.ERROR)
        message = (
            f"this pull request changes policies ({', '.join(changed)}): the gate is decided by the base versions; "
            f"the head versions would decide: {head_status} ({head_errors} error(s)). "
            "A governance owner should review the change."
        )
        findings.append(notice("policies-changed", message, changed[0]))
    status = status_from_findings(findings)
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    label = _engine_label(engine)
    summary = f"{len(base.packages)} package(s) evaluated by the {label} engine"
    if errors:
        summary += f"; {errors} error(s)"
    pipeline_policies = tuple(PipelinePolicy(e["path"], e["enforce"], tuple(e["actions"])) for e in entries)
    detail = PolicyDetail(engine.name, tuple(base.packages), pipeline_policies, head_detail, engine.version)
    return GateResult(GateId.POLICY, status, summary, tuple(findings), detail)
