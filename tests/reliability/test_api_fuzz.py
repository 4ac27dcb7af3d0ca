"""schemathesis against ``openapi.yaml`` on the running reference engine.

Valid app credentials and a valid bearer get generated requests past authentication, so the
handlers themselves are exercised; a second pass sends wrong credentials. Every answer must
be a documented status with a body that matches the spec, and never a 5xx.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err, Result
from schemathesis.schemas import APIOperation

from tests._support.figures import record
from utd_stream_rx.testing import LocalStack

pytestmark = pytest.mark.e2e

SPEC = Path(__file__).parents[2] / "openapi.yaml"
schema = schemathesis.openapi.from_path(SPEC)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CASES_PER_OPERATION = 40
_counts = {"valid": 0, "bad_credentials": 0}


def _mint_bearer(stack: LocalStack) -> str:
    request = urllib.request.Request(
        stack.base_url + "/api/v1/auth/user-token",
        data=json.dumps({"identity": "fuzzer"}).encode(),
        headers={**stack.engine.app_headers, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        token: str = json.load(answer)["user_token"]
    return token


@pytest.fixture(scope="module")
def fuzz_headers(utd_stack: LocalStack) -> Iterator[dict[str, str]]:
    headers = {**utd_stack.engine.app_headers, "Authorization": f"Bearer {_mint_bearer(utd_stack)}"}
    yield headers
    total = sum(_counts.values())
    print(f"\nschemathesis: {total} generated cases ({_counts})")
    record("schemathesis cases", f"{total} ({_counts})")


def _skip_event_stream(case: schemathesis.Case[Any]) -> bool:
    return case.path.endswith("/events")  # a stream that never ends by itself


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_engine_answers_as_documented(
    case: schemathesis.Case[Any], utd_stack: LocalStack, fuzz_headers: dict[str, str]
) -> None:
    if _skip_event_stream(case):
        pytest.skip("the event stream is tested end to end elsewhere")
    _counts["valid"] += 1
    case.call_and_validate(
        base_url=utd_stack.base_url, headers=fuzz_headers, checks=CHECKS, timeout=15
    )


@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_engine_refuses_wrong_credentials(
    case: schemathesis.Case[Any], utd_stack: LocalStack, fuzz_headers: dict[str, str]
) -> None:
    _counts["bad_credentials"] += 1
    wrong = {"X-UTD-App-Id": utd_stack.app_id, "X-UTD-App-Key": "not-the-key" * 3,
             "Authorization": "Bearer not.a.token"}
    response = case.call(base_url=utd_stack.base_url, headers=wrong, timeout=15)
    assert response.status_code < 500, (case.path, response.status_code)
    if case.path not in ("/healthz", "/api/v1/livekit/webhook"):  # no app credentials there
        # 405: the coverage phase also tries methods a path does not have.
        assert response.status_code in (400, 401, 404, 405), (case.path, response.status_code)
    if response.status_code != 405:
        case.validate_response(response, checks=CHECKS)


# -- hand-written shapes the generator does not make ---------------------------------------------
#
# The spec's types keep generated values valid enough (an index is an integer, a body is JSON
# of a few levels): these shapes once reached a 500 or slipped past a check, so each is sent
# to every operation, in each path parameter and as the body.

HOSTILE_SEGMENTS = {
    "superscript two": "²",  # str.isdigit() is True, int() fails
    "arabic-indic three": "٣",  # int() reads it as 3
    "fullwidth one": "１",
    "5000 digits": "1" * 5000,  # beyond int()'s 4,300-digit limit
    "trailing newline": "alice\n",  # passed a ^...$ check with re.match
    "negative": "-1",
    "hex": "0x1",
    "leading space": " 1",
    "exponent": "1e3",
}
_DEEP_METADATA = json.dumps({"callee_identity": "x", "type": "audio_call",
                             "metadata": json.loads('{"a":' * 40 + "1" + "}" * 40)})
HOSTILE_BODIES = {
    "50000 open arrays": b"[" * 50_000,  # RecursionError in json.loads
    "12000 open objects": b'{"a":' * 12_000,
    "40 levels of metadata": _DEEP_METADATA.encode(),
    "NaN": b'{"seat_index": NaN, "identity": NaN}',
    "Infinity": b'{"seat_count": Infinity, "locked": -Infinity}',
    "not UTF-8": b'{"identity": "\xff\xfe"}',
    "trailing newline name": b'{"identity": "alice\\n", "room_name": "lobby\\n"}',
}
# Values that get each operation past its path (a room, a seat, a request, a call, a name).
_PLAIN_PARAMETERS = {"room": "fuzz-room", "index": "0", "request_id": "1", "call_id": "c",
                     "identity": "fuzz-name"}
_hand_written = {"cases": 0}


Operation = APIOperation[Any, Any, Any, Any]


def _loaded(result: Result[Operation, InvalidSchema]) -> Operation:
    """The operation, or the reason openapi.yaml could not describe it."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


def _operations() -> list[Any]:
    found = [_loaded(result) for result in schema.get_all_operations()]
    return [op for op in found if not op.path.endswith("/events")]


def _hostile_cases(operation: Any) -> Iterator[tuple[str, Any, bytes | None]]:
    """``(label, case, raw body)`` for each hostile path segment and body of ``operation``."""
    plain = {p.name: _PLAIN_PARAMETERS[p.name] for p in operation.path_parameters}
    for name in plain:
        for label, segment in HOSTILE_SEGMENTS.items():
            case = operation.Case(path_parameters={**plain, name: segment})
            yield f"{name}={label}", case, None
    if operation.method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
        for label, body in HOSTILE_BODIES.items():
            yield f"body={label}", operation.Case(path_parameters=plain), body


def test_hand_written_shapes_get_a_documented_4xx(
    utd_stack: LocalStack, fuzz_headers: dict[str, str]
) -> None:
    # The app secret too, so the admin routes read their path and body as well.
    headers = {**fuzz_headers, "X-UTD-App-Secret": utd_stack.app_secret,
               "Content-Type": "application/json"}
    wrong: list[tuple[str, str, int, str]] = []
    sent = 0
    for operation in _operations():
        for label, case, body in _hostile_cases(operation):
            extra = {} if body is None else {"data": body}
            response = case.call(base_url=utd_stack.base_url, headers=headers, timeout=15,
                                 **extra)
            sent += 1
            where = f"{operation.method.upper()} {operation.path}"
            code = (response.json().get("error") or {}).get("code")
            if response.status_code >= 500 or (response.status_code >= 400 and not code):
                wrong.append((where, label, response.status_code, response.text[:120]))
                continue
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, FailureGroup) as exc:
                wrong.append((where, label, response.status_code, str(exc)[:120]))
    record("hand-written API shapes", f"{sent} requests over every operation, no 5xx")
    assert not wrong, "\n".join(map(str, wrong))


def test_enough_cases_ran() -> None:
    """Runs after the two generated tests above (file order): the totals they reached."""
    if _counts["valid"] == 0:
        pytest.skip("the generated tests did not run in this session")
    assert _counts["valid"] >= 1000, _counts
    assert _counts["bad_credentials"] >= 100, _counts
