"""An engine answer of wrong types fails as ``invalid_response`` naming the field, and a store
fed the way sessions feed it keeps the last good state."""

from __future__ import annotations

from typing import Any

import pytest
from aioresponses import aioresponses

from tests._support.api import BASE, call_json, room_json
from utd_stream_rx import UTDStreamException
from utd_stream_rx.api import UTDApiClient
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import SEATS

ROOM_URL = BASE + "/api/v1/rooms/lobby"
TAKE_URL = BASE + "/api/v1/audio-rooms/lobby/seats/take"


def _seat_locked_as_text() -> dict[str, Any]:
    room = room_json(version=8)
    room["seats"]["seats"][1]["locked"] = "false"
    return room


async def _take_seat_like_a_session(api: UTDApiClient, store: Store) -> None:
    """Take seat 1 and feed the answer or the failure to ``store``, as a session's command."""
    try:
        answer = await api.seats.take_seat("lobby", 1)
    except UTDStreamException as exc:
        store.dispatch(ev.CommandFailed("take_seat", exc))
        raise
    store.dispatch(ev.RoomStateReceived(answer))


async def test_a_wrong_type_in_an_answer_is_an_invalid_response(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.get(ROOM_URL, payload=_seat_locked_as_text())
    with pytest.raises(UTDStreamException) as info:
        await api.rooms.get_room("lobby")
    exc = info.value
    assert (exc.status_code, exc.code) == (200, "invalid_response")
    assert "seats.seats[1].locked: expected bool, got str 'false'" in exc.message


async def test_a_wrong_type_in_a_call_list_names_the_call(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    calls = [call_json(), call_json(call_id="c-2", version="2")]
    mocked.get(BASE + "/api/v1/calls?status=pending", payload={"calls": calls})
    with pytest.raises(UTDStreamException) as info:
        await api.calls.list_calls()
    assert info.value.code == "invalid_response"
    assert "calls[1]:" in info.value.message
    assert "version: expected int, got str '2'" in info.value.message


async def test_the_store_keeps_the_last_good_state_after_an_invalid_answer(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    store = Store()
    good = room_json(version=7)
    mocked.post(TAKE_URL, payload=good)
    mocked.post(TAKE_URL, payload=_seat_locked_as_text())
    mocked.post(TAKE_URL, payload=room_json(version=9))
    seats = store.view(SEATS)

    await _take_seat_like_a_session(api, store)
    before = store.state.room_state
    assert before is not None and before.version == 7 and seats.value is not None

    with pytest.raises(UTDStreamException) as info:
        await _take_seat_like_a_session(api, store)
    assert store.state.room_state is before and seats.value is before.seats
    assert store.state.last_error is info.value and info.value.code == "invalid_response"

    await _take_seat_like_a_session(api, store)  # the client is still usable
    after = store.state.room_state
    assert after is not None and after.version == 9
    store.dispose()
