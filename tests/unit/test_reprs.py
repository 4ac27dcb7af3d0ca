"""The reprs of the client, sessions, room and store: who, where and in which state, read from
what each holds (never awaiting), and never a credential."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from aioresponses import aioresponses

from tests._support.api import APP_ID, APP_KEY, BASE, BEARER, MockTransport, call_json
from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDLiveStreamSession,
    UTDStreamClient,
    UTDStreamType,
)
from utd_stream_rx.models import UTDCall, UTDRoomState, structure
from utd_stream_rx.room import UTDRoom
from utd_stream_rx.sessions.base import UTDSession
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.reducers import SessionState
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import VIEW_SPECS


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with MockTransport() as mock:
        yield mock


@pytest.fixture
async def client() -> AsyncIterator[UTDStreamClient]:
    made = UTDStreamClient(APP_ID, APP_KEY, BASE, BASE, timeout=2.0)
    try:
        yield made
    finally:
        await made.aclose()


def _connected(store: Store, identity: str = "alice") -> None:
    store.dispatch(ev.Connecting())
    store.dispatch(ev.Connected(identity))


def test_store_repr_counts_views_and_reduced_events() -> None:
    store = Store()
    views = len(VIEW_SPECS)
    assert repr(store) == (
        f"Store(views={views}, events=0, connection='disconnected', identity=None, "
        "disposed=False)"
    )
    _connected(store)
    assert repr(store) == (
        f"Store(views={views}, events=2, connection='connected', identity='alice', "
        "disposed=False)"
    )
    store.dispose()
    assert repr(store).endswith("disposed=True)")


def test_store_repr_from_inside_a_notification_and_another_thread() -> None:
    store = Store()
    seen: list[str] = []

    def on_state(state: SessionState) -> None:
        seen.append(repr(store))  # the store is mid-dispatch: the repr must not wait for it

    store.states.subscribe(on_state)
    _connected(store)
    assert "connection='connected'" in seen[-1]
    other: list[str] = []
    thread = threading.Thread(target=lambda: other.append(repr(store)))
    thread.start()
    thread.join(timeout=5)
    assert other == [seen[-1]]


async def test_room_repr_names_identity_and_connection() -> None:
    room = UTDRoom()
    assert repr(room) == "UTDRoom(room=None, identity=None, connection='disconnected')"
    _connected(room.store, "bob")
    assert repr(room) == "UTDRoom(room=None, identity='bob', connection='connected')"


async def test_client_repr_without_secrets(
    client: UTDStreamClient, mocked: aioresponses
) -> None:
    assert repr(client) == (
        f"UTDStreamClient(app_id={APP_ID!r}, identity=None, closed=False, sessions=0)"
    )
    mocked.post(
        BASE + "/api/v1/auth/user-token",
        payload={"user_token": BEARER, "identity": "bob", "expires_at": 2e9},
        repeat=True,
    )
    mocked.get(BASE + "/api/v1/calls?status=pending", payload={"calls": []}, repeat=True)
    mocked.get(BASE + "/api/v1/calls/events", body="", content_type="text/event-stream",
               repeat=True)
    await client.authenticate("bob")
    session = client.call_session(UTDStreamType.AUDIO_CALL)
    shown = repr(client)
    assert shown == f"UTDStreamClient(app_id={APP_ID!r}, identity='bob', closed=False, sessions=1)"
    for secret in (APP_KEY, BEARER):
        assert secret not in shown and secret not in repr(session)
        assert secret not in repr(session.room) and secret not in repr(session.room.store)
    await client.aclose()
    assert repr(client).endswith("closed=True, sessions=1)")


async def test_call_session_repr_shows_the_call(client: UTDStreamClient) -> None:
    session = client.call_session(UTDStreamType.VIDEO_CALL)
    assert repr(session) == (
        "UTDCallSession(type='video_call', call_id=None, status=None, identity=None, "
        "connection='disconnected', closed=False)"
    )
    call = call_json(call_id="c-7", status="ringing", type="video_call", token="lk-room-token")
    session.room.store.dispatch(ev.CallUpdated(structure(call, UTDCall)))
    shown = repr(session)
    assert "call_id='c-7', status='ringing'" in shown and "lk-room-token" not in shown
    await session.aclose()
    assert repr(session).endswith("closed=True)")


async def test_room_session_reprs_show_the_room(client: UTDStreamClient) -> None:
    audio = UTDAudioRoomSession(client.api, "lobby", is_host=True)
    live = UTDLiveStreamSession(client.api, "stage", is_host=False)
    assert repr(audio) == (
        "UTDAudioRoomSession(type='audio_room', room='lobby', host=True, identity=None, "
        "connection='disconnected', closed=False)"
    )
    _connected(live.room.store, "viewer")
    assert repr(live) == (
        "UTDLiveStreamSession(type='live_stream', room='stage', host=False, "
        "identity='viewer', connection='connected', closed=False)"
    )
    await asyncio.gather(audio.aclose(), live.aclose())


async def test_base_session_repr_shows_the_room_the_engine_reported(
    client: UTDStreamClient,
) -> None:
    session = UTDSession(client.api, UTDStreamType.AUDIO_ROOM)
    assert repr(session).startswith("UTDSession(type='audio_room', room=None, identity=None")
    session.room.store.dispatch(ev.RoomStateReceived(UTDRoomState("hall", session.type, 1)))
    assert repr(session).startswith("UTDSession(type='audio_room', room='hall', identity=None")
    await session.aclose()
