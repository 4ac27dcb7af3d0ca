"""One set of error codes for the SDK and the engine: the enum, its contract, its use."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import yaml

import utd_stream_rx
from utd_stream_rx import ErrorCode, UTDStreamException
from utd_stream_rx.error_codes import ENGINE_CODES

PACKAGE = Path(utd_stream_rx.__file__).parent
OPENAPI = PACKAGE.parent / "openapi.yaml"
CONTRACT = PACKAGE.parent / "docs" / "engine-contract.md"


def test_a_known_code_becomes_a_member_that_still_equals_its_string() -> None:
    exc = UTDStreamException("taken", 409, "seat_taken")
    assert exc.code is ErrorCode.SEAT_TAKEN
    plain: str = "seat_taken"
    assert exc.code == plain
    assert exc.code in ("seat_taken", "seat_locked")
    assert {"seat_taken": 1}[exc.code] == 1
    assert "code=seat_taken" in str(exc)
    assert "code='seat_taken'" in repr(exc)


def test_an_unknown_code_from_a_newer_engine_is_kept_as_it_came() -> None:
    exc = UTDStreamException("new", 409, "some_future_code")
    assert exc.code == "some_future_code"
    assert not isinstance(exc.code, ErrorCode)


def test_the_code_survives_pickling() -> None:
    exc = pickle.loads(pickle.dumps(UTDStreamException("x", 403, ErrorCode.BANNED)))
    assert exc.code is ErrorCode.BANNED
    assert exc.is_banned


def test_the_engine_codes_are_the_contracts() -> None:
    spec = yaml.safe_load(OPENAPI.read_text())
    listed = spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
    assert set(listed["enum"]) == {code.value for code in ENGINE_CODES}
    contract = CONTRACT.read_text()
    missing = [code.value for code in ENGINE_CODES if f"`{code.value}`" not in contract]
    assert missing == [] or missing == ["internal"]


def _is_str(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _literal_codes(path: Path) -> list[str]:
    """Places in ``path`` that spell an error code as a string literal: ``code="..."`` or a
    string where the engine's error constructors take their code."""
    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg == "code" and _is_str(value):
                found.append(f"{path.name}:{node.lineno} code={ast.literal_eval(value)!r}")
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        takes_code = name in ("ApiError", "error_response", "conflict")
        if takes_code and len(node.args) >= 2 and _is_str(node.args[1]):
            code = ast.literal_eval(node.args[1])
            found.append(f"{path.name}:{node.lineno} {name}(..., {code!r})")
    return found


def test_no_module_spells_an_error_code_as_a_string() -> None:
    literal = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _literal_codes(path)]
    assert literal == []
