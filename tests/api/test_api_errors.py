"""Failures surface as UTDStreamException (status, code, message); reads retry, writes don't."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from email.utils import formatdate

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import aioresponses

from tests._support.api import APP_ID, APP_KEY, BASE, BEARER, TOKENS, call_json, room_json, sent
from utd_stream_rx import UTDStreamException, UTDStreamType
from utd_stream_rx._http import fallback_code, parse_retry_after
from utd_stream_rx.api import UTDApiClient

ROOM_URL = BASE + "/api/v1/rooms/lobby"
TAKE_URL = BASE + "/api/v1/audio-rooms/lobby/seats/take"


def _error(code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, "invalid_seat", "seat 9 does not exist"),
        (401, "token_expired", "the user token expired"),
        (403, "approval_required", "ask the host first"),
        (404, "not_found", "no such room"),
        (409, "seat_taken", "seat 0 is taken"),
        (409, "seat_locked", "seat 0 is locked"),
    ],
)
async def test_engine_error_body(
    api: UTDApiClient, mocked: aioresponses, status: int, code: str, message: str
) -> None:
    mocked.post(TAKE_URL, status=status, payload=_error(code, message))
    with pytest.raises(UTDStreamException) as info:
        await api.seats.take_seat("lobby", 0)
    exc = info.value
    assert (exc.status_code, exc.code, exc.message) == (status, code, message)
    assert not exc.is_banned
    assert not exc.is_rate_limited
    assert exc.retry_after is None


async def test_banned(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(TOKENS + "/api/v1/token", status=403, payload=_error("banned", "go away"))
    with pytest.raises(UTDStreamException) as info:
        await api.tokens.mint_room_token("mallory", "lobby", UTDStreamType.AUDIO_ROOM)
    assert info.value.is_banned
    assert (info.value.status_code, info.value.code) == (403, "banned")


async def test_forbidden_is_not_banned(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(TOKENS + "/api/v1/token", status=403, payload=_error("forbidden", "not host"))
    with pytest.raises(UTDStreamException) as info:
        await api.tokens.mint_room_token("bob", "lobby", UTDStreamType.AUDIO_ROOM, role="host")
    assert not info.value.is_banned
    assert info.value.code == "forbidden"


async def test_rate_limited_with_retry_after_seconds(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.post(
        TOKENS + "/api/v1/auth/user-token",
        status=429,
        payload=_error("rate_limited", "slow down"),
        headers={"Retry-After": "7"},
    )
    with pytest.raises(UTDStreamException) as info:
        await api.tokens.mint_user_token("alice")
    exc = info.value
    assert exc.is_rate_limited
    assert (exc.status_code, exc.code, exc.retry_after) == (429, "rate_limited", 7.0)
    assert "retry after 7s" in str(exc)


async def test_rate_limited_with_retry_after_http_date(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.post(
        TOKENS + "/api/v1/auth/user-token",
        status=429,
        body="Too Many Requests",
        content_type="text/plain",
        headers={"Retry-After": formatdate(time.time() + 120, usegmt=True)},
    )
    with pytest.raises(UTDStreamException) as info:
        await api.tokens.mint_user_token("alice")
    exc = info.value
    assert exc.code == "rate_limited"  # from the status: the body is not the engine's shape
    assert exc.retry_after is not None
    assert 100 <= exc.retry_after <= 121


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("12", now) == 12.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now) == 30.0
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now) == 0.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("nan", now) is None


def test_fallback_codes() -> None:
    assert fallback_code(400) == "invalid_request"
    assert fallback_code(401) == "unauthorized"
    assert fallback_code(403) == "forbidden"
    assert fallback_code(404) == "not_found"
    assert fallback_code(409) == "conflict"
    assert fallback_code(429) == "rate_limited"
    assert fallback_code(500) == "internal_server_error"
    assert fallback_code(503) == "service_unavailable"
    assert fallback_code(599) == "server_error"
    assert fallback_code(499) == "http_error"


async def test_not_found_without_engine_body(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.get(ROOM_URL, status=404, body="404: Not Found", content_type="text/plain")
    with pytest.raises(UTDStreamException) as info:
        await api.rooms.get_room("lobby")
    assert (info.value.status_code, info.value.code) == (404, "not_found")
    assert "Not Found" in info.value.message


async def test_error_body_of_another_shape(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(TAKE_URL, status=409, payload={"error": {"detail": "x"}})
    with pytest.raises(UTDStreamException) as info:
        await api.seats.take_seat("lobby", 0)
    assert (info.value.status_code, info.value.code) == (409, "conflict")
    assert info.value.message


async def test_server_error_with_html_body(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(
        TAKE_URL,
        status=500,
        body="<html><body>Internal Server Error</body></html>",
        content_type="text/html",
    )
    with pytest.raises(UTDStreamException) as info:
        await api.seats.take_seat("lobby", 0)
    assert info.value.status_code == 500
    assert info.value.code == "internal_server_error"
    assert "Internal Server Error" in info.value.message
    assert len(sent(mocked)) == 1


async def test_success_with_non_json_body(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.get(ROOM_URL, status=200, body="{not json", content_type="application/json")
    with pytest.raises(UTDStreamException) as info:
        await api.rooms.get_room("lobby")
    assert (info.value.status_code, info.value.code) == (200, "invalid_response")


async def test_success_with_empty_body(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(BASE + "/api/v1/calls/c-1/end", status=200, body="")
    with pytest.raises(UTDStreamException) as info:
        await api.calls.end_call("c-1")
    assert (info.value.status_code, info.value.code) == (200, "invalid_response")


async def test_success_missing_required_field(api: UTDApiClient, mocked: aioresponses) -> None:
    broken = call_json()
    del broken["call_id"]
    mocked.get(BASE + "/api/v1/calls/c-1", payload=broken)
    with pytest.raises(UTDStreamException) as info:
        await api.calls.get_call("c-1")
    assert (info.value.status_code, info.value.code) == (200, "invalid_response")
    assert "call_id" in info.value.message


async def test_success_with_bad_enum_value(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.get(ROOM_URL, payload=room_json(type="hologram"))
    with pytest.raises(UTDStreamException) as info:
        await api.rooms.get_room("lobby")
    assert info.value.code == "invalid_response"
    assert "type" in info.value.message


async def test_success_with_a_json_list(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.get(ROOM_URL, payload=[1, 2])
    with pytest.raises(UTDStreamException) as info:
        await api.rooms.get_room("lobby")
    assert info.value.code == "invalid_response"


@pytest.mark.parametrize(
    "payload",
    [{}, {"calls": "nope"}, {"calls": [{"call_id": "c-1"}]}],
    ids=["no-calls", "calls-not-list", "call-missing-fields"],
)
async def test_malformed_call_list(
    api: UTDApiClient, mocked: aioresponses, payload: dict[str, object]
) -> None:
    mocked.get(BASE + "/api/v1/calls?status=pending", payload=payload)
    with pytest.raises(UTDStreamException) as info:
        await api.calls.list_calls()
    assert (info.value.status_code, info.value.code) == (200, "invalid_response")
    assert "calls" in info.value.message


async def test_redirect_is_not_followed(api: UTDApiClient, mocked: aioresponses) -> None:
    # Following it would hand the app key and bearer to whatever host the Location names.
    mocked.get(ROOM_URL, status=302, headers={"Location": "http://elsewhere.test/"})
    with pytest.raises(UTDStreamException) as info:
        await api.rooms.get_room("lobby")
    assert (info.value.status_code, info.value.code) == (302, "invalid_response")
    assert len(sent(mocked)) == 1


async def test_unauthenticated_without_user_token(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE)
    try:
        with pytest.raises(UTDStreamException) as info:
            await client.rooms.get_room("lobby")
        assert info.value.code == "unauthenticated"
        assert info.value.status_code is None
        assert "authenticate" in info.value.message
        with pytest.raises(UTDStreamException):
            client.calls.events()
    finally:
        await client.aclose()
    assert sent(mocked) == []


# -- timeouts and network errors ---------------------------------------------------------


async def test_timeout_mocked(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(TAKE_URL, exception=TimeoutError())
    with pytest.raises(UTDStreamException) as info:
        await api.seats.take_seat("lobby", 0)
    assert (info.value.status_code, info.value.code) == (None, "timeout")
    assert info.value.is_network_error


async def test_connection_error_mocked(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(TAKE_URL, exception=aiohttp.ClientConnectionError("refused"))
    with pytest.raises(UTDStreamException) as info:
        await api.seats.take_seat("lobby", 0)
    assert (info.value.status_code, info.value.code) == (None, "network")
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectionError)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("read_retries", [0, 2])
async def test_connection_refused_real_port(read_retries: int) -> None:
    port = _closed_port()
    client = UTDApiClient(
        APP_ID, APP_KEY, f"http://127.0.0.1:{port}", user_token=BEARER,
        read_retries=read_retries, retry_backoff=0.01,
    )
    try:
        with pytest.raises(UTDStreamException) as info:
            await client.rooms.get_room("lobby")
        assert (info.value.status_code, info.value.code) == (None, "network")
        with pytest.raises(UTDStreamException) as info:
            await client.seats.take_seat("lobby", 1)
        assert (info.value.status_code, info.value.code) == (None, "network")
    finally:
        await client.aclose()


async def test_real_timeout_and_read_retries() -> None:
    hits = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        await asyncio.sleep(2)
        return web.json_response(room_json())

    app = web.Application()
    app.router.add_get("/api/v1/rooms/lobby", slow)
    app.router.add_post("/api/v1/audio-rooms/lobby/seats/take", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = UTDApiClient(
        APP_ID, APP_KEY, str(server.make_url("")), user_token=BEARER,
        timeout=0.2, read_retries=1, retry_backoff=0,
    )
    try:
        started = time.monotonic()
        with pytest.raises(UTDStreamException) as info:
            await client.rooms.get_room("lobby")
        assert (info.value.status_code, info.value.code) == (None, "timeout")
        assert time.monotonic() - started < 1.5
        assert hits == 2  # the read was tried again once
        with pytest.raises(UTDStreamException) as info:
            await client.seats.take_seat("lobby", 0)
        assert info.value.code == "timeout"
        assert hits == 3  # the write was not
    finally:
        await client.aclose()
        await server.close()


# -- retries ---------------------------------------------------------------------------------


async def test_get_retried_then_succeeds(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.get(ROOM_URL, exception=aiohttp.ClientConnectionError("reset"))
    mocked.get(ROOM_URL, status=503, body="warming up", headers={"Retry-After": "0"})
    mocked.get(ROOM_URL, payload=room_json(version=42))
    state = await api.rooms.get_room("lobby")
    assert state.version == 42
    assert len(sent(mocked)) == 3


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_get_retried_on_gateway_errors(
    api: UTDApiClient, mocked: aioresponses, status: int
) -> None:
    mocked.get(ROOM_URL, status=status, body="")
    mocked.get(ROOM_URL, payload=room_json())
    assert (await api.rooms.get_room("lobby")).room_name == "lobby"
    assert len(sent(mocked)) == 2


async def test_get_gives_up_after_read_retries(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER, read_retries=1,
                          retry_backoff=0)
    mocked.get(ROOM_URL, status=502, body="bad gateway", repeat=True)
    try:
        with pytest.raises(UTDStreamException) as info:
            await client.rooms.get_room("lobby")
    finally:
        await client.aclose()
    assert (info.value.status_code, info.value.code) == (502, "bad_gateway")
    assert len(sent(mocked)) == 2


async def test_get_not_retried_when_read_retries_is_zero(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER, read_retries=0)
    mocked.get(ROOM_URL, exception=aiohttp.ClientConnectionError(), repeat=True)
    try:
        with pytest.raises(UTDStreamException):
            await client.rooms.get_room("lobby")
    finally:
        await client.aclose()
    assert len(sent(mocked)) == 1


@pytest.mark.parametrize("status", [400, 404, 429, 500])
async def test_get_not_retried_on_other_errors(
    api: UTDApiClient, mocked: aioresponses, status: int
) -> None:
    mocked.get(ROOM_URL, status=status, payload=_error("x", "y"), repeat=True)
    with pytest.raises(UTDStreamException) as info:
        await api.rooms.get_room("lobby")
    assert info.value.status_code == status
    assert len(sent(mocked)) == 1


async def test_get_not_retried_when_retry_after_is_long(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.get(ROOM_URL, status=503, body="", headers={"Retry-After": "120"}, repeat=True)
    with pytest.raises(UTDStreamException) as info:
        await api.rooms.get_room("lobby")
    assert (info.value.status_code, info.value.retry_after) == (503, 120.0)
    assert len(sent(mocked)) == 1


async def test_retry_delays_are_jittered_below_a_doubling_ceiling(
    mocked: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr("utd_stream_rx.api._transport.asyncio.sleep", record)
    client = UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER, read_retries=3,
                          retry_backoff=0.1)
    client._transport.retry_random = random.Random(3)
    mocked.get(ROOM_URL, exception=aiohttp.ClientConnectionError(), repeat=True)
    try:
        with pytest.raises(UTDStreamException):
            await client.rooms.get_room("lobby")
    finally:
        await client.aclose()
    # Full jitter: each delay uniform below 0.1, 0.2, 0.4 s (the seeded draws, exactly).
    seeded = random.Random(3)
    assert delays == [seeded.uniform(0, ceiling) for ceiling in (0.1, 0.2, 0.4)]
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(delays, (0.1, 0.2, 0.4),
                                                                strict=True))


@pytest.mark.parametrize(
    "failure",
    [
        {"exception": aiohttp.ClientConnectionError("reset")},
        {"exception": TimeoutError()},
        {"status": 503, "body": ""},
    ],
    ids=["network", "timeout", "503"],
)
async def test_post_never_retried(
    api: UTDApiClient, mocked: aioresponses, failure: dict[str, object]
) -> None:
    mocked.post(TAKE_URL, **failure)
    mocked.post(TAKE_URL, payload=room_json())
    with pytest.raises(UTDStreamException):
        await api.seats.take_seat("lobby", 0)
    assert len(sent(mocked)) == 1
