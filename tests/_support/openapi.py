"""``openapi.yaml``, loaded once, and engine answers checked against it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

__all__ = ["SPEC_PATH", "check_response", "find_operation", "load_spec"]

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """The engine's OpenAPI document."""
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return spec


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The spec operation for a concrete path; literal segments win over parameters."""
    spec = load_spec()
    candidates = [
        template
        for template in spec["paths"]
        if _template_regex(template).match(path) and method.lower() in spec["paths"][template]
    ]
    assert candidates, f"{method} {path} is not in openapi.yaml"
    template = min(candidates, key=lambda t: t.count("{"))
    operation: dict[str, Any] = spec["paths"][template][method.lower()]
    return template, operation


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    spec = load_spec()
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_response(
    method: str, path: str, status: int, body: object, headers: Mapping[str, str]
) -> None:
    """Assert the status is documented and the JSON body matches its schema."""
    template, operation = find_operation(method, path)
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {template} answered undocumented {status}: {body}"
    response = _resolve(responses[str(status)])
    for name, header in response.get("headers", {}).items():
        if header.get("required"):
            assert name in headers, f"{method} {template} {status} lacks header {name}"
    content = response.get("content", {})
    if "application/json" not in content:
        return
    schema = content["application/json"]["schema"]
    root = {**schema, "components": load_spec()["components"]}
    errors = sorted(Draft202012Validator(root).iter_errors(body), key=str)
    assert not errors, f"{method} {template} {status} breaks the spec: {errors[0].message}\n{body}"
