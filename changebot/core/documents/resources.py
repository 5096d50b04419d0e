"""Data files shipped with changebot: the JSON Schemas in ``schemas/`` and the Rego library in ``rules/``.

In a source checkout they sit at the repository root; in an installed wheel they are packaged under
``changebot/_data/`` (see ``pyproject.toml``). Reading them is like importing code: fixed, read-only, and
the same on every run, which is why the pure core may use this module.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[2]  # changebot/


@cache
def data_dir(name: str) -> Path:
    """The directory holding shipped data ``name`` (``schemas`` or ``rules``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"changebot's {name}/ directory is missing from this installation")


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``schemas/<name>.schema.json``, parsed once."""
    path = data_dir("schemas") / f"{name}.schema.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
