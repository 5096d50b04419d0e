"""GitHub's official descriptions, fetched by the test setup from npm at pinned versions.

* ``@octokit/openapi`` — the REST API's OpenAPI description. The test double checks its routes, every request
  body, query parameter and response status against it.
* ``@octokit/webhooks-examples`` — real webhook payloads, used as Actions event files and webhook bodies.

``ensure_packages()`` runs ``npm install --no-save --prefix .cache/npm ...`` once (~9 s, 385 MB on disk) and
reuses the result. The full OpenAPI file is 13 MB and takes 0.25-0.5 s to parse (measured on the shared 2-core
machine), so the operations the double serves, with every component they reference, are extracted once into
``.cache/openapi-subset-<version>.json`` (270 KB, 0.035 s to parse) and that subset is what later sessions load.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.required import require

OPENAPI_VERSION = "23.0.2"
WEBHOOKS_VERSION = "7.6.1"
CACHE = Path(__file__).resolve().parents[2] / ".cache"
NPM_PREFIX = CACHE / "npm"
_PACKAGES = NPM_PREFIX / "node_modules" / "@octokit"


def _installed(name: str, version: str) -> bool:
    manifest = _PACKAGES / name / "package.json"
    if not manifest.is_file():
        return False
    return json.loads(manifest.read_text(encoding="utf-8")).get("version") == version


@cache
def ensure_packages() -> Path:
    """Install both npm packages at their pinned versions (once); without npm, ``require`` skips or fails."""
    if _installed("openapi", OPENAPI_VERSION) and _installed("webhooks-examples", WEBHOOKS_VERSION):
        return _PACKAGES
    npm = shutil.which("npm")
    require(npm is not None, "npm is not on PATH: it fetches @octokit/openapi and @octokit/webhooks-examples")
    assert npm is not None
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--prefix",
            str(NPM_PREFIX),
            f"@octokit/openapi@{OPENAPI_VERSION}",
            f"@octokit/webhooks-examples@{WEBHOOKS_VERSION}",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return _PACKAGES


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _pointer(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def extract(doc: dict[str, Any], templates: Iterable[str]) -> dict[str, Any]:
    """The path items for ``templates`` and, transitively, every component they reference."""
    paths = {t: doc["paths"][t] for t in templates if t in doc["paths"]}
    components: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    todo = list(_refs(paths))
    while todo:
        ref = todo.pop()
        if ref in seen or not ref.startswith("#/components/"):
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        target = _pointer(doc, ref)
        components.setdefault(kind, {})[name] = target
        todo.extend(_refs(target))
    return {"openapi": doc["openapi"], "info": doc["info"], "paths": paths, "components": components}


@cache
def openapi(templates: tuple[str, ...]) -> dict[str, Any]:
    """The OpenAPI subset covering ``templates`` (extracted once per version and set of routes)."""
    subset = CACHE / f"openapi-subset-{OPENAPI_VERSION}.json"
    if subset.is_file():
        data: dict[str, Any] = json.loads(subset.read_text(encoding="utf-8"))
        if set(templates) <= set(data["paths"]) | set(data.get("x-missing", [])):
            return data
        templates = tuple(sorted(set(templates) | set(data["paths"])))
    packages = ensure_packages()
    full = json.loads((packages / "openapi" / "generated" / "api.github.com.json").read_text(encoding="utf-8"))
    data = extract(full, templates)
    data["x-missing"] = sorted(set(templates) - set(full["paths"]))
    CACHE.mkdir(exist_ok=True)
    tmp = subset.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(subset)
    return data


@cache
def webhook_examples() -> dict[str, list[dict[str, Any]]]:
    """Every example payload, by event name."""
    packages = ensure_packages()
    index = json.loads((packages / "webhooks-examples" / "api.github.com" / "index.json").read_text(encoding="utf-8"))
    return {entry["name"]: entry["examples"] for entry in index}


def webhook_example(event: str, action: str | None = None) -> dict[str, Any]:
    """A deep copy of the first example of ``event`` (with ``action``), for a test to adjust."""
    for example in webhook_examples()[event]:
        if action is None or example.get("action") == action:
            copied: dict[str, Any] = json.loads(json.dumps(example))
            return copied
    raise LookupError(f"no {event}/{action} example in @octokit/webhooks-examples {WEBHOOKS_VERSION}")
