"""What ``changebot plan`` loads before it answers: start-up is the floor every user feels.

The speed itself is measured by ``benchmarks/bench_plan.py``; these tests keep the causes fixed: planning a
plain directory imports neither the Action's, the App's or GitHub's modules, nor what only some flags need,
nor GitPython.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.repos import EXAMPLES

PROBE = """\
import contextlib, io, json, sys
from changebot.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    status = main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""
#: changebot's modules plan must not import (prefixes), and libraries it must not import.
NOT_FOR_PLAN = (
    "changebot.cli.action",
    "changebot.github",
    "changebot.app",
    "changebot.adapters.github",
    "changebot.adapters.engines.opa",  # only with an OPA server
    "changebot.adapters.ledger",  # only with --ledger
    "changebot.render.markdown",  # only with --format markdown
)
LIBRARIES_NOT_FOR_PLAN = ("git",)


def modules_loaded_by(*argv: str) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True)
    answer = json.loads(done.stdout)
    return answer["status"], answer["modules"]


def test_planning_the_example_loads_only_what_plan_needs() -> None:
    status, modules = modules_loaded_by("plan", "--repo", str(EXAMPLES / "payments"), "--now", "2026-01-14T10:00:00Z")
    assert status == 1  # the example's broken bundle
    assert "changebot.cli.plan" in modules
    assert [m for m in modules if m.split(".")[0] in LIBRARIES_NOT_FOR_PLAN or m.startswith(NOT_FOR_PLAN)] == []


def test_help_still_lists_every_command() -> None:
    done = subprocess.run([sys.executable, "-m", "changebot", "--help"], capture_output=True, text=True, check=True)
    for command in ("validate", "plan", "freeze", "budget", "sequence", "audit", "action", "serve"):
        assert f"    {command}" in done.stdout
