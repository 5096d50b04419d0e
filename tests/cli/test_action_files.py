"""action.yml and the workflows: what they declare matches what ``changebot action`` reads and writes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.repos import GIT_ENV, REPO_ROOT


def load(rel: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((REPO_ROOT / rel).read_text(encoding="utf-8"))
    return data


def test_action_yml_is_a_composite_that_installs_and_runs_changebot() -> None:
    action = load("action.yml")
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert "pip install" in steps[1]["run"] and "$CHANGEBOT_ACTION_PATH" in steps[1]["run"]
    install = steps[1]["run"]  # pinned: the lock with hashes, then changebot itself resolving nothing
    assert '--require-hashes --no-deps \\\n  -r "$CHANGEBOT_ACTION_PATH/requirements/action.txt"' in install
    assert '--no-deps --no-build-isolation "$CHANGEBOT_ACTION_PATH"' in install
    assert (REPO_ROOT / "requirements" / "action.txt").is_file()
    assert steps[2]["run"].strip("'").endswith('/bin/changebot" action')
    assert set(action["outputs"]) == {"verdict", "cost", "sarif", "evidence"}
    assert all(v["value"].startswith("${{ steps.changebot.outputs.") for v in action["outputs"].values())


def test_every_input_reaches_the_cli_as_input_env() -> None:
    action = load("action.yml")
    env = action["runs"]["steps"][2]["env"]
    for name in action["inputs"]:
        if name in ("python-version", "opa-version"):  # used by the setup steps
            continue
        key = "INPUT_" + name.upper().replace("-", "_")
        assert env[key] == "${{ inputs." + name + " }}"


def test_no_expression_is_expanded_inside_a_shell_script() -> None:
    """Values reach scripts through env only, so nothing in them can inject shell code."""
    for step in load("action.yml")["runs"]["steps"]:
        assert not re.search(r"\$\{\{", step.get("run", "")), step


def test_the_opa_version_input_installs_a_checked_opa_before_changebot_runs() -> None:
    install = load("action.yml")["runs"]["steps"][1]
    assert install["env"]["OPA_VERSION"] == "${{ inputs.opa-version }}"
    script = install["run"]
    assert "releases/download/$OPA_VERSION/$asset" in script and "$url.sha256" in script
    exported = script.index('"CHANGEBOT_OPA_PATH=$RUNNER_TEMP/opa" >> "$GITHUB_ENV"')
    assert script.index('[ "$want" != "$got" ]') < exported


def test_workflows_grant_what_changebot_needs() -> None:
    for rel in ("examples/workflows/changebot.yml", ".github/workflows/changebot.yml"):
        workflow = load(rel)
        assert workflow["permissions"]["checks"] == "write"
        assert workflow["permissions"]["pull-requests"] == "write"
        checkout = workflow["jobs"]["changebot"]["steps"][0]
        assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert "pull_request_target" in load("examples/workflows/changebot.yml")[True]


def test_the_composite_run_step_runs_changebot_with_the_inputs(
    github: Any, make_repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 'Run changebot' step of action.yml, as the runner would run it (inputs at their defaults)."""
    action = load("action.yml")
    step = action["runs"]["steps"][2]
    runner_temp = tmp_path / "runner-temp"
    (runner_temp / "changebot-venv" / "bin").mkdir(parents=True)
    (runner_temp / "changebot-venv" / "bin" / "changebot").symlink_to(Path(sys.executable).parent / "changebot")
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    defaults["token"] = "test-token"  # ${{ github.token }} on a runner
    env = {
        k: re.sub(r"\$\{\{ inputs\.([a-z-]+) \}\}", lambda m: defaults[m.group(1)], v) for k, v in step["env"].items()
    }
    assert env["INPUT_BOT_LOGIN"] == "github-actions[bot]"
    repo = make_repo({"README.md": "hi\n"})
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "CHANGEBOT_"))},
        **GIT_ENV,
        **env,
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_WORKSPACE": str(repo.path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_API_URL": github.base_url,
    }
    (tmp_path / "event.json").write_text("{}", encoding="utf-8")
    done = subprocess.run(
        ["bash", "-c", step["run"]], env=full_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "verdict<<" in output.read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8").startswith("### changebot:")
