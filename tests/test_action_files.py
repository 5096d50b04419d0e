"""action.yml and the workflows: what they declare matches what ``changebot action`` reads and writes."""

from __future__ import annotations

import re
from typing import Any

import yaml
from conftest import REPO_ROOT


def load(rel: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((REPO_ROOT / rel).read_text(encoding="utf-8"))
    return data


def test_action_yml_is_a_composite_that_installs_and_runs_changebot() -> None:
    action = load("action.yml")
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert "pip install" in steps[1]["run"] and "$CHANGEBOT_ACTION_PATH" in steps[1]["run"]
    assert steps[2]["run"].strip("'").endswith('/bin/changebot" action')
    assert set(action["outputs"]) == {"verdict", "cost"}
    assert all(v["value"].startswith("${{ steps.changebot.outputs.") for v in action["outputs"].values())


def test_every_input_reaches_the_cli_as_input_env() -> None:
    action = load("action.yml")
    env = action["runs"]["steps"][2]["env"]
    for name in action["inputs"]:
        if name == "python-version":
            continue
        key = "INPUT_" + name.upper().replace("-", "_")
        assert env[key] == "${{ inputs." + name + " }}"


def test_no_expression_is_expanded_inside_a_shell_script() -> None:
    """Values reach scripts through env only, so nothing in them can inject shell code."""
    for step in load("action.yml")["runs"]["steps"]:
        assert not re.search(r"\$\{\{", step.get("run", "")), step


def test_workflows_grant_what_changebot_needs() -> None:
    for rel in ("examples/workflows/changebot.yml", ".github/workflows/changebot.yml"):
        workflow = load(rel)
        assert workflow["permissions"]["checks"] == "write"
        assert workflow["permissions"]["pull-requests"] == "write"
        checkout = workflow["jobs"]["changebot"]["steps"][0]
        assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert "pull_request_target" in load("examples/workflows/changebot.yml")[True]
