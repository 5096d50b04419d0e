"""``changebot --version``: changebot's version and those of the engines that evaluate a plan.

A verdict depends on more than changebot's own code: the embedded Rego engine (regorus), the JavaScript
sandbox (QuickJS), the JSON Logic and ``when:`` parsers, PyGithub, and the ``opa`` binary when one is on
``PATH``. Bug reports and pinned installs need all of them, so ``--version`` prints one line each.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from changebot import __version__

#: (what it is, the distribution that provides it), in the order printed.
ENGINES = (
    ("regorus (embedded Rego)", "celine-regorus"),
    ("quickjs (rules' if)", "quickjs"),
    ("json-logic (rules' when)", "panzi-json-logic"),
    ("lark (pipeline when:)", "lark"),
    ("PyGithub", "PyGithub"),
)


def _installed(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _opa() -> str:
    opa = shutil.which("opa")
    if opa is None:
        return "not on PATH (the 'opa' engine needs it)"
    try:
        done = subprocess.run([opa, "version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{opa}: cannot run ({exc})"
    lines = done.stdout.splitlines()
    version = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Version:")), "")
    return f"{version or 'unknown version'} ({opa})"


def version_text() -> str:
    """Every line ``--version`` prints."""
    lines = [f"changebot {__version__}", f"  Python {platform.python_version()}"]
    lines.extend(f"  {name} {_installed(dist)}" for name, dist in ENGINES)
    lines.append(f"  opa {_opa()}")
    return "\n".join(lines) + "\n"


class VersionAction(argparse.Action):
    """Like argparse's ``version`` action, but the engines are looked up only when it is asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        sys.stdout.write(version_text())
        sys.stdout.flush()
        parser.exit(0)
