"""CORS: preflights and allow headers for web apps on other origins."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from tests._support.engine import APP_ID, APP_KEY, Local, LocalFactory, post_webhook
from utd_stream_engine import EngineConfig
from utd_stream_engine.cors import ALLOWED_HEADERS
from utd_stream_rx.testing import EngineProcess

APP = "https://app.example.com"
APP_HEADERS = {"X-UTD-App-Id": APP_ID, "X-UTD-App-Key": APP_KEY}


async def send(
    local: Local, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, CIMultiDictProxy[str], Any]:
    data = None if body is None else json.dumps(body)
    async with local.client.session.request(
        method, local.client.base_url + path, headers=headers, data=data
    ) as resp:
        raw = await resp.read()
        return resp.status, resp.headers, json.loads(raw) if raw else None


async def preflight(
    local: Local, origin: str, path: str = "/api/v1/token", method: str = "POST", **extra: str
) -> tuple[int, CIMultiDictProxy[str], Any]:
    headers = {"Origin": origin, "Access-Control-Request-Method": method, **extra}
    return await send(local, "OPTIONS", path, headers)


def allows(headers: CIMultiDictProxy[str], origin: str) -> bool:
    return headers.get("Access-Control-Allow-Origin") == origin and "Origin" in headers.get(
        "Vary", ""
    )


async def test_production_allows_no_origin_by_default(make_local: LocalFactory) -> None:
    local = await make_local(dev_mode=False)
    status, headers, body = await preflight(local, "http://localhost:3000")
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert not any(h.startswith("Access-Control-") for h in headers)
    status, headers, _ = await send(local, "GET", "/healthz", {"Origin": "http://localhost:3000"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    # Without Origin nothing changes: OPTIONS is still not a method of the API.
    status, headers, body = await send(local, "OPTIONS", "/api/v1/token", {})
    assert status == 405 and body["error"]["code"] == "invalid_request"
    assert "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:5173", "http://127.0.0.1:8080", "http://[::1]:3000", "https://localhost"],
)
async def test_dev_mode_allows_loopback_origins(make_local: LocalFactory, origin: str) -> None:
    local = await make_local(dev_mode=True)
    status, headers, body = await preflight(local, origin)
    assert status == 204 and body is None
    assert allows(headers, origin)
    assert headers["Access-Control-Allow-Credentials"] == "true"
    methods = {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"GET", "POST", "DELETE", "OPTIONS"}
    assert headers["Access-Control-Allow-Headers"] == ", ".join(ALLOWED_HEADERS)
    assert int(headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://localhost.evil.example", "http://127.0.0.1.nip.io:80", "null"],
)
async def test_dev_mode_refuses_other_origins(make_local: LocalFactory, origin: str) -> None:
    local = await make_local(dev_mode=True)
    status, headers, body = await preflight(local, origin)
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in headers


async def test_listed_origins_replace_the_default(make_local: LocalFactory) -> None:
    local = await make_local(dev_mode=True, cors_origins=[APP])
    assert (await preflight(local, APP))[0] == 204
    assert (await preflight(local, "http://localhost:3000"))[0] == 403
    assert (await preflight(local, "https://other.example.com"))[0] == 403


async def test_preflight_of_any_path_and_headers_asked_for(make_local: LocalFactory) -> None:
    local = await make_local(cors_origins=[APP])
    # The same answer whatever the path: a route that does not exist, a GET-only route.
    for path, method in (("/api/v1/nope", "GET"), ("/api/v1/calls/events", "GET")):
        status, headers, _ = await preflight(local, APP, path, method)
        assert status == 204 and allows(headers, APP), path
    asked = "x-utd-app-id, x-utd-app-key, content-type, authorization"
    status, headers, _ = await preflight(local, APP, **{"Access-Control-Request-Headers": asked})
    assert status == 204 and headers["Access-Control-Allow-Headers"] == asked
    status, headers, _ = await preflight(
        local, APP, **{"Access-Control-Request-Headers": "x-utd-app-id, x-sneaky"}
    )
    assert headers["Access-Control-Allow-Headers"] == ", ".join(ALLOWED_HEADERS)


async def test_answers_to_an_allowed_origin_carry_the_allow_headers(
    make_local: LocalFactory,
) -> None:
    local = await make_local(cors_origins=[APP])
    origin = {"Origin": APP}
    body = {"identity": "ann", "room_name": "web", "type": "audio_room", "role": "host"}
    status, headers, answer = await send(
        local, "POST", "/api/v1/token", {**APP_HEADERS, **origin}, body
    )
    assert status == 200 and answer["user_token"]
    assert allows(headers, APP) and headers["Access-Control-Allow-Credentials"] == "true"
    assert "Retry-After" in headers["Access-Control-Expose-Headers"]
    # Errors too: from a handler (401), from routing (404, 405).
    for method, path, sent, code in (
        ("POST", "/api/v1/token", origin, 401),
        ("GET", "/api/v1/nope", {**APP_HEADERS, **origin}, 404),
        ("DELETE", "/api/v1/token", {**APP_HEADERS, **origin}, 405),
        ("OPTIONS", "/api/v1/token", origin, 405),  # no Access-Control-Request-Method
    ):
        status, headers, answer = await send(local, method, path, sent, body)
        assert status == code and "error" in answer, (method, path, answer)
        assert allows(headers, APP), (method, path)
    # Another origin gets no allow headers (the browser keeps the answer from its page).
    status, headers, _ = await send(
        local, "POST", "/api/v1/token", {**APP_HEADERS, "Origin": "https://x.example"}, body
    )
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


async def test_the_call_event_stream_carries_the_allow_headers(make_local: LocalFactory) -> None:
    local = await make_local(cors_origins=[APP], sse_keepalive=0.1)
    bearer = await local.client.user("ann")
    headers = {**APP_HEADERS, "Origin": APP, "Authorization": f"Bearer {bearer}"}
    url = local.client.base_url + "/api/v1/calls/events"
    async with local.client.session.get(url, headers=headers) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert allows(resp.headers, APP)
        assert await asyncio.wait_for(resp.content.readline(), 5)  # the stream is alive


async def test_a_wildcard_allows_any_origin_without_credentials(make_local: LocalFactory) -> None:
    local = await make_local(cors_origins=["*"])
    status, headers, _ = await preflight(local, "https://anything.example")
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers
    _, headers, _ = await send(local, "GET", "/healthz", {"Origin": "https://anything.example"})
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers


async def test_the_livekit_webhook_is_left_alone(make_local: LocalFactory) -> None:
    local = await make_local(cors_origins=["*"])
    status, headers, _ = await preflight(local, APP, "/api/v1/livekit/webhook")
    assert status == 405 and "Access-Control-Allow-Origin" not in headers
    assert await post_webhook(local, {"event": "room_started", "room": {"name": "x__y"}}) == 200


def test_origins_are_checked_and_normalized() -> None:
    config = EngineConfig(cors_origins=["HTTPS://App.Example.com/", "*", "https://app.example.com"])
    assert config.cors_origins == ("https://app.example.com", "*")
    for wrong in ("app.example.com", "https://app.example.com/path", "https://a.example?x=1"):
        with pytest.raises(ValueError):
            EngineConfig(cors_origins=[wrong])
    with pytest.raises(TypeError):
        EngineConfig(cors_origins="https://app.example.com")


@pytest.mark.e2e
async def test_a_real_preflight_against_the_engine_process(tmp_path: Path) -> None:
    # No LiveKit is needed to answer a preflight: the engine only talks to it when asked to.
    engine = EngineProcess(
        livekit_url="ws://127.0.0.1:9",
        livekit_api_key="cors-key",
        livekit_api_secret="cors-secret-" + "x" * 32,
        workdir=tmp_path,
        extra_args=["--cors-origin", APP],
        env={"UTD_ENGINE_CORS_ORIGINS": "http://localhost:5173"},
    )
    await asyncio.to_thread(engine.start)
    try:
        async with aiohttp.ClientSession() as http:
            for origin, want in ((APP, 204), ("http://localhost:5173", 204), ("https://x.io", 403)):
                async with http.options(
                    engine.base_url + "/api/v1/auth/user-token",
                    headers={
                        "Origin": origin,
                        "Access-Control-Request-Method": "POST",
                        "Access-Control-Request-Headers": "content-type,x-utd-app-id,x-utd-app-key",
                    },
                ) as resp:
                    assert resp.status == want, (origin, await resp.text())
                    if want == 204:
                        assert resp.headers["Access-Control-Allow-Origin"] == origin
                        assert "x-utd-app-key" in resp.headers["Access-Control-Allow-Headers"]
                    else:
                        assert (await resp.json())["error"]["code"] == "forbidden"
            async with http.post(
                engine.base_url + "/api/v1/auth/user-token",
                json={"identity": "ann"},
                headers={**engine.app_headers, "Origin": APP},
            ) as resp:
                assert resp.status == 200
                assert resp.headers["Access-Control-Allow-Origin"] == APP
    finally:
        await asyncio.to_thread(engine.cleanup)
