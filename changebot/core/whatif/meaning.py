"""A governance diff people can read: per file kind, what changed in meaning, not in text. Pure.

Both versions are read by the gates' own readers (through ``schema.governance.as_governance`` views), then
compared by what they mean: freeze windows by name and their next occurrence ("window 'weekends' now starts
Fri 16:00 instead of Fri 17:00 (Europe/Dublin)"), rules by id and the labels they plan ("rule 'risk-high' now
also labels needs-sre"), pipeline steps by id (their ``when:``, cost and the per-run cap), ci_budget.json
numbers, Rego files and the rules they define, and changebot's settings key by key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from changebot.core.budget.pipeline import Pipeline, read_pipeline
from changebot.core.context import Context
from changebot.core.documents import layout
from changebot.core.freeze.gate import read_calendar
from changebot.core.freeze.windows import Window, iso
from changebot.core.policy.gate import repository_modules
from changebot.core.policy.rules import Rule, parse_rules
from changebot.core.schema.governance import CHECKS, NO_ENGINES
from changebot.model import Severity

#: How far ahead windows are looked for by name.
SPAN = timedelta(days=366)
_RULE_HEAD = re.compile(r"^([A-Za-z_]\w*)\b(?!\s*\.)", re.MULTILINE)
_NOT_RULES = frozenset({"package", "import", "default", "else", "not", "some", "every"})


@dataclass(frozen=True)
class Meaning:
    """One change in meaning: its file kind (``calendar``, ``rules``, ``pipeline``, ``budget``, ``policy``,
    ``settings``), the file, and a sentence."""

    kind: str
    path: str
    text: str

    def to_json(self) -> dict[str, str]:
        """``{kind, path, text}``."""
        return {"kind": self.kind, "path": self.path, "text": self.text}


def _local(window: Window) -> str:
    if window.kind == "absolute":
        return iso(window.start, window.zone)
    return window.start.astimezone(ZoneInfo(window.zone)).strftime("%a %H:%M")


def _local_end(window: Window) -> str:
    if window.kind == "absolute":
        return iso(window.end, window.zone)
    return window.end.astimezone(ZoneInfo(window.zone)).strftime("%a %H:%M")


def _first(windows: Iterable[Window]) -> dict[str, Window]:
    out: dict[str, Window] = {}
    for window in windows:
        out.setdefault(window.name, window)
    return out


def calendar(old: Context, new: Context, now: datetime) -> list[Meaning]:
    """Windows added, removed or moved (by name, their next occurrence from ``now``)."""
    before = _first(read_calendar(old)[0].windows(now, now + SPAN))
    after = _first(read_calendar(new)[0].windows(now, now + SPAN))
    out: list[Meaning] = []
    for name, window in after.items():
        was = before.get(name)
        if was is None:
            text = f"window {name!r} added: next from {_local(window)} to {_local_end(window)} ({window.zone})"
            out.append(Meaning("calendar", window.source, text))
            continue
        zone = f" ({window.zone})" if was.zone == window.zone else f" ({was.zone} -> {window.zone})"
        if _local(was) != _local(window) or was.zone != window.zone:
            out.append(
                Meaning(
                    "calendar",
                    window.source,
                    f"window {name!r} now starts {_local(window)} instead of {_local(was)}{zone}",
                )
            )
        if _local_end(was) != _local_end(window):
            out.append(
                Meaning(
                    "calendar",
                    window.source,
                    f"window {name!r} now ends {_local_end(window)} instead of {_local_end(was)}{zone}",
                )
            )
        if was.enforced != window.enforced:
            state = "is now enforced" if window.enforced else "is no longer enforced"
            out.append(Meaning("calendar", window.source, f"window {name!r} {state}"))
    out.extend(
        Meaning(
            "calendar", was.source, f"window {name!r} removed (next was {_local(was)} to {_local_end(was)}, {was.zone})"
        )
        for name, was in before.items()
        if name not in after
    )
    return out


def _rules(view: Context) -> dict[str, Rule]:
    loaded = view.governance(layout.RULES)
    if loaded is None or loaded.document is None:
        return {}
    return {r.id: r for r in parse_rules(loaded.document)[0]}


def _rule_labels(rule: Rule) -> set[str]:
    out: set[str] = set()
    for action in rule.then:
        if action.do == "label":
            labels = action.with_.get("labels", [])
            out.update(str(x) for x in (labels if isinstance(labels, list) else [labels]))
    return out


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:119] + "…"


def rules(old: Context, new: Context) -> list[Meaning]:
    """Rules added or removed, and what a kept rule now labels, matches or does."""
    before, after = _rules(old), _rules(new)
    path = layout.RULES
    out: list[Meaning] = []
    for rule_id, rule in after.items():
        was = before.get(rule_id)
        if was is None:
            labels = sorted(_rule_labels(rule))
            what = f": labels {', '.join(labels)}" if labels else ""
            out.append(Meaning("rules", path, f"rule {rule_id!r} added{what}"))
            continue
        gained, lost = sorted(_rule_labels(rule) - _rule_labels(was)), sorted(_rule_labels(was) - _rule_labels(rule))
        if gained:
            out.append(Meaning("rules", path, f"rule {rule_id!r} now also labels {', '.join(gained)}"))
        if lost:
            out.append(Meaning("rules", path, f"rule {rule_id!r} no longer labels {', '.join(lost)}"))
        if rule.when != was.when:
            out.append(
                Meaning(
                    "rules", path, f"rule {rule_id!r} now applies when {_short(rule.when)} (was {_short(was.when)})"
                )
            )
        if rule.script != was.script:
            out.append(
                Meaning(
                    "rules", path, f"rule {rule_id!r} now matches if {_short(rule.script)} (was {_short(was.script)})"
                )
            )
        others = [a for a in rule.then if a.do != "label"], [a for a in was.then if a.do != "label"]
        if others[0] != others[1]:
            out.append(
                Meaning(
                    "rules", path, f"rule {rule_id!r} now does {', '.join(a.do for a in others[0]) or 'nothing else'}"
                )
            )
    out.extend(Meaning("rules", path, f"rule {rule_id!r} removed") for rule_id in before if rule_id not in after)
    return out


def _pipeline(view: Context) -> Pipeline | None:
    loaded = view.governance(layout.PIPELINE)
    if loaded is None or loaded.document is None:
        return None
    return read_pipeline(loaded.document)[0]


def _money(value: float | None) -> str:
    return "none" if value is None else f"${value:,.2f}"


def pipeline(old: Context, new: Context) -> list[Meaning]:
    """Steps added or removed, a step's ``when:`` or cost, and the per-run cap."""
    before, after = _pipeline(old), _pipeline(new)
    if before is None and after is None:
        return []
    path = layout.PIPELINE
    old_steps = {s.id: s for s in before.steps} if before else {}
    new_steps = {s.id: s for s in after.steps} if after else {}
    out: list[Meaning] = []
    old_name, new_name = (before.name if before else None), (after.name if after else None)
    if old_name != new_name:
        out.append(Meaning("pipeline", path, f"the pipeline is now named {new_name!r} (was {old_name!r})"))
    old_cap, new_cap = (before.hard_cap_usd if before else None), (after.hard_cap_usd if after else None)
    if old_cap != new_cap:
        out.append(Meaning("pipeline", path, f"the per-run cap is now {_money(new_cap)} (was {_money(old_cap)})"))
    for step_id, step in new_steps.items():
        was = old_steps.get(step_id)
        if was is None:
            out.append(
                Meaning("pipeline", path, f"step {step_id!r} added" + (f", runs when {step.when}" if step.when else ""))
            )
            continue
        if step.when != was.when:
            out.append(
                Meaning(
                    "pipeline",
                    path,
                    f"step {step_id!r} now runs when {step.when or 'always'} (was {was.when or 'always'})",
                )
            )
        if step.cost_usd != was.cost_usd:
            out.append(
                Meaning(
                    "pipeline", path, f"step {step_id!r} now costs {_money(step.cost_usd)} (was {_money(was.cost_usd)})"
                )
            )
    out.extend(
        Meaning("pipeline", path, f"step {step_id!r} removed") for step_id in old_steps if step_id not in new_steps
    )
    return out


def _flat(data: Any, prefix: str = "", depth: int = 2) -> dict[str, Any]:
    if isinstance(data, Mapping) and depth > 0:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}.", depth - 1))
        return out
    return {prefix.rstrip("."): data}


def _keys(kind: str, path: str, old: Context, new: Context) -> list[Meaning]:
    before, after = _flat(old.mapping("base", path) or {}), _flat(new.mapping("base", path) or {})
    out: list[Meaning] = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            out.append(Meaning(kind, path, f"{key} removed (was {_short(before[key])})"))
        elif key not in before:
            out.append(Meaning(kind, path, f"{key} is now {_short(after[key])}"))
        elif before[key] != after[key]:
            out.append(Meaning(kind, path, f"{key} is now {_short(after[key])} (was {_short(before[key])})"))
    return out


def _rule_names(source: str) -> set[str]:
    return {name for name in _RULE_HEAD.findall(source) if name not in _NOT_RULES}


def policies(old: Context, new: Context) -> list[Meaning]:
    """Rego files added, removed or changed, and the rules a changed file now defines or no longer defines."""
    before = {m.path: m.source for m in repository_modules(old, "base")[0]}
    after = {m.path: m.source for m in repository_modules(new, "base")[0]}
    out: list[Meaning] = []
    for path, source in after.items():
        was = before.get(path)
        if was is None:
            out.append(
                Meaning(
                    "policy", path, f"policy added, defining {', '.join(sorted(_rule_names(source))) or 'no rules'}"
                )
            )
        elif was != source:
            gained, lost = (
                sorted(_rule_names(source) - _rule_names(was)),
                sorted(_rule_names(was) - _rule_names(source)),
            )
            detail = "; ".join(
                ([f"now defines {', '.join(gained)}"] if gained else [])
                + ([f"no longer defines {', '.join(lost)}"] if lost else [])
            )
            out.append(
                Meaning("policy", path, f"policy changed{': ' + detail if detail else ' (same rules, new bodies)'}")
            )
    out.extend(Meaning("policy", path, "policy removed") for path in before if path not in after)
    return out


#: The kind each governance check reports as.
_CHECK_KINDS = {"calendar": "calendar", "pipeline": "pipeline", "ci-budget": "budget", "rules": "rules"}


def unreadable(old: Context, new: Context) -> list[Meaning]:
    """Errors the new governance has and the old one has not, by the gates' own readers: what the new version
    cannot read is left out of it (a window that does not parse is no window), and the diff says so first."""
    out: list[Meaning] = []
    for check, kind in _CHECK_KINDS.items():
        known = {(f.code, f.message) for f in CHECKS[check](old, NO_ENGINES) if f.severity is Severity.ERROR}
        out.extend(
            Meaning(kind, f.path or "", f"cannot be read at line {f.line}: {f.message}" if f.line else f.message)
            for f in CHECKS[check](new, NO_ENGINES)
            if f.severity is Severity.ERROR and (f.code, f.message) not in known
        )
    return list(dict.fromkeys(out))


def meaning(old: Context, new: Context, now: datetime) -> list[Meaning]:
    """Every change in meaning between the governance of ``old.base`` and ``new.base``."""
    return [
        *unreadable(old, new),
        *calendar(old, new, now),
        *rules(old, new),
        *pipeline(old, new),
        *_keys("budget", layout.CI_BUDGET, old, new),
        *policies(old, new),
        *_keys("settings", layout.SETTINGS, old, new),
    ]
