"""Session ownership, default URLs from the environment, and what the client logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

from tests._support.api import APP_ID, APP_KEY, BASE, BEARER, room_json, sent
from utd_stream_rx import UTDStreamException
from utd_stream_rx.api import UTDApiClient

ROOM_URL = BASE + "/api/v1/rooms/lobby"


@pytest.fixture
def recorded_sessions(monkeypatch: pytest.MonkeyPatch) -> list[aiohttp.ClientSession]:
    """Every session the client creates for itself, in creation order."""
    created: list[aiohttp.ClientSession] = []
    real = aiohttp.ClientSession

    def make(*args: Any, **kwargs: Any) -> aiohttp.ClientSession:
        session = real(*args, **kwargs)
        created.append(session)
        return session

    monkeypatch.setattr("utd_stream_rx.api._transport.aiohttp.ClientSession", make)
    return created


async def test_owned_session_is_lazy_shared_and_closed(
    mocked: aioresponses, recorded_sessions: list[aiohttp.ClientSession]
) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER)
    assert recorded_sessions == []  # nothing opened before the first request
    mocked.get(ROOM_URL, payload=room_json(), repeat=True)
    await client.rooms.get_room("lobby")
    await client.rooms.get_room("lobby")
    assert len(recorded_sessions) == 1
    session = recorded_sessions[0]
    assert not session.closed
    await client.aclose()
    assert session.closed
    assert client.closed
    await client.aclose()  # idempotent


async def test_caller_session_is_used_and_left_open(mocked: aioresponses) -> None:
    session = aiohttp.ClientSession()
    try:
        async with UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER,
                                session=session) as client:
            mocked.get(ROOM_URL, payload=room_json())
            await client.rooms.get_room("lobby")
        assert client.closed
        assert not session.closed
    finally:
        await session.close()
    assert len(sent(mocked)) == 1


async def test_context_manager_closes_owned_session(
    mocked: aioresponses, recorded_sessions: list[aiohttp.ClientSession]
) -> None:
    mocked.get(ROOM_URL, payload=room_json())
    async with UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER) as client:
        await client.rooms.get_room("lobby")
    assert [s.closed for s in recorded_sessions] == [True]


async def test_use_after_close_is_refused(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER)
    await client.aclose()
    with pytest.raises(UTDStreamException) as info:
        await client.rooms.get_room("lobby")
    assert info.value.code == "closed"
    assert sent(mocked) == []


async def test_caller_session_closed_by_its_owner(mocked: aioresponses) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    client = UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER, session=session)
    with pytest.raises(UTDStreamException) as info:
        await client.rooms.get_room("lobby")
    assert info.value.code == "closed"
    await client.aclose()


async def test_aclose_without_any_request() -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE)
    await client.aclose()
    assert client.closed


def _defaults(env: dict[str, str]) -> list[str]:
    """The URLs of clients made in a fresh interpreter whose variables are set only after the
    package is imported (they are read when a client is made)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("UTD_STREAM_")}
    script = (
        "import os, sys\n"
        "from utd_stream_rx.api import DEFAULT_BASE_URL, UTDApiClient\n"
        f"os.environ.update({env!r})\n"
        "c = UTDApiClient('a', 'k')\n"
        "d = UTDApiClient('a', 'k', 'http://explicit.test')\n"
        "print(DEFAULT_BASE_URL, c.base_url, c.token_base_url, d.base_url, d.token_base_url)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=clean, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_default_urls_without_environment() -> None:
    local = "http://127.0.0.1:8787"
    assert _defaults({}) == [local, local, local, "http://explicit.test", "http://explicit.test"]


def test_default_urls_from_environment_set_after_the_import() -> None:
    local = "http://127.0.0.1:8787"
    assert _defaults({"UTD_STREAM_BASE_URL": "http://env-engine.test"}) == [
        local, "http://env-engine.test", "http://env-engine.test",
        "http://explicit.test", "http://explicit.test",
    ]
    assert _defaults({
        "UTD_STREAM_BASE_URL": "http://env-engine.test",
        "UTD_STREAM_TOKEN_BASE_URL": "http://env-tokens.test",
    }) == [
        local, "http://env-engine.test", "http://env-tokens.test",
        "http://explicit.test", "http://env-tokens.test",
    ]


async def test_debug_log_never_contains_secrets(
    api: UTDApiClient, mocked: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="utd_stream_rx.api")
    mocked.get(ROOM_URL, payload=room_json())
    mocked.post(BASE + "/api/v1/audio-rooms/lobby/seats/take", status=409,
                payload={"error": {"code": "seat_taken", "message": "taken"}})
    mocked.get(BASE + "/api/v1/calls/c-1", exception=aiohttp.ClientConnectionError(),
               repeat=True)
    await api.rooms.get_room("lobby")
    with pytest.raises(UTDStreamException):
        await api.seats.take_seat("lobby", 0)
    with pytest.raises(UTDStreamException):
        await api.calls.get_call("c-1")

    records = [r for r in caplog.records if r.name == "utd_stream_rx.api"]
    text = "\n".join(r.getMessage() for r in records)
    assert all(r.levelno == logging.DEBUG for r in records)
    assert "GET " + ROOM_URL + " -> 200" in text
    assert "-> 409" in text
    assert "retrying GET" in text
    assert APP_KEY not in text
    assert BEARER not in text


def test_repr_hides_secrets() -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER)
    assert APP_KEY not in repr(client)
    assert BEARER not in repr(client)
