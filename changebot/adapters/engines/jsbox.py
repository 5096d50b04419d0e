"""The sandboxed JavaScript engine for rules' ``if`` (QuickJS, in a sandbox child process).

Why QuickJS (PyPI ``quickjs``) in a child process, measured in benchmarks/README.md ("policy"): a fresh QuickJS
context costs ~0.4 ms, so every rule gets its own, and it enforces a time limit (an interrupt handler) and a
memory limit (its allocator) by itself; its globals are ECMAScript's and nothing else (no ``require``,
``process``, ``console``, ``std`` or ``os``). But a catastrophic regular expression (``/^(a+)+$/``) ignores its
time limit, so the context runs in a ``changebot.adapters.engines.sandbox`` child with a wall-clock deadline and an
address-space cap: a rule that hangs there is killed and reported, and the rules after it still run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from changebot.adapters.engines.worker import run_items
from changebot.core.policy.rules import RulesSettings, ScriptResult

#: Wall-clock slack on top of the JS time limit before the child is killed.
SLACK_SECONDS = 1.0
#: Address-space cap of the child, a backstop behind QuickJS's own memory limit.
ADDRESS_SPACE = 1024 * 1024 * 1024


@dataclass(frozen=True)
class QuickJs:
    """A ``ScriptRunner`` (see ``changebot.core.policy.rules``) with the limits from settings section ``rules``."""

    settings: RulesSettings = field(default_factory=RulesSettings)

    def __call__(self, scripts: Sequence[tuple[str, str]], payload: Mapping[str, Any]) -> list[ScriptResult]:
        """Run each ``(rule id, script)`` in a fresh context; one result per script, in order."""
        if not scripts:
            return []
        header = {
            "payload": payload,
            "time_limit": self.settings.time_limit_ms / 1000,
            "memory_limit": self.settings.memory_limit_mb * 1024 * 1024,
        }
        items = [{"id": rule_id, "src": src} for rule_id, src in scripts]
        batch = run_items("js", header, items, self.settings.time_limit_ms / 1000 + SLACK_SECONDS, ADDRESS_SPACE)
        out: list[ScriptResult] = []
        for outcome in batch.outcomes:
            value = outcome.value if isinstance(outcome.value, bool) else None
            message = outcome.message
            if outcome.kind == "timeout" and "interrupted" in message:
                message = f"stopped after {self.settings.time_limit_ms} ms"
            if outcome.kind == "memory":
                message = f"limit {self.settings.memory_limit_mb} MiB"
            out.append(ScriptResult(outcome.kind, value, message))
        return out
