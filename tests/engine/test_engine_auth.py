"""App credentials, bearers, rate limit, bans, validation and per-app isolation."""

from __future__ import annotations

import aiohttp
import jwt

from tests._support.engine import APP_ID, APP_KEY, Local, LocalFactory


async def test_healthz_needs_no_credentials(local: Local) -> None:
    answer = await local.client.get("/healthz", app=False)
    assert answer.status == 200 and answer.body == {"ok": True}


async def test_missing_or_wrong_app_credentials_are_401(local: Local) -> None:
    body = {"identity": "alice"}
    missing = await local.client.post("/api/v1/auth/user-token", body, app=False)
    assert (missing.status, missing.code) == (401, "unauthorized")
    wrong = await local.client.post(
        "/api/v1/auth/user-token",
        body,
        app=False,
        headers={"X-UTD-App-Id": APP_ID, "X-UTD-App-Key": "nope"},
    )
    assert (wrong.status, wrong.code) == (401, "unauthorized")


async def test_bearer_missing_invalid_expired_or_foreign(local: Local) -> None:
    path = "/api/v1/calls"
    missing = await local.client.get(path)
    assert (missing.status, missing.code) == (401, "unauthorized")
    garbage = await local.client.get(path, bearer="not-a-jwt")
    assert (garbage.status, garbage.code) == (401, "unauthorized")
    expired, _ = local.engine.signer.mint(APP_ID, "alice", ttl=-30)
    answer = await local.client.get(path, bearer=expired)
    assert (answer.status, answer.code) == (401, "token_expired")
    forged = jwt.encode({"app": APP_ID, "sub": "alice", "exp": 2e9}, "x" * 40, algorithm="HS256")
    answer = await local.client.get(path, bearer=forged)
    assert (answer.status, answer.code) == (401, "unauthorized")
    # A bearer of app two is worthless with app one's headers.
    foreign = await local.other.user("alice")
    answer = await local.client.get(path, bearer=foreign)
    assert (answer.status, answer.code) == (401, "unauthorized")


async def test_user_token_identifies_the_actor(local: Local) -> None:
    answer = await local.client.post("/api/v1/auth/user-token", {"identity": "a.b@c:d-e_f"})
    assert answer.status == 200
    assert answer.body["identity"] == "a.b@c:d-e_f"
    claims = jwt.decode(answer.body["user_token"], options={"verify_signature": False})
    assert claims["sub"] == "a.b@c:d-e_f" and claims["app"] == APP_ID
    assert abs(claims["exp"] - answer.body["expires_at"]) < 1


async def test_bad_bodies_are_400(local: Local) -> None:
    for body in ({}, {"identity": ""}, {"identity": "x" * 129}, {"identity": "sp ace"}):
        answer = await local.client.post("/api/v1/auth/user-token", body)
        assert (answer.status, answer.code) == (400, "invalid_request"), body
    async with local.client.session.post(
        local.client.base_url + "/api/v1/auth/user-token",
        data=b"{not json",
        headers={"X-UTD-App-Id": APP_ID, "X-UTD-App-Key": APP_KEY},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_request"
    for body in (
        {"identity": "a", "room_name": "r", "type": "audio_call"},
        {"identity": "a", "room_name": "r", "type": "bogus"},
        {"identity": "a", "room_name": "r/x", "type": "audio_room"},
        {"identity": "a", "room_name": "r", "type": "audio_room", "role": "admin"},
    ):
        answer = await local.client.post("/api/v1/token", body)
        assert (answer.status, answer.code) == (400, "invalid_request"), body


async def test_unknown_route_and_room_are_404(local: Local) -> None:
    bearer = await local.client.user("alice")
    answer = await local.client.get("/api/v1/rooms/nowhere", bearer=bearer)
    assert (answer.status, answer.code) == (404, "not_found")
    answer = await local.client.post(
        "/api/v1/audio-rooms/nowhere/seats/take", {"seat_index": 0}, bearer=bearer
    )
    assert (answer.status, answer.code) == (404, "not_found")
    async with local.client.session.get(local.client.base_url + "/api/v1/nothing") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"


async def test_rate_limit_answers_429_with_retry_after(make_local: LocalFactory) -> None:
    local = await make_local(rate_limit=3)
    for _ in range(2):
        await local.client.user("alice")
    await local.client.token("alice", "room-1", "audio_room")
    limited = await local.client.post("/api/v1/auth/user-token", {"identity": "alice"})
    assert (limited.status, limited.code) == (429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    limited = await local.client.post(
        "/api/v1/token", {"identity": "alice", "room_name": "room-1", "type": "audio_room"}
    )
    assert limited.status == 429
    # Other identities and other apps have their own budget.
    await local.client.user("bob")
    await local.other.user("alice")


async def test_banned_identity_is_refused_everywhere(make_local: LocalFactory) -> None:
    local = await make_local(bans=frozenset({"mallory"}))
    answer = await local.client.post("/api/v1/auth/user-token", {"identity": "mallory"})
    assert (answer.status, answer.code) == (403, "banned")
    answer = await local.client.post(
        "/api/v1/token", {"identity": "mallory", "room_name": "r", "type": "live_stream"}
    )
    assert (answer.status, answer.code) == (403, "banned")
    # A bearer minted before the ban is refused too.
    bearer, _ = local.engine.signer.mint(APP_ID, "mallory")
    for path in ("/api/v1/calls", "/api/v1/rooms/r"):
        answer = await local.client.get(path, bearer=bearer)
        assert (answer.status, answer.code) == (403, "banned"), path
    alice = await local.client.user("alice")
    answer = await local.client.post(
        "/api/v1/calls", {"callee_identity": "mallory", "type": "audio_call"}, bearer=alice
    )
    assert (answer.status, answer.code) == (403, "banned")


async def test_apps_never_share_rooms(local: Local) -> None:
    one = await local.client.token("host-1", "lobby", "audio_room", role="host")
    two = await local.other.token("host-2", "lobby", "live_stream", role="host")
    grants_one = jwt.decode(one["token"], options={"verify_signature": False})["video"]
    grants_two = jwt.decode(two["token"], options={"verify_signature": False})["video"]
    assert grants_one["room"] == f"{APP_ID}__lobby"
    assert grants_two["room"] != grants_one["room"]
    state_one = await local.client.get("/api/v1/rooms/lobby", bearer=one["user_token"])
    state_two = await local.other.get("/api/v1/rooms/lobby", bearer=two["user_token"])
    assert state_one.body["type"] == "audio_room" and state_one.body["host_identity"] == "host-1"
    assert state_two.body["type"] == "live_stream" and state_two.body["host_identity"] == "host-2"
    only_two = await local.other.token("solo", "elsewhere", "audio_room")
    answer = await local.client.get("/api/v1/rooms/elsewhere", bearer=one["user_token"])
    assert answer.status == 404
    assert only_two["room_name"] == "elsewhere"


async def test_programmatic_server_runs_and_stops() -> None:
    from utd_stream_engine import EngineConfig, EngineServer
    from utd_stream_rx.testing.livekit_server import free_port

    config = EngineConfig(
        port=free_port(),
        db_path=":memory:",
        livekit_url=None,
        livekit_api_secret="z" * 32,
        dev_mode=True,
    )
    async with EngineServer(config) as server, aiohttp.ClientSession() as http:
        async with http.get(server.base_url + "/healthz") as resp:
            assert resp.status == 200 and await resp.json() == {"ok": True}
        headers = {
            "X-UTD-App-Id": "1234567890",
            "X-UTD-App-Key": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        }
        body = {"identity": "demo", "room_name": "lobby", "type": "audio_room"}
        async with http.post(server.base_url + "/api/v1/token", json=body, headers=headers) as resp:
            assert resp.status == 200 and (await resp.json())["room_name"] == "lobby"
