"""Sessions and the REST services refuse a bad argument with the same rule and message, before
anything is sent (no engine needed: every request would be intercepted)."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from utd_stream_rx import UTDAudioRoomSession, UTDCallSession, UTDLiveStreamSession, UTDStreamType
from utd_stream_rx.api import UTDApiClient


async def _message(error: type[Exception], command: object) -> str:
    with pytest.raises(error) as raised:
        await command  # type: ignore[misc]
    return str(raised.value)


@pytest.mark.parametrize("identity", [" ", "a b", "a/b", "x" * 129])
async def test_an_identity_the_contract_refuses_is_refused_alike(
    api: UTDApiClient, transport: aioresponses, identity: str
) -> None:
    room = UTDAudioRoomSession(api, "lobby", is_host=True)
    stream = UTDLiveStreamSession(api, "show", is_host=True)
    call = UTDCallSession(api, UTDStreamType.AUDIO_CALL)
    try:
        expected = await _message(ValueError, api.seats.invite_to_speak("lobby", identity))
        assert await _message(ValueError, room.invite_to_speak(identity)) == expected
        assert await _message(ValueError, stream.invite_to_stage(identity)) == expected
        assert await _message(ValueError, call.start(identity)) == expected.replace(
            "identity", "callee_identity", 1
        )
    finally:
        for session in (room, stream, call):
            await session.aclose()
    assert not transport.requests


async def test_a_bad_seat_index_is_refused_alike(
    api: UTDApiClient, transport: aioresponses
) -> None:
    room = UTDAudioRoomSession(api, "lobby", is_host=True)
    try:
        expected = await _message(ValueError, api.seats.lock_seat("lobby", -1))
        assert await _message(ValueError, room.lock_seat(-1)) == expected
        assert await _message(ValueError, room.kick_from_seat(-1)) == expected
        expected = await _message(TypeError, api.seats.request_to_speak("lobby", "1"))  # type: ignore[arg-type]
        assert await _message(TypeError, room.request_to_speak("1")) == expected  # type: ignore[arg-type]
        expected = await _message(ValueError, api.seats.setup_seats("lobby", seat_mode="open"))
        assert await _message(ValueError, room.setup_seats(None, "open")) == expected
    finally:
        await room.aclose()
    assert not transport.requests
