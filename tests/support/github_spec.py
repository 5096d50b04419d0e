"""Checking requests and answers against GitHub's OpenAPI description (the subset from ``tests/octokit.py``).

``SpecChecker.check(call)`` returns the problems with one request the double received: an operation GitHub does
not have, a query parameter it does not take, a request body its ``requestBody`` schema refuses, an answer
status it does not list, or an answer whose fields have the wrong types or shapes. ``required_only(call)`` is the
answer cut down to the fields GitHub's description marks ``required`` (the double's "required-only" mode): every
other field is optional to changebot, and a test in that mode shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7


@dataclass
class Call:
    """One request as the double received it."""

    method: str
    path: str
    template: str | None
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    status: int = 0
    faulted: bool = False
    response: Any = None


def _nullable_type(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Any:
    if instance is None and schema.get("nullable"):
        return
    yield from jsonschema.Draft7Validator.VALIDATORS["type"](validator, types, instance, schema)


#: For answers: OpenAPI 3.0 ``nullable`` honoured, ``required`` not enforced (the double answers only the fields
#: changebot reads, and GitHub's objects have dozens), so what it does answer must have GitHub's types and shapes.
AnswerValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    {
        "type": _nullable_type,
        "required": lambda *args: iter(()),
        # Without ``required`` several alternatives may match; one is enough.
        "oneOf": jsonschema.Draft7Validator.VALIDATORS["anyOf"],
    },
)


#: Kept in required-only answers: the description leaves them optional only because the ``Accept`` media type
#: picks them (``application/vnd.github.html+json`` answers ``body_html`` instead of ``body``), and changebot
#: asks for the default media type, which always carries ``body``.
MEDIA_TYPE_FIELDS = frozenset({"body"})


class SpecChecker:
    """Validates requests and answers against an OpenAPI subset (see ``tests/octokit.py``)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self._validators: dict[str, Any] = {}
        self._registry: Any = Registry().with_resource("urn:github", Resource.from_contents(spec, DRAFT7))

    def operation(self, method: str, template: str) -> dict[str, Any] | None:
        item = self.spec["paths"].get(template)
        op = item.get(method.lower()) if item else None
        return op if isinstance(op, dict) else None

    def _param(self, param: dict[str, Any]) -> dict[str, Any]:
        ref = param.get("$ref")
        if isinstance(ref, str):
            node: Any = self.spec
            for part in ref.removeprefix("#/").split("/"):
                node = node[part]
            return dict(node)
        return param

    def _check_answer(self, call: Call, op: dict[str, Any], where: str) -> list[str]:
        if call.faulted or call.response is None:
            return []
        assert call.template is not None
        response = op.get("responses", {}).get(str(call.status))
        if not isinstance(response, dict):
            return []
        base = ["paths", call.template, call.method.lower(), "responses", str(call.status)]
        if isinstance(response.get("$ref"), str):
            base = response["$ref"].removeprefix("#/").split("/")
            response = self._param(response)
        if "application/json" not in response.get("content", {}):
            return []
        pointer = "/".join(
            p.replace("~", "~0").replace("/", "~1") for p in [*base, "content", "application/json", "schema"]
        )
        key = "answer:" + pointer
        validator = self._validators.get(key)
        if validator is None:
            validator = AnswerValidator({"$ref": f"urn:github#/{pointer}"}, registry=self._registry)
            self._validators[key] = validator
        return [
            f"{where}: answer{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(call.response)
        ]

    def _answer_schema(self, call: Call) -> dict[str, Any] | None:
        op = self.operation(call.method, call.template or "")
        response = (op or {}).get("responses", {}).get(str(call.status))
        if not isinstance(response, dict):
            return None
        response = self._param(response)
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        return schema if isinstance(schema, dict) else None

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while isinstance(schema.get("$ref"), str):
            schema = self._param(schema)
        return schema

    def _matches(self, schema: dict[str, Any], instance: Any) -> bool:
        return not any(True for _ in AnswerValidator(schema, registry=self._registry).iter_errors(instance))

    def _strip(self, schema: dict[str, Any], instance: Any, depth: int = 0) -> Any:
        """``instance`` with only the object fields ``schema`` requires, recursively."""
        schema = self._resolve(schema)
        if depth > 40:
            return instance
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                for option in schema[key]:
                    resolved = self._resolve(option)
                    if self._matches({**resolved, "components": self.spec.get("components", {})}, instance):
                        return self._strip(resolved, instance, depth + 1)
                return instance
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {"properties": {}, "required": []}
            for raw in schema["allOf"]:
                part = self._resolve(raw)
                merged["properties"].update(part.get("properties", {}))
                merged["required"].extend(part.get("required", []))
            schema = {**schema, **merged}
        if isinstance(instance, list) and isinstance(schema.get("items"), dict):
            return [self._strip(schema["items"], item, depth + 1) for item in instance]
        if isinstance(instance, dict) and isinstance(schema.get("properties"), dict):
            required = set(schema.get("required", [])) | MEDIA_TYPE_FIELDS
            properties = schema["properties"]
            return {
                k: self._strip(properties[k], v, depth + 1) if isinstance(properties.get(k), dict) else v
                for k, v in instance.items()
                if k in required or (k not in properties and schema.get("additionalProperties") not in (None, False))
            }
        return instance

    def required_only(self, call: Call) -> Any:
        """The double's answer to ``call`` with every field the description does not require left out."""
        schema = self._answer_schema(call)
        if schema is None or call.response is None:
            return call.response
        return self._strip(schema, call.response)

    def check(self, call: Call) -> list[str]:
        assert call.template is not None
        where = f"{call.method} {call.template}"
        op = self.operation(call.method, call.template)
        if op is None:
            return [f"{where}: not an operation in GitHub's OpenAPI description"]
        problems: list[str] = []
        item = self.spec["paths"][call.template]
        params = [self._param(p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
        allowed = {p["name"] for p in params if p.get("in") == "query"}
        problems.extend(
            f"{where}: query parameter {name!r} is not in the spec" for name in call.query if name not in allowed
        )
        body_spec = op.get("requestBody", {}).get("content", {}).get("application/json")
        if call.body is not None and body_spec is None:
            problems.append(f"{where}: sends a body, the operation takes none")
        elif body_spec is not None and call.body is None and op["requestBody"].get("required"):
            problems.append(f"{where}: the request body is required")
        elif body_spec is not None and call.body is not None:
            pointer = "/".join(
                p.replace("~", "~0").replace("/", "~1")
                for p in [
                    "paths",
                    call.template,
                    call.method.lower(),
                    "requestBody",
                    "content",
                    "application/json",
                    "schema",
                ]
            )
            validator = self._validators.get(pointer)
            if validator is None:
                validator = jsonschema.Draft7Validator({"$ref": f"urn:github#/{pointer}"}, registry=self._registry)
                self._validators[pointer] = validator
            problems.extend(
                f"{where}: body{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}"
                for e in validator.iter_errors(call.body)
            )
        problems.extend(self._check_answer(call, op, where))
        # Injected faults (rate limits, 5xx) can answer any operation, listed or not.
        if str(call.status) not in op.get("responses", {}) and not call.faulted and call.status != 401:
            problems.append(f"{where}: answered {call.status}, which the spec does not list")
        return problems
