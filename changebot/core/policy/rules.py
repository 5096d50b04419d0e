"""The ``rules`` gate: ``.maestro/rules.json`` — JSON Logic ``when``, sandboxed JavaScript ``if``, ``then`` actions.

Pure: the JavaScript of ``if`` is handed to a ``ScriptRunner`` (the sandbox lives in
``changebot.adapters.engines.jsbox``); everything else happens here. The flow for one rules file::

    rules.json ──parse_rules──▶ Rule* ──when (JSON Logic, in process)──▶ candidates
    candidates ──if (ScriptRunner, sandboxed)──▶ matched ──then──▶ planned Action*

``when`` is evaluated with ``json_logic`` (panzi-json-logic) over the payload; an operator it does not know is
an error, never a silent ``false``. ``if`` must return a boolean: a rule that throws, times out, runs out of
memory or returns anything else is an error finding naming the rule id. Matched rules *plan* their actions;
``warn`` and ``fail`` actions also make this gate warn or fail. The payload is documented by
``schemas/rules-payload.schema.json``.

The gate is decided by the base branch's rules.json. When the pull request changes that file, the head
version is evaluated too and reported (``RulesDetail.head`` and a notice), never enforced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from changebot.core.context import Context, Side
from changebot.core.documents import layout
from changebot.core.documents.load import Document, json_path
from changebot.model import (
    Action,
    Finding,
    GateDetail,
    GateId,
    GateResult,
    Status,
    error,
    notice,
    skipped,
    status_from_findings,
    warning,
)

#: Actions a rule may plan, and the ``with`` key each one requires.
ACTIONS: Mapping[str, str | None] = {
    "label": "labels",
    "comment": "body",
    "request_review": None,
    "warn": "message",
    "fail": "message",
}


@dataclass(frozen=True)
class Rule:
    """One parsed rule. ``index`` is its position in the file, for line numbers."""

    id: str
    index: int
    when: Any = None
    script: str | None = None
    then: tuple[Action, ...] = ()


@dataclass(frozen=True)
class ScriptResult:
    """How one ``if`` script ended: ``kind`` is ``ok`` (``value`` is the boolean), ``error``, ``timeout``,
    ``memory`` or ``crashed``; ``message`` says more."""

    kind: str
    value: bool | None = None
    message: str = ""


#: Runs ``(rule id, script)`` pairs against the payload; one result per pair, in order.
ScriptRunner = Callable[[Sequence[tuple[str, str]], Mapping[str, Any]], Sequence[ScriptResult]]


@dataclass(frozen=True)
class RulesSettings:
    """Settings section ``rules``."""

    time_limit_ms: int = 50
    memory_limit_mb: int = 32


def rules_settings(section: Mapping[str, Any]) -> RulesSettings:
    """``RulesSettings`` from the raw ``rules`` section; wrong types keep the default."""
    default = RulesSettings()

    def positive(key: str, fallback: int) -> int:
        value = section.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else fallback

    return RulesSettings(
        positive("time_limit_ms", default.time_limit_ms), positive("memory_limit_mb", default.memory_limit_mb)
    )


def _line(doc: Document, path: tuple[str | int, ...]) -> int | None:
    return doc.line(path)


def _parse_action(
    doc: Document, rule_id: str, where: tuple[str | int, ...], raw: Any
) -> tuple[Action | None, Finding | None]:
    path = layout.RULES
    if not isinstance(raw, Mapping) or not isinstance(raw.get("do"), str):
        return None, error(
            "rule-bad-action", f"rule {rule_id!r}: {json_path(where)} must be {{do, with}}", path, _line(doc, where)
        )
    do = raw["do"]
    if do not in ACTIONS:
        known = ", ".join(ACTIONS)
        return None, error(
            "rule-unknown-action",
            f"rule {rule_id!r}: action {do!r} is not one of {known}",
            path,
            _line(doc, (*where, "do")),
        )
    with_ = raw.get("with", {})
    if not isinstance(with_, Mapping):
        return None, error(
            "rule-bad-action", f"rule {rule_id!r}: 'with' of {do!r} must be a mapping", path, _line(doc, where)
        )
    needed = ACTIONS[do]
    if needed is not None and needed not in with_:
        return None, error(
            "rule-bad-action", f"rule {rule_id!r}: action {do!r} needs with.{needed}", path, _line(doc, (*where, "do"))
        )
    if do == "request_review" and not (with_.get("reviewers") or with_.get("team_reviewers")):
        return None, error(
            "rule-bad-action",
            f"rule {rule_id!r}: request_review needs with.reviewers or with.team_reviewers",
            path,
            _line(doc, where),
        )
    for key, value in with_.items():
        expected = _WITH_TYPES.get(key)
        if expected == "string" and not isinstance(value, str):
            found = type(value).__name__
            message = f"rule {rule_id!r}: with.{key} of {do!r} must be a string, found {found}"
            return None, error("rule-bad-action", message, path, _line(doc, (*where, "with", key)))
        if expected == "strings" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            message = f"rule {rule_id!r}: with.{key} of {do!r} must be a list of strings"
            return None, error("rule-bad-action", message, path, _line(doc, (*where, "with", key)))
    return Action(rule_id, do, dict(with_)), None


#: The types of the ``with`` keys changebot knows (others are passed through to the GitHub layer).
_WITH_TYPES: Mapping[str, str] = {
    "labels": "strings",
    "reviewers": "strings",
    "team_reviewers": "strings",
    "body": "string",
    "message": "string",
}


#: Most rules one rules.json may hold; past it none is evaluated (each may cost its sandbox deadline).
MAX_RULES = 500

#: Operations the evaluator handles itself rather than through its table of builtins.
_SPECIAL_FORMS = frozenset({"if", "?:", "and", "or", "filter", "reduce", "map", "all", "some", "none"})


def unknown_operations(logic: Any) -> list[str]:
    """The operation names in a JSON Logic expression that ``_when`` would refuse, in order of appearance
    (``log`` included: it prints). A mapping of exactly one key is an operation; anything else is data."""
    from json_logic.builtins import BUILTINS  # noqa: PLC0415 - lazy: keeps `changebot plan` start-up fast

    known = (set(BUILTINS) - {"log"}) | _SPECIAL_FORMS
    found: dict[str, None] = {}
    stack = [logic]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, Mapping) and len(node) == 1:
            op, args = next(iter(node.items()))
            if op not in known:
                found.setdefault(str(op), None)
            stack.append(args)
    return list(found)


def parse_rules(doc: Document) -> tuple[list[Rule], list[Finding]]:
    """The rules of a loaded rules.json, and findings for entries that are not rules (those are left out)."""
    path = layout.RULES
    if not isinstance(doc.data, list):
        return [], [error("rules-not-a-list", "rules.json must be a list of {id, when, if, then}", path, 1)]
    if len(doc.data) > MAX_RULES:
        message = f"rules.json holds {len(doc.data):,} rules; the limit is {MAX_RULES:,}: none was evaluated"
        return [], [error("rules-too-many", message, path, 1)]
    rules: list[Rule] = []
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(doc.data):
        where: tuple[str | int, ...] = (index,)
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not raw["id"]:
            findings.append(
                error(
                    "rule-bad-entry",
                    f"{json_path(where)} must be a mapping with a string 'id'",
                    path,
                    _line(doc, where),
                )
            )
            continue
        rule_id = raw["id"]
        if rule_id in seen:
            findings.append(
                error(
                    "rule-duplicate-id",
                    f"rule id {rule_id!r} is used twice (first at entry {seen[rule_id]})",
                    path,
                    _line(doc, where),
                )
            )
            continue
        seen[rule_id] = index
        script = raw.get("if")
        if script is not None and not isinstance(script, str):
            findings.append(
                error(
                    "rule-bad-if",
                    f"rule {rule_id!r}: 'if' must be a JavaScript string",
                    path,
                    _line(doc, (*where, "if")),
                )
            )
            continue
        unknown = unknown_operations(raw.get("when"))
        if unknown:
            findings.append(
                error(
                    "rule-when-error",
                    f"rule {rule_id!r}: JSON Logic 'when' failed: Unrecognized operation: {unknown[0]!r}",
                    path,
                    _line(doc, (*where, "when")),
                )
            )
            continue
        then_raw = raw.get("then", [])
        if not isinstance(then_raw, list):
            findings.append(
                error("rule-bad-action", f"rule {rule_id!r}: 'then' must be a list", path, _line(doc, (*where, "then")))
            )
            continue
        actions: list[Action] = []
        bad = False
        for n, action_raw in enumerate(then_raw):
            action, finding = _parse_action(doc, rule_id, (*where, "then", n), action_raw)
            if finding is not None:
                findings.append(finding)
                bad = True
            elif action is not None:
                actions.append(action)
        if not bad:
            rules.append(Rule(rule_id, index, raw.get("when"), script, tuple(actions)))
    return rules, findings


def build_payload(ctx: Context) -> dict[str, Any]:
    """The ``payload`` rules see (``schemas/rules-payload.schema.json``)."""
    return {
        "kind": ctx.pr.event,
        "labels": list(ctx.pr.labels),
        "files": [f.path for f in ctx.pr.files],
        "author": ctx.pr.author,
        "title": ctx.pr.title,
        "base": ctx.pr.base_branch or ctx.base.ref,
        "head": ctx.pr.head_branch or ctx.head.ref,
        "draft": ctx.pr.draft,
        "bundles": bundles(ctx),
    }


def bundles(ctx: Context) -> list[dict[str, Any]]:
    """Every change bundle the head proposes, as ``{path, spec}`` with ``spec`` the mapping as written."""
    out: list[dict[str, Any]] = []
    for pattern in (layout.BUNDLES, ".maestro/changes/*.yml"):
        for path in ctx.paths("head", pattern):
            spec = ctx.mapping("head", path)
            if spec is not None:
                out.append({"path": path, "spec": spec})
    return sorted(out, key=lambda b: str(b["path"]))


def _when(rule: Rule, payload: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(matched, error message) for a rule's JSON Logic ``when``; no ``when`` always matches."""
    if rule.when is None:
        return True, None
    from json_logic.apply import apply  # noqa: PLC0415 - lazy: keeps `changebot plan` start-up fast
    from json_logic.builtins import BUILTINS, to_bool  # noqa: PLC0415

    operations = {name: op for name, op in BUILTINS.items() if name != "log"}  # ``log`` prints: no I/O here
    try:
        return bool(to_bool(apply(rule.when, dict(payload), operations))), None
    except (ReferenceError, TypeError, ValueError, KeyError, IndexError, ArithmeticError, RecursionError) as exc:
        return False, str(exc) or type(exc).__name__


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome: ``matched`` is ``None`` when the rule failed (``error`` says why); a matched rule
    lists the actions it plans (by ``do``)."""

    id: str
    matched: bool | None
    error: str = ""
    actions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``{id, matched}``, plus ``error`` for a failed rule or ``actions`` for a matched one."""
        out: dict[str, Any] = {"id": self.id, "matched": self.matched}
        if self.matched is None:
            out["error"] = self.error
        elif self.matched:
            out["actions"] = list(self.actions)
        return out


@dataclass(frozen=True)
class RulesOutcome:
    """What one version of rules.json decided: findings, planned actions and per-rule results."""

    findings: tuple[Finding, ...]
    actions: tuple[Action, ...]
    results: tuple[RuleResult, ...]

    @property
    def status(self) -> Status:
        """``fail``/``warn``/``pass`` from the findings."""
        return status_from_findings(self.findings)


_SCRIPT_CODES = {"timeout": "rule-timeout", "memory": "rule-out-of-memory", "crashed": "rule-crashed"}


def evaluate(doc: Document, payload: Mapping[str, Any], run: ScriptRunner) -> RulesOutcome:
    """Evaluate one rules document (the runner carries the sandbox limits)."""
    path = layout.RULES
    rules, findings = parse_rules(doc)
    candidates: list[Rule] = []
    results: dict[str, RuleResult] = {}
    for rule in rules:
        matched, problem = _when(rule, payload)
        if problem is not None:
            line = _line(doc, (rule.index, "when"))
            findings.append(
                error("rule-when-error", f"rule {rule.id!r}: JSON Logic 'when' failed: {problem}", path, line)
            )
            results[rule.id] = RuleResult(rule.id, None, error=problem)
        elif not matched:
            results[rule.id] = RuleResult(rule.id, False)
        else:
            candidates.append(rule)
    scripted = [r for r in candidates if r.script is not None]
    outcomes = dict(
        zip((r.id for r in scripted), run([(r.id, r.script or "") for r in scripted], payload), strict=True)
    )
    actions: list[Action] = []
    for rule in candidates:
        outcome = outcomes.get(rule.id)
        if outcome is not None and outcome.kind != "ok":
            code = _SCRIPT_CODES.get(outcome.kind, "rule-script-error")
            line = _line(doc, (rule.index, "if"))
            findings.append(error(code, f"rule {rule.id!r}: 'if' {_describe(outcome)}", path, line))
            results[rule.id] = RuleResult(rule.id, None, error=outcome.message or outcome.kind)
            continue
        if outcome is not None and outcome.value is not True:
            results[rule.id] = RuleResult(rule.id, False)
            continue
        results[rule.id] = RuleResult(rule.id, True, actions=tuple(a.do for a in rule.then))
        actions.extend(rule.then)
        for n, action in enumerate(rule.then):
            line = _line(doc, (rule.index, "then", n))
            if action.do == "fail":
                findings.append(error("rule-fail", f"rule {rule.id!r}: {action.with_.get('message')}", path, line))
            elif action.do == "warn":
                findings.append(warning("rule-warn", f"rule {rule.id!r}: {action.with_.get('message')}", path, line))
    ordered = tuple(results[r.id] for r in rules)
    return RulesOutcome(tuple(findings), tuple(actions), ordered)


def _describe(outcome: ScriptResult) -> str:
    if outcome.kind == "timeout":
        return f"did not finish within the time limit ({outcome.message})"
    if outcome.kind == "memory":
        return f"exceeded the memory limit ({outcome.message})"
    if outcome.kind == "crashed":
        return f"crashed the JavaScript sandbox ({outcome.message})"
    return f"failed: {outcome.message}"


def actions_to_json(actions: Sequence[Action]) -> list[dict[str, Any]]:
    """Planned actions as the plan's JSON writes them."""
    return [{"rule": a.rule, "do": a.do, "with": dict(a.with_)} for a in actions]


@dataclass(frozen=True)
class RulesHead:
    """The head's rules.json when the pull request changes it: what it would decide (never enforced).
    ``status`` is ``skipped`` when the head deletes the file and ``fail`` when it cannot be read."""

    status: Status
    actions: tuple[Action, ...] = ()
    rules: tuple[RuleResult, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``{status, actions, rules}`` as the gate's JSON writes it."""
        return {
            "status": str(self.status),
            "actions": actions_to_json(self.actions),
            "rules": [r.to_json() for r in self.rules],
        }


@dataclass(frozen=True)
class RulesDetail(GateDetail):
    """The rules gate's detail: per-rule results and the planned actions (``Plan.actions``) of the base's
    rules.json (``rules`` is ``None`` when the base has none), and the head's version when the PR changes it."""

    rules: tuple[RuleResult, ...] | None = None
    actions: tuple[Action, ...] = ()
    head: RulesHead | None = None

    def to_json(self) -> dict[str, Any]:
        """``rules`` and ``actions`` (when the base has rules), then ``head`` (when the PR changes them)."""
        out: dict[str, Any] = {}
        if self.rules is not None:
            out["rules"] = [r.to_json() for r in self.rules]
            out["actions"] = actions_to_json(self.actions)
        if self.head is not None:
            out["head"] = self.head.to_json()
        return out


def _load(ctx: Context, side: Side) -> tuple[Document | None, tuple[Finding, ...]]:
    loaded = ctx.load(side, layout.RULES)
    if loaded is None:
        return None, ()
    return loaded.document, loaded.findings


def rules_gate(ctx: Context, run: ScriptRunner) -> GateResult:
    """Decide the ``rules`` gate from the base branch's rules.json; preview the head's when it differs."""
    payload = build_payload(ctx)
    base_doc, base_problems = _load(ctx, "base")
    changed = ctx.base.files.get(layout.RULES) != ctx.head.files.get(layout.RULES)
    head_detail: RulesHead | None = None
    extra: list[Finding] = []
    base = evaluate(base_doc, payload, run) if base_doc is not None else None  # first: it decides the gate
    if changed:
        head_doc, head_problems = _load(ctx, "head")
        if head_doc is not None:
            head = evaluate(head_doc, payload, run)
            head_detail = RulesHead(head.status, head.actions, head.results)
            summary = f"{head.status}, {len(head.actions)} action(s)"
        else:
            head_detail = RulesHead(Status.FAIL if head_problems else Status.SKIPPED)
            summary = "unreadable" if head_problems else "no rules.json (deleted)"
        extra.append(
            notice(
                "rules-changed",
                f"this pull request changes {layout.RULES}: the gate is decided by the base version; "
                f"the head version would decide: {summary}. A governance owner should review the change.",
                layout.RULES,
            )
        )
    if base is None:
        if base_problems:
            findings = (*base_problems, *extra)
            return GateResult(GateId.RULES, Status.FAIL, f"{layout.RULES} on the base branch cannot be read", findings)
        result = skipped(GateId.RULES, f"no {layout.RULES} on the base branch")
        if head_detail is None:
            return result
        return GateResult(GateId.RULES, Status.SKIPPED, result.summary, tuple(extra), RulesDetail(head=head_detail))
    findings = (*base.findings, *extra)
    status = base.status
    matched = sum(1 for r in base.results if r.matched)
    summary = f"{len(base.results)} rule(s), {matched} matched, {len(base.actions)} action(s) planned"
    if status is Status.FAIL:
        summary += f"; {sum(1 for f in base.findings if f.severity == 'error')} error(s)"
    return GateResult(GateId.RULES, status, summary, findings, RulesDetail(base.results, base.actions, head_detail))
