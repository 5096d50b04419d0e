"""Builders shared by the rules and policy tests: contexts from in-memory files, JSON text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from changebot.core.context import Context, make_context
from changebot.core.documents.load import load_any
from changebot.core.settings import DEFAULT_SETTINGS, parse_settings
from changebot.model import ChangedFile, PullRequest, RepoFiles

NOW = datetime(2025, 9, 20, 12, 0, tzinfo=UTC)


def files_of(files: Mapping[str, str | bytes]) -> RepoFiles:
    data = {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in files.items()}
    return RepoFiles("ref", None, data, frozenset(data))


def context(
    base: Mapping[str, str | bytes],
    head: Mapping[str, str | bytes] | None = None,
    *,
    labels: tuple[str, ...] = (),
    files: tuple[str, ...] = (),
    author: str | None = "dev",
    title: str = "a change",
    event: str = "pull_request",
    approvals: tuple[str, ...] = (),
) -> Context:
    base_files = files_of(base)
    head_files = files_of(head if head is not None else base)
    settings = DEFAULT_SETTINGS
    raw = base_files.files.get(".maestro/changebot.yaml")
    if raw is not None:
        loaded = load_any(".maestro/changebot.yaml", raw)
        assert loaded.document is not None, loaded.findings
        settings = parse_settings(loaded.document.data)
    pr = PullRequest(
        event=event,
        base_branch="main",
        author=author,
        title=title,
        labels=labels,
        files=tuple(ChangedFile("M", f) for f in files),
        approvals=approvals,
    )
    return make_context(base_files, head_files, pr, NOW, settings)


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2) + "\n"


def rule(rule_id: str, script: str | None = None, when: Any = None, then: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule_id}
    if when is not None:
        out["when"] = when
    if script is not None:
        out["if"] = script
    out["then"] = then if then is not None else [{"do": "label", "with": {"labels": [f"hit:{rule_id}"]}}]
    return out
