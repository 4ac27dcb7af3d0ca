"""Bad arguments fail fast with TypeError / ValueError, before anything is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from tests._support.api import APP_ID, APP_KEY, BASE, sent
from utd_stream_rx import UTDStreamType
from utd_stream_rx.api import UTDApiClient

Call = Callable[[UTDApiClient], Awaitable[Any]]

AUDIO = UTDStreamType.AUDIO_CALL
ROOM = UTDStreamType.AUDIO_ROOM

TYPE_ERRORS: list[tuple[str, Call]] = [
    ("identity int", lambda a: a.tokens.mint_user_token(42)),  # type: ignore[arg-type]
    ("name int", lambda a: a.tokens.mint_user_token("alice", 1)),  # type: ignore[arg-type]
    ("device_id bytes", lambda a: a.tokens.mint_user_token("alice", None, b"d")),  # type: ignore[arg-type]
    ("room type int", lambda a: a.tokens.mint_room_token("a", "r", 3)),  # type: ignore[arg-type]
    ("role None", lambda a: a.tokens.mint_room_token("a", "r", ROOM, role=None)),  # type: ignore[arg-type]
    ("callee None", lambda a: a.calls.create_call(None, AUDIO)),  # type: ignore[arg-type]
    ("metadata list", lambda a: a.calls.create_call("bob", AUDIO, metadata=[1])),  # type: ignore[arg-type]
    ("metadata not JSON", lambda a: a.calls.create_call("bob", AUDIO, metadata={"x": object()})),
    ("metadata int key", lambda a: a.calls.create_call("bob", AUDIO, metadata={1: "x"})),  # type: ignore[dict-item]
    ("call_id int", lambda a: a.calls.get_call(7)),  # type: ignore[arg-type]
    ("pending_only str", lambda a: a.calls.list_calls(pending_only="yes")),  # type: ignore[arg-type]
    ("since str", lambda a: a.calls.list_calls(since="12")),  # type: ignore[arg-type]
    ("since bool", lambda a: a.calls.list_calls(since=True)),
    ("since None-ish list", lambda a: a.calls.list_calls(since=[1.0])),  # type: ignore[arg-type]
    ("room None", lambda a: a.rooms.get_room(None)),  # type: ignore[arg-type]
    ("seat_index str", lambda a: a.seats.take_seat("lobby", "1")),  # type: ignore[arg-type]
    ("seat_index bool", lambda a: a.seats.take_seat("lobby", True)),
    ("seat_index float", lambda a: a.seats.request_to_speak("lobby", 1.0)),  # type: ignore[arg-type]
    ("seat_count str", lambda a: a.seats.setup_seats("lobby", seat_count="8")),  # type: ignore[arg-type]
    ("seat_mode int", lambda a: a.seats.setup_seats("lobby", seat_mode=1)),  # type: ignore[arg-type]
    ("mode_id int", lambda a: a.seats.setup_seats("lobby", mode_id=1)),  # type: ignore[arg-type]
    ("request_id str", lambda a: a.seats.approve_speaker("lobby", "4")),  # type: ignore[arg-type]
    ("locked int", lambda a: a.seats.lock_seat("lobby", 1, 1)),  # type: ignore[arg-type]
    ("muted None", lambda a: a.seats.mute_seat("lobby", 1, None)),  # type: ignore[arg-type]
    ("kick index None", lambda a: a.seats.kick_from_seat("lobby", None)),  # type: ignore[arg-type]
    ("deny request_id str", lambda a: a.seats.deny_speaker("lobby", "4")),  # type: ignore[arg-type]
    ("deny reason int", lambda a: a.seats.deny_speaker("lobby", 4, 5)),  # type: ignore[arg-type]
    ("stage identity int", lambda a: a.stage.invite_to_stage("show", 5)),  # type: ignore[arg-type]
    ("direct str", lambda a: a.stage.invite_to_stage("show", "bob", direct="yes")),  # type: ignore[arg-type]
    ("deny reason int", lambda a: a.stage.deny_stage_request("show", "bob", 5)),  # type: ignore[arg-type]
    ("deny identity None", lambda a: a.stage.deny_stage_request("show", None)),  # type: ignore[arg-type]
]

VALUE_ERRORS: list[tuple[str, Call]] = [
    ("empty identity", lambda a: a.tokens.mint_user_token("")),
    ("identity with space", lambda a: a.tokens.mint_user_token("al ice")),
    ("identity too long", lambda a: a.tokens.mint_user_token("a" * 129)),
    ("identity with slash", lambda a: a.stage.invite_to_stage("show", "a/b")),
    ("empty room", lambda a: a.rooms.get_room("")),
    ("room with slash", lambda a: a.seats.get_seats("../admin")),
    ("unknown role", lambda a: a.tokens.mint_room_token("a", "r", ROOM, role="admin")),
    ("call type for a room token", lambda a: a.tokens.mint_room_token("a", "r", AUDIO)),
    ("unknown type str", lambda a: a.tokens.mint_room_token("a", "r", "webinar")),  # type: ignore[arg-type]
    ("non-call type", lambda a: a.calls.create_call("bob", UTDStreamType.LIVE_STREAM)),
    ("empty call_id", lambda a: a.calls.accept_call("")),
    ("negative seat", lambda a: a.seats.take_seat("lobby", -1)),
    ("negative requested seat", lambda a: a.seats.request_to_speak("lobby", -2)),
    ("negative invite seat", lambda a: a.seats.invite_to_speak("lobby", "bob", -1)),
    ("negative approve seat", lambda a: a.seats.approve_speaker("lobby", 1, -1)),
    ("negative request_id", lambda a: a.seats.approve_speaker("lobby", -1)),
    ("negative lock index", lambda a: a.seats.lock_seat("lobby", -1)),
    ("negative mute index", lambda a: a.seats.mute_seat("lobby", -1)),
    ("negative kick index", lambda a: a.seats.kick_from_seat("lobby", -1)),
    ("negative deny request_id", lambda a: a.seats.deny_speaker("lobby", -1)),
    ("empty deny reason", lambda a: a.seats.deny_speaker("lobby", 1, "")),
    ("deny reason too long", lambda a: a.seats.deny_speaker("lobby", 1, "x" * 65)),
    ("zero seats", lambda a: a.seats.setup_seats("lobby", seat_count=0)),
    ("too many seats", lambda a: a.seats.setup_seats("lobby", seat_count=65)),
    ("unknown seat mode", lambda a: a.seats.setup_seats("lobby", seat_mode="lottery")),
    ("empty mode_id", lambda a: a.seats.setup_seats("lobby", mode_id="")),
    ("negative since", lambda a: a.calls.list_calls(since=-0.5)),
    ("NaN since", lambda a: a.calls.list_calls(since=float("nan"))),
    ("infinite since", lambda a: a.calls.list_calls(since=float("inf"))),
    ("since past float range", lambda a: a.calls.list_calls(since=10**400)),
    ("empty deny reason", lambda a: a.stage.deny_stage_request("show", "bob", "")),
    ("deny reason too long", lambda a: a.stage.deny_stage_request("show", "bob", "x" * 65)),
]


@pytest.mark.parametrize(("label", "call"), TYPE_ERRORS, ids=[c[0] for c in TYPE_ERRORS])
async def test_type_errors(
    api: UTDApiClient, mocked: aioresponses, label: str, call: Call
) -> None:
    with pytest.raises(TypeError):
        await call(api)
    assert sent(mocked) == []


@pytest.mark.parametrize(("label", "call"), VALUE_ERRORS, ids=[c[0] for c in VALUE_ERRORS])
async def test_value_errors(
    api: UTDApiClient, mocked: aioresponses, label: str, call: Call
) -> None:
    with pytest.raises(ValueError):
        await call(api)
    assert sent(mocked) == []


async def test_validation_comes_before_the_missing_token_check(mocked: aioresponses) -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE)
    try:
        with pytest.raises(ValueError):
            await client.seats.take_seat("lobby", -1)
    finally:
        await client.aclose()
    assert sent(mocked) == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"app_id": ""}, ValueError),
        ({"app_id": 1}, TypeError),
        ({"app_key": ""}, ValueError),
        ({"app_key": b"key"}, TypeError),  # None: read from $UTD_STREAM_APP_KEY (test_settings)
        ({"base_url": "engine.test"}, ValueError),
        ({"base_url": "ftp://engine.test"}, ValueError),
        ({"base_url": "http://engine.test/?x=1"}, ValueError),
        ({"base_url": 8787}, TypeError),
        ({"token_base_url": "not a url"}, ValueError),
        ({"timeout": 0}, ValueError),
        ({"timeout": -1.0}, ValueError),
        ({"timeout": "10"}, TypeError),
        ({"timeout": True}, TypeError),
        ({"read_retries": -1}, ValueError),
        ({"read_retries": 1.5}, TypeError),
        ({"user_token": ""}, ValueError),
        ({"user_token": 5}, TypeError),
        ({"session": object()}, TypeError),
        ({"retry_backoff": -0.1}, ValueError),
    ],
)
def test_constructor_validation(kwargs: dict[str, Any], error: type[Exception]) -> None:
    args: dict[str, Any] = {"app_id": APP_ID, "app_key": APP_KEY, "base_url": BASE}
    args.update(kwargs)
    with pytest.raises(error):
        UTDApiClient(**args)


def test_user_token_setter_validates() -> None:
    client = UTDApiClient(APP_ID, APP_KEY, BASE)
    client.user_token = "abc"
    assert client.user_token == "abc"
    client.user_token = None
    assert client.user_token is None
    with pytest.raises(TypeError):
        client.user_token = 3  # type: ignore[assignment]
    with pytest.raises(ValueError):
        client.user_token = ""
