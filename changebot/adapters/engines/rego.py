"""The embedded Rego engine: Microsoft's regorus (PyPI ``celine-regorus``), in a sandbox child process.

Why this build of regorus, measured in benchmarks/README.md ("policy"): it evaluated the real-world policy shapes
(a ``decision`` object built from a ``violations`` partial set, ``sprintf("%v%%", ...)``, v0 ``deny[msg]`` with
``import future.keywords``, two files in one package) correctly, can parse each file as OPA v1 or v0
(``set_rego_v0``), and ran the 50-policy benchmark 1.8x faster than ``gordon-to-regorus`` 0.13 (which has one
more builtin, ``json.patch``); ``regopy`` 1.5.2 failed on the same suite. Any engine can still hang (a policy
that loops) or crash, so it runs in a ``changebot.adapters.engines.sandbox`` child with a deadline per query: a query
that misses it is reported as ``policy-timeout`` and the queries after it still run in a fresh child.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from changebot.adapters.engines.worker import run_items
from changebot.core.policy.decisions import GATE_RULES, Evaluation, Module, QueryResult


@cache
def library_modules() -> tuple[Module, ...]:
    """changebot's default library (``rules/``), tests excluded; read once (it is shipped data, like code)."""
    from changebot.core.documents.resources import data_dir  # noqa: PLC0415 - only when the library is used

    root = data_dir("rules")
    return tuple(
        Module(f"rules/{p.relative_to(root).as_posix()}", p.read_text(encoding="utf-8"), True, "changebot")
        for p in sorted(root.rglob("*.rego"))
        if not p.name.endswith("_test.rego")
    )


@cache
def regorus_version() -> str:
    """``regorus <version>`` of the installed distribution, or ``""``."""
    from importlib import metadata  # noqa: PLC0415

    try:
        version = metadata.version("celine-regorus")
    except metadata.PackageNotFoundError:
        return ""
    return "regorus " + version.split(".post", 1)[0]


#: Address-space cap of the child.
ADDRESS_SPACE = 2 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class EmbeddedRego:
    """A ``PolicyEngine`` (``changebot.core.policy.gate``) running regorus isolated, ``timeout_seconds`` a query."""

    timeout_seconds: float = 5.0
    address_space: int = ADDRESS_SPACE
    name: str = "embedded"

    @property
    def version(self) -> str:
        """``regorus <version>`` (the installed ``celine-regorus``)."""
        return regorus_version()

    def library(self) -> Sequence[Module]:
        """changebot's default library, loaded beside the repository's policies."""
        return library_modules()

    def evaluate(self, modules: Sequence[Module], packages: Sequence[str], data_input: Mapping[str, Any]) -> Evaluation:
        """Compile ``modules`` (each on its own first, so one bad file does not hide the rest) and query packages."""
        header = {
            "modules": [{"path": m.path, "source": m.source} for m in modules],
            "input": data_input,
            "rules": list(GATE_RULES),
        }
        queries = [f"data.{p}" for p in packages]
        if not queries:
            queries_batch = run_items("rego", header, ["data"], self.timeout_seconds, self.address_space)
            return Evaluation((), _compile_errors(queries_batch.notes))
        batch = run_items("rego", header, queries, self.timeout_seconds, self.address_space)
        results: list[QueryResult] = []
        for outcome in batch.outcomes:
            if outcome.kind == "ok":
                results.append(QueryResult("ok", outcome.value))
            elif outcome.kind == "undefined":
                results.append(QueryResult("undefined"))
            elif outcome.kind == "timeout":
                results.append(
                    QueryResult(
                        "timeout", message=f"evaluation did not finish within {self.timeout_seconds:g} s (stopped)"
                    )
                )
            elif outcome.kind == "crashed":
                results.append(
                    QueryResult("crashed", message=f"the Rego engine crashed ({outcome.message or 'no reply'})")
                )
            else:
                results.append(QueryResult("error", message=outcome.message, code="policy-eval-error"))
        return Evaluation(tuple(results), _compile_errors(batch.notes))


def _compile_errors(notes: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(n["path"]): str(n.get("message", "")) for n in notes if n.get("note") == "compile-error"}
