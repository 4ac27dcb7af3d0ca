"""openapi.yaml is a valid OpenAPI 3.1 document and covers every route the engine serves."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests._support.openapi import SPEC_PATH, load_spec
from utd_stream_engine import EngineConfig, NullBridge, create_app


def test_spec_is_valid_openapi_31() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_engine_route_is_documented_and_vice_versa() -> None:
    app = create_app(EngineConfig(db_path=":memory:"), bridge=NullBridge())
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if route.method != "HEAD":
            served.add((route.method.lower(), path))
    spec = load_spec()
    documented = {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    }
    assert served == documented


def test_error_codes_in_spec_match_the_contract() -> None:
    contract = (SPEC_PATH.parent / "docs" / "engine-contract.md").read_text()
    errors_bullet = contract.split("- Errors:")[1].split("\n- ")[0]
    contract_codes = set(re.findall(r"`([a-z_]+)`", errors_bullet))
    schema = load_spec()["components"]["schemas"]["Error"]
    spec_codes = set(schema["properties"]["error"]["properties"]["code"]["enum"])
    assert len(contract_codes) >= 15
    assert contract_codes <= spec_codes
    assert spec_codes - contract_codes <= {"internal"}
