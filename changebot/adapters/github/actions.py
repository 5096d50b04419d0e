"""The GitHub Actions runtime: the environment, the event file, outputs, the job summary, workflow commands.

Everything the runner gives a step is read here once, into ``ActionsEnv``; everything a step can give back
(outputs in ``GITHUB_OUTPUT``, Markdown in ``GITHUB_STEP_SUMMARY``, ``::error file=...::`` lines on stdout) is
written here. Workflow-command values are escaped as the runner expects (``%``, CR, LF; and ``:`` and ``,`` in
properties), so a message cannot end a command early or inject another one.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from changebot.adapters.github.calls import DEFAULT_API_URL
from changebot.errors import ChangebotError, UsageError

MAX_EVENT_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
DOCS = "https://github.com/changebot/changebot#github-action"


class ActionError(ChangebotError):
    """The Action cannot run: the message says what failed, the hint the likely cause and the fix."""


@dataclass(frozen=True)
class ActionsEnv:
    """The standard Actions environment, as far as changebot uses it."""

    event_name: str
    event_path: Path | None
    repository: str
    api_url: str
    token: str | None
    workspace: Path
    step_summary: Path | None
    output: Path | None
    ref_name: str | None
    run_id: str | None
    inputs: Mapping[str, str]

    def input(self, name: str, default: str = "") -> str:
        """An input as the runner passes it: ``INPUT_<NAME>`` upper case, spaces as ``_``; hyphens kept, or as
        ``_`` (how a composite action passes it on through ``env:``)."""
        key = name.upper().replace(" ", "_")
        value = self.inputs.get(key) or self.inputs.get(key.replace("-", "_")) or ""
        return value.strip() or default


def read_env(environ: Mapping[str, str] | None = None) -> ActionsEnv:
    """``ActionsEnv`` from ``environ`` (default ``os.environ``)."""
    env = os.environ if environ is None else environ
    inputs = {k.removeprefix("INPUT_"): v for k, v in env.items() if k.startswith("INPUT_")}

    def path(name: str) -> Path | None:
        value = env.get(name, "")
        return Path(value) if value else None

    token = inputs.get("TOKEN", "").strip() or env.get("GITHUB_TOKEN", "").strip() or None
    return ActionsEnv(
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        event_path=path("GITHUB_EVENT_PATH"),
        repository=env.get("GITHUB_REPOSITORY", ""),
        api_url=env.get("GITHUB_API_URL", "") or DEFAULT_API_URL,
        token=token,
        workspace=path("GITHUB_WORKSPACE") or Path.cwd(),
        step_summary=path("GITHUB_STEP_SUMMARY"),
        output=path("GITHUB_OUTPUT"),
        ref_name=env.get("GITHUB_REF_NAME") or None,
        run_id=env.get("GITHUB_RUN_ID") or None,
        inputs=inputs,
    )


def read_event(env: ActionsEnv) -> dict[str, Any]:
    """The event payload (``GITHUB_EVENT_PATH``), size-capped, as a mapping."""
    if env.event_path is None:
        raise ActionError(
            "GITHUB_EVENT_PATH is not set, so there is no event to evaluate",
            "'changebot action' runs inside a GitHub Actions job; locally, use 'changebot plan' instead",
        )
    try:
        size = env.event_path.stat().st_size
        if size > MAX_EVENT_BYTES:
            raise ActionError(f"event file {env.event_path} is {size:,} bytes; the limit is {MAX_EVENT_BYTES:,}")
        data = json.loads(env.event_path.read_bytes())
    except OSError as exc:
        raise ActionError(f"cannot read the event file {env.event_path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ActionError(f"the event file {env.event_path} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ActionError(f"the event file {env.event_path} holds a {type(data).__name__}, not an object")
    return data


def escape_data(value: str) -> str:
    """Escape a workflow command's message."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command's property value (``file=``, ``title=``...)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line, e.g. ``::error file=a.yaml,line=3,title=x::message``."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def set_outputs(env: ActionsEnv, values: Mapping[str, str]) -> None:
    """Append outputs to ``GITHUB_OUTPUT`` (multi-line safe); a no-op outside Actions."""
    if env.output is None:
        return
    with env.output.open("a", encoding="utf-8") as handle:
        for name, value in values.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(env: ActionsEnv, markdown: str) -> None:
    """Append Markdown to the job summary; a no-op outside Actions."""
    if env.step_summary is None:
        return
    with env.step_summary.open("a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")


def _git(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(workspace), *args], capture_output=True, text=True, timeout=300, check=False
    )


def has_commit(workspace: Path, sha: str) -> bool:
    """True when ``sha`` is a commit in the checkout."""
    return _git(workspace, "cat-file", "-e", f"{sha}^{{commit}}").returncode == 0


def require_checkout(workspace: Path) -> None:
    """Fail with the fix unless ``workspace`` is a git checkout (the workflow ran ``actions/checkout``)."""
    if not (workspace / ".git").exists():
        raise ActionError(
            f"{workspace} is not a git checkout",
            "add '- uses: actions/checkout@v4' with 'fetch-depth: 0' before changebot in the workflow",
        )


def ensure_commits(workspace: Path, shas: list[str], pr_number: int | None = None, remote: str = "origin") -> None:
    """Fetch the commits changebot reads (base and head) into the checkout when they are missing.

    Nothing is checked out and nothing from the fetched commits is executed: changebot reads blobs with git.
    """
    for sha in shas:
        if not sha or any(c not in "0123456789abcdef" for c in sha.lower()) or len(sha) < 7:
            raise UsageError(f"{sha!r} is not a commit SHA")
    require_checkout(workspace)
    missing = [sha for sha in shas if not has_commit(workspace, sha)]
    if not missing:
        return
    refspecs = [*missing]
    if pr_number is not None:
        refspecs.append(f"+refs/pull/{int(pr_number)}/head:refs/remotes/{remote}/pr/{int(pr_number)}")
    for spec in refspecs:
        _git(workspace, "fetch", "--no-tags", "--quiet", remote, spec)
        missing = [sha for sha in missing if not has_commit(workspace, sha)]
        if not missing:
            return
    raise ActionError(
        f"commit(s) {', '.join(s[:12] for s in missing)} are not in the checkout and could not be fetched",
        "check out with history: 'uses: actions/checkout@v4' with 'fetch-depth: 0' (a shallow clone lacks the "
        "pull request's base commit)",
    )
