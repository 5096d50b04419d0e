"""GitHub's official descriptions, fetched by the test setup from npm at pinned versions (``tests.support.npm``).

* ``@octokit/openapi`` — the REST API's OpenAPI description. The test double checks its routes, every request
  body, query parameter and response status against it.
* ``@octokit/webhooks-examples`` — real webhook payloads, used as Actions event files and webhook bodies.
* ``@octokit/openapi-webhooks`` — the webhook payloads' schemas, for events the examples lack
  (``deployment_protection_rule``): ``webhook_schema`` gives one, tests build a payload and validate it.

``PACKAGES`` lists them, each with its pinned version, tarball integrity and the only files kept in the cache
(``tests.support.npm.cache_root()``, outside the checkout). The full OpenAPI file is 13 MB and takes
0.25-0.5 s to parse (measured on the shared 2-core machine), so the operations the double serves, with every
component they reference, are extracted once into ``openapi-subset-<version>.json`` in the same cache (270 KB,
0.035 s to parse) and that subset is what later sessions load.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from tests.support import npm

OPENAPI = npm.Pinned(
    "@octokit/openapi",
    "23.0.2",
    "sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3D7gZXbFx5AHzLUVRBXGDhg==",
    ("generated/api.github.com.json",),
)
WEBHOOKS = npm.Pinned(
    "@octokit/webhooks-examples",
    "7.6.1",
    "sha512-De6U3XB6O3DtCa7bKgCMzTHdeopqqZ6SNivMYJnK65ierKL1AnNIA0tkRYCRS7lwGT792d+Ps1WbfHlso6MynQ==",
    ("api.github.com/index.json",),
)
WEBHOOK_SCHEMAS = npm.Pinned(
    "@octokit/openapi-webhooks",
    "12.1.0",
    "sha512-Z5eDsLCUNbx1zHpZb1LNQirADqdMTvWJQ/deahi0ws+tWWnwHXB+Pr4jfmM9OrETS9Y5iW8ZRu1fdbudObhLrg==",
    ("generated/api.github.com.json",),
)
#: Every npm package this module reads; add a package here with its version, integrity and kept files.
PACKAGES = (OPENAPI, WEBHOOKS, WEBHOOK_SCHEMAS)
OPENAPI_VERSION = OPENAPI.version
WEBHOOKS_VERSION = WEBHOOKS.version


@cache
def package(name: str) -> Path:
    """The cached files of the pinned package ``name`` (fetched on first use; skips or fails without npm)."""
    return npm.fetch(next(p for p in PACKAGES if p.name == name))


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
    subset = npm.cache_root() / f"openapi-subset-{OPENAPI_VERSION}.json"
    if subset.is_file():
        data: dict[str, Any] = json.loads(subset.read_text(encoding="utf-8"))
        if set(templates) <= set(data["paths"]) | set(data.get("x-missing", [])):
            return data
        templates = tuple(sorted(set(templates) | set(data["paths"])))
    full = json.loads((package(OPENAPI.name) / OPENAPI.keep[0]).read_text(encoding="utf-8"))
    data = extract(full, templates)
    data["x-missing"] = sorted(set(templates) - set(full["paths"]))
    subset.parent.mkdir(parents=True, exist_ok=True)
    tmp = subset.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(subset)
    return data


@cache
def webhook_examples() -> dict[str, list[dict[str, Any]]]:
    """Every example payload, by event name."""
    index = json.loads((package(WEBHOOKS.name) / WEBHOOKS.keep[0]).read_text(encoding="utf-8"))
    return {entry["name"]: entry["examples"] for entry in index}


def webhook_example(event: str, action: str | None = None) -> dict[str, Any]:
    """A deep copy of the first example of ``event`` (with ``action``), for a test to adjust."""
    for example in webhook_examples()[event]:
        if action is None or example.get("action") == action:
            copied: dict[str, Any] = json.loads(json.dumps(example))
            return copied
    raise LookupError(f"no {event}/{action} example in @octokit/webhooks-examples {WEBHOOKS_VERSION}")


@cache
def _webhook_components() -> dict[str, Any]:
    doc = json.loads((package(WEBHOOK_SCHEMAS.name) / WEBHOOK_SCHEMAS.keep[0]).read_text(encoding="utf-8"))
    components: dict[str, Any] = doc["components"]
    return components


def webhook_schema(name: str) -> dict[str, Any]:
    """A JSON Schema for the webhook payload ``name`` (``webhook-deployment-protection-rule-requested``), with
    every component it references, from @octokit/openapi-webhooks at the pinned version."""
    return {"$ref": f"#/components/schemas/{name}", "components": _webhook_components()}
