"""Every facade method sends the contract's request and structures the answer into its model."""

from __future__ import annotations

import operator
import re
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

from tests._support.api import (
    APP_ID,
    APP_KEY,
    BASE,
    BEARER,
    TOKENS,
    body_of,
    call_json,
    room_json,
    sent,
)
from utd_stream_rx import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDSeatMode,
    UTDStreamType,
    UTDTokenResponse,
    UTDUserToken,
)
from utd_stream_rx.api import UTDApiClient

NO_BODY = object()

# (method name, positional args, keyword args, HTTP method, path, JSON body or NO_BODY)
ROOM_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], str, str, Any]] = [
    ("rooms.get_room", ("lobby",), {}, "GET", "/api/v1/rooms/lobby", NO_BODY),
    ("stage.get_stage", ("show",), {}, "GET", "/api/v1/live/show/stage", NO_BODY),
    ("stage.invite_to_stage", ("show", "bob"), {}, "POST", "/api/v1/live/show/stage/invite",
     {"identity": "bob"}),
    ("stage.remove_from_stage", ("show", "bob"), {}, "POST", "/api/v1/live/show/stage/remove",
     {"identity": "bob"}),
    ("stage.request_stage", ("show",), {}, "POST", "/api/v1/live/show/stage/request", {}),
    ("stage.leave_stage", ("show",), {}, "POST", "/api/v1/live/show/stage/leave", {}),
    ("stage.invite_to_stage", ("show", "bob"), {"direct": True}, "POST",
     "/api/v1/live/show/stage/invite", {"identity": "bob", "direct": True}),
    ("stage.accept_stage_invitation", ("show",), {}, "POST",
     "/api/v1/live/show/stage/invitation/accept", {}),
    ("stage.decline_stage_invitation", ("show",), {}, "POST",
     "/api/v1/live/show/stage/invitation/decline", {}),
    ("stage.cancel_stage_request", ("show",), {}, "POST",
     "/api/v1/live/show/stage/request/cancel", {}),
    ("stage.deny_stage_request", ("show", "bob"), {}, "POST", "/api/v1/live/show/stage/deny",
     {"identity": "bob"}),
    ("stage.deny_stage_request", ("show", "bob", "not today"), {}, "POST",
     "/api/v1/live/show/stage/deny", {"identity": "bob", "reason": "not today"}),
    ("seats.setup_seats", ("lobby",), {}, "POST", "/api/v1/audio-rooms/lobby/seats/setup", {}),
    ("seats.setup_seats", ("lobby",), {"seat_count": 12, "seat_mode": UTDSeatMode.REQUEST,
                                 "mode_id": "karaoke"},
     "POST", "/api/v1/audio-rooms/lobby/seats/setup",
     {"seat_count": 12, "seat_mode": "request", "mode_id": "karaoke"}),
    ("seats.setup_seats", ("lobby",), {"seat_mode": "free"},
     "POST", "/api/v1/audio-rooms/lobby/seats/setup", {"seat_mode": "free"}),
    ("seats.get_seats", ("lobby",), {}, "GET", "/api/v1/audio-rooms/lobby/seats", NO_BODY),
    ("seats.take_seat", ("lobby", 0), {}, "POST", "/api/v1/audio-rooms/lobby/seats/take",
     {"seat_index": 0}),
    ("seats.leave_seat", ("lobby",), {}, "POST", "/api/v1/audio-rooms/lobby/seats/leave", {}),
    ("seats.request_to_speak", ("lobby",), {}, "POST", "/api/v1/audio-rooms/lobby/seats/request",
     {}),
    ("seats.request_to_speak", ("lobby", 3), {}, "POST", "/api/v1/audio-rooms/lobby/seats/request",
     {"seat_index": 3}),
    ("seats.list_speak_requests", ("lobby",), {}, "GET",
     "/api/v1/audio-rooms/lobby/seats/requests", NO_BODY),
    ("seats.approve_speaker", ("lobby", 4), {}, "POST",
     "/api/v1/audio-rooms/lobby/seats/requests/4/approve", {}),
    ("seats.approve_speaker", ("lobby", 4, 1), {}, "POST",
     "/api/v1/audio-rooms/lobby/seats/requests/4/approve", {"seat_index": 1}),
    ("seats.invite_to_speak", ("lobby", "erin"), {}, "POST",
     "/api/v1/audio-rooms/lobby/seats/invite",
     {"identity": "erin"}),
    ("seats.invite_to_speak", ("lobby", "erin", 5), {}, "POST",
     "/api/v1/audio-rooms/lobby/seats/invite",
     {"identity": "erin", "seat_index": 5}),
    ("seats.accept_invitation", ("lobby",), {}, "POST",
     "/api/v1/audio-rooms/lobby/seats/invitation/accept", {}),
    ("seats.decline_invitation", ("lobby",), {}, "POST",
     "/api/v1/audio-rooms/lobby/seats/invitation/decline", {}),
    ("seats.lock_seat", ("lobby", 2), {}, "POST", "/api/v1/audio-rooms/lobby/seats/2/lock",
     {"locked": True}),
    ("seats.lock_seat", ("lobby", 2, False), {}, "POST", "/api/v1/audio-rooms/lobby/seats/2/lock",
     {"locked": False}),
    ("seats.mute_seat", ("lobby", 1), {}, "POST", "/api/v1/audio-rooms/lobby/seats/1/mute",
     {"muted": True}),
    ("seats.mute_seat", ("lobby", 1), {"muted": False}, "POST",
     "/api/v1/audio-rooms/lobby/seats/1/mute", {"muted": False}),
    ("seats.kick_from_seat", ("lobby", 0), {}, "POST", "/api/v1/audio-rooms/lobby/seats/0/kick",
     {}),
    ("seats.cancel_speak_request", ("lobby",), {}, "POST",
     "/api/v1/audio-rooms/lobby/seats/request/cancel", {}),
    ("seats.deny_speaker", ("lobby", 4), {}, "POST",
     "/api/v1/audio-rooms/lobby/seats/requests/4/deny", {}),
    ("seats.deny_speaker", ("lobby", 4), {"reason": "full"}, "POST",
     "/api/v1/audio-rooms/lobby/seats/requests/4/deny", {"reason": "full"}),
]

CALL_ACTIONS = ["ringing", "accept", "reject", "busy", "end"]
# The call service's method for each call action of the contract.
CALL_METHODS = {"ringing": "report_ringing", "accept": "accept_call", "reject": "reject_call",
                "busy": "report_busy", "end": "end_call"}


def _only_request(mocked: aioresponses) -> tuple[str, str, dict[str, Any]]:
    requests = sent(mocked)
    assert len(requests) == 1, requests
    return requests[0]


def _assert_headers(kwargs: dict[str, Any], *, bearer: bool) -> None:
    headers = kwargs["headers"]
    assert headers["X-UTD-App-Id"] == APP_ID
    assert headers["X-UTD-App-Key"] == APP_KEY
    if bearer:
        assert headers["Authorization"] == f"Bearer {BEARER}"
    else:
        assert "Authorization" not in headers


def _assert_body(kwargs: dict[str, Any], expected: Any) -> None:
    if expected is NO_BODY:
        assert kwargs.get("data") is None
    else:
        assert body_of(kwargs) == expected
        assert kwargs["headers"]["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "method", "path", "body"),
    ROOM_CASES,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(ROOM_CASES)],
)
async def test_room_endpoints(
    api: UTDApiClient,
    mocked: aioresponses,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    method: str,
    path: str,
    body: Any,
) -> None:
    mocked.add(BASE + path, method, payload=room_json())
    state = await operator.attrgetter(name)(api)(*args, **kwargs)

    sent_method, url, request = _only_request(mocked)
    assert (sent_method, url) == (method, BASE + path)
    _assert_headers(request, bearer=True)
    _assert_body(request, body)
    assert isinstance(state, UTDRoomState)
    assert state.version == 7
    assert state.type is UTDStreamType.AUDIO_ROOM
    assert state.seats is not None
    assert state.seats.mode is UTDSeatMode.REQUEST
    assert state.seats.holders == ("alice",)
    assert state.seats.seats[1].locked is True
    assert state.stage[0].role == "host"
    assert state.stage_requests[0].request_id == 3
    assert state.speak_requests[0].seat_index == 1
    assert state.invitations[0].invited_by == "alice"


async def test_mint_user_token(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(
        TOKENS + "/api/v1/auth/user-token",
        payload={"user_token": "ut-1", "identity": "alice", "expires_at": 1700003600.0},
    )
    minted = await api.tokens.mint_user_token("alice", "Alice", "phone-1")

    method, url, request = _only_request(mocked)
    assert (method, url) == ("POST", TOKENS + "/api/v1/auth/user-token")
    _assert_headers(request, bearer=False)
    assert body_of(request) == {"identity": "alice", "name": "Alice", "device_id": "phone-1"}
    assert minted == UTDUserToken(user_token="ut-1", identity="alice", expires_at=1700003600.0)
    assert api.user_token == BEARER  # minting alone does not switch the client's bearer


async def test_mint_user_token_omits_absent_optionals(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE, TOKENS)
    mocked.post(
        TOKENS + "/api/v1/auth/user-token",
        payload={"user_token": "ut-1", "identity": "bob", "expires_at": 1.0},
    )
    try:
        await client.tokens.mint_user_token("bob")
    finally:
        await client.aclose()
    _, _, request = _only_request(mocked)
    assert body_of(request) == {"identity": "bob"}


async def test_authenticate_sets_the_bearer(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE, TOKENS, retry_backoff=0)
    mocked.post(
        TOKENS + "/api/v1/auth/user-token",
        payload={"user_token": "ut-fresh", "identity": "bob", "expires_at": 2.0},
    )
    mocked.get(BASE + "/api/v1/calls/c-1", payload=call_json())
    try:
        assert client.user_token is None
        minted = await client.authenticate("bob")
        assert client.user_token == minted.user_token == "ut-fresh"
        await client.calls.get_call("c-1")
    finally:
        await client.aclose()
    _, _, request = sent(mocked)[-1]
    assert request["headers"]["Authorization"] == "Bearer ut-fresh"


async def test_mint_room_token(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(
        TOKENS + "/api/v1/token",
        payload={
            "token": "lk-jwt",
            "url": "ws://127.0.0.1:7880",
            "room_name": "show",
            "user_token": "ut-2",
            "ws_url": None,
            "extra_field_from_newer_engine": True,
        },
    )
    token = await api.tokens.mint_room_token(
        "alice", "show", UTDStreamType.LIVE_STREAM, role="host", name="Alice"
    )

    method, url, request = _only_request(mocked)
    assert (method, url) == ("POST", TOKENS + "/api/v1/token")
    _assert_headers(request, bearer=False)
    assert body_of(request) == {
        "identity": "alice",
        "room_name": "show",
        "type": "live_stream",
        "role": "host",
        "name": "Alice",
    }
    assert token == UTDTokenResponse(
        token="lk-jwt", url="ws://127.0.0.1:7880", room_name="show", user_token="ut-2"
    )
    assert token.connect_url == "ws://127.0.0.1:7880"


async def test_mint_room_token_defaults_to_audience(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.post(
        TOKENS + "/api/v1/token",
        payload={"token": "t", "url": "u", "room_name": "lobby", "user_token": "ut"},
    )
    await api.tokens.mint_room_token("bob", "lobby", UTDStreamType.AUDIO_ROOM, device_id="d-9")
    _, _, request = _only_request(mocked)
    assert body_of(request) == {
        "identity": "bob", "room_name": "lobby", "type": "audio_room", "role": "audience",
        "device_id": "d-9",
    }


async def test_create_call(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(
        BASE + "/api/v1/calls",
        status=201,
        payload=call_json(type="video_call", token="lk-caller", url="ws://lk"),
    )
    call = await api.calls.create_call(
        "bob", UTDStreamType.VIDEO_CALL, callee_name="Bob", metadata={"topic": "lunch"}
    )

    method, url, request = _only_request(mocked)
    assert (method, url) == ("POST", BASE + "/api/v1/calls")
    _assert_headers(request, bearer=True)
    assert body_of(request) == {
        "callee_identity": "bob",
        "callee_name": "Bob",
        "type": "video_call",
        "metadata": {"topic": "lunch"},
    }
    assert isinstance(call, UTDCall)
    assert call.status is UTDCallStatus.INITIATING
    assert call.type is UTDStreamType.VIDEO_CALL
    assert (call.token, call.url) == ("lk-caller", "ws://lk")
    assert call.metadata == {"topic": "lunch"}
    assert call.created_at == 1700000000.5


async def test_get_call(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.get(BASE + "/api/v1/calls/c-1", payload=call_json(status="ringing", version=2))
    call = await api.calls.get_call("c-1")

    method, url, request = _only_request(mocked)
    assert (method, url) == ("GET", BASE + "/api/v1/calls/c-1")
    _assert_headers(request, bearer=True)
    assert request.get("data") is None
    assert (call.call_id, call.status, call.version) == ("c-1", UTDCallStatus.RINGING, 2)


@pytest.mark.parametrize(("pending_only", "status"), [(True, "pending"), (False, "all")])
async def test_list_calls(
    api: UTDApiClient, mocked: aioresponses, pending_only: bool, status: str
) -> None:
    mocked.get(
        BASE + f"/api/v1/calls?status={status}",
        payload={"calls": [call_json(), call_json(call_id="c-2", status="ended")]},
    )
    calls = await api.calls.list_calls(pending_only=pending_only)

    method, url, request = _only_request(mocked)
    assert (method, url) == ("GET", BASE + f"/api/v1/calls?status={status}")
    _assert_headers(request, bearer=True)
    assert [c.call_id for c in calls] == ["c-1", "c-2"]
    assert calls[1].status.is_terminal


async def test_list_calls_default_is_pending(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.get(BASE + "/api/v1/calls?status=pending", payload={"calls": []})
    assert await api.calls.list_calls() == []


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({"since": 1700000000.25}, "status=all&since=1700000000.25"),
        ({"since": 0}, "status=all&since=0.0"),
        ({"since": 1e16}, "status=all&since=1e%2B16"),
        ({"since": 12.5, "pending_only": True}, "status=pending&since=12.5"),
        ({"since": 12.5, "pending_only": False}, "status=all&since=12.5"),
    ],
)
async def test_list_calls_since(
    api: UTDApiClient, mocked: aioresponses, kwargs: dict[str, Any], query: str
) -> None:
    url = BASE + "/api/v1/calls?" + query
    mocked.get(url, payload={"calls": [call_json(status="ended", version=3, updated_at=12.75)]})
    [call] = await api.calls.list_calls(**kwargs)

    method, sent_url, request = _only_request(mocked)
    assert method == "GET"
    assert URL(sent_url).path == "/api/v1/calls"
    assert dict(URL(sent_url).query) == dict(URL(url).query)  # the order may differ
    _assert_headers(request, bearer=True)
    assert (call.status, call.version, call.updated_at) == (UTDCallStatus.ENDED, 3, 12.75)


@pytest.mark.parametrize("action", CALL_ACTIONS)
async def test_call_actions(api: UTDApiClient, mocked: aioresponses, action: str) -> None:
    answer_status = {"ringing": "ringing", "accept": "active", "reject": "rejected",
                     "busy": "busy", "end": "ended"}[action]
    mocked.post(BASE + f"/api/v1/calls/c-1/{action}", payload=call_json(status=answer_status))
    call = await getattr(api.calls, CALL_METHODS[action])("c-1")

    method, url, request = _only_request(mocked)
    assert (method, url) == ("POST", BASE + f"/api/v1/calls/c-1/{action}")
    _assert_headers(request, bearer=True)
    assert request.get("data") is None
    assert call.status is UTDCallStatus(answer_status)


async def test_path_segments_are_percent_encoded(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    # Room names allow "@" and ":"; call ids are opaque. Neither may add or escape a segment.
    mocked.get(re.compile(r".*"), payload=room_json(), repeat=True)
    mocked.post(re.compile(r".*"), payload=call_json(), repeat=True)
    await api.rooms.get_room("a@b:c")
    await api.calls.end_call("id/../../x?y#z %")

    urls = [url for _, url, _ in sent(mocked)]
    assert urls == [
        BASE + "/api/v1/rooms/a%40b%3Ac",
        BASE + "/api/v1/calls/id%2F..%2F..%2Fx%3Fy%23z%20%25/end",
    ]


async def test_base_url_path_prefix_and_trailing_slash_are_kept(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, "http://gw.test/engine/", user_token=BEARER)
    mocked.get("http://gw.test/engine/api/v1/rooms/lobby", payload=room_json())
    try:
        await client.rooms.get_room("lobby")
    finally:
        await client.aclose()
    assert [url for _, url, _ in sent(mocked)] == ["http://gw.test/engine/api/v1/rooms/lobby"]


async def test_tokens_go_to_base_url_when_no_token_url_given(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, "http://only.test")
    mocked.post("http://only.test/api/v1/auth/user-token",
                payload={"user_token": "u", "identity": "a", "expires_at": 1.0})
    try:
        await client.tokens.mint_user_token("a")
    finally:
        await client.aclose()
    assert client.token_base_url == client.base_url == "http://only.test"


async def test_normal_requests_have_a_total_timeout(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE, user_token=BEARER, timeout=3.5)
    mocked.get(BASE + "/api/v1/rooms/lobby", payload=room_json())
    try:
        await client.rooms.get_room("lobby")
    finally:
        await client.aclose()
    _, _, request = _only_request(mocked)
    assert request["timeout"].total == 3.5
    assert request["allow_redirects"] is False
