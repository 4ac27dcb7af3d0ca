"""Wrong types and values into the public API: only documented exceptions, no hangs, no leaks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDCallSession,
    UTDLiveStreamSession,
    UTDStreamClient,
    UTDStreamException,
    UTDStreamType,
)
from utd_stream_rx.testing import LocalStack

pytestmark = pytest.mark.e2e

DOCUMENTED = (UTDStreamException, TypeError, ValueError)

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=200),
    st.binary(max_size=64),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


@attrs.define
class Sessions:
    client: UTDStreamClient
    host: UTDAudioRoomSession
    listener: UTDAudioRoomSession
    star: UTDLiveStreamSession
    call: UTDCallSession
    tasks_at_start: int


Command = Callable[[Sessions, Any], Awaitable[object]]

COMMANDS: dict[str, Command] = {
    "take_seat": lambda s, v: s.listener.take_seat(v),
    "lock_seat": lambda s, v: s.host.lock_seat(v),
    "mute_seat": lambda s, v: s.host.mute_seat(v),
    "kick_from_seat": lambda s, v: s.host.kick_from_seat(v),
    "setup_seats": lambda s, v: s.host.setup_seats(v),
    "setup_seats_mode": lambda s, v: s.host.setup_seats(None, v),
    "approve_speaker": lambda s, v: s.host.approve_speaker(v),
    "invite_to_speak": lambda s, v: s.host.invite_to_speak(v),
    "request_to_speak": lambda s, v: s.listener.request_to_speak(v),
    "invite_to_stage": lambda s, v: s.star.invite_to_stage(v),
    "remove_from_stage": lambda s, v: s.star.remove_from_stage(v),
    "go_live": lambda s, v: s.star.go_live(v),
    "set_microphone": lambda s, v: s.listener.set_microphone(v),
    "set_camera": lambda s, v: s.star.set_camera(v),
    "send_data": lambda s, v: s.listener.send_data(v),
    "send_data_to": lambda s, v: s.listener.send_data(b"x", to=v),
    "start": lambda s, v: s.call.start(v),
    "accept": lambda s, v: s.call.accept(v),
    "reject": lambda s, v: s.call.reject(v),
    "authenticate": lambda s, v: s.client.authenticate(v),
    "join_audio_room": lambda s, v: s.client.join_audio_room(v, v),
    "join_audio_room_seats": lambda s, v: s.client.join_audio_room("x", "y", True, seat_count=v),
    "join_live_stream_host": lambda s, v: s.client.join_live_stream("x", "y", as_host=v),
    "call_session": lambda s, v: _sync(s.client.call_session, v),
}


async def _sync(function: Callable[[Any], object], value: Any) -> object:
    return function(value)


@pytest.fixture(scope="module")
async def sessions(utd_stack: LocalStack) -> AsyncIterator[Sessions]:
    tasks_at_start = len(asyncio.all_tasks())
    make = [UTDStreamClient(utd_stack.app_id, utd_stack.app_key, utd_stack.base_url)
            for _ in range(4)]
    host = await make[0].join_audio_room("fuzz-host", "fuzz-room", as_host=True, seat_count=4)
    listener = await make[1].join_audio_room("fuzz-listener", "fuzz-room")
    star = await make[2].join_live_stream("fuzz-star", "fuzz-show", as_host=True)
    await make[3].authenticate("fuzz-caller")
    call = make[3].call_session(UTDStreamType.AUDIO_CALL)
    yield Sessions(make[3], host, listener, star, call, tasks_at_start)
    for client in make:
        await client.aclose()
    await asyncio.sleep(0.5)
    leftover = [t for t in asyncio.all_tasks() if not t.done()]
    assert len(leftover) <= tasks_at_start + 2, leftover


@given(name=st.sampled_from(sorted(COMMANDS)), value=ANYTHING)
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
async def test_public_commands_raise_only_documented_errors(
    sessions: Sessions, name: str, value: Any
) -> None:
    try:
        result = await asyncio.wait_for(COMMANDS[name](sessions, value), timeout=15)
    except DOCUMENTED:
        pass
    except TimeoutError:
        pytest.fail(f"{name}({value!r}) hung")
    else:
        if isinstance(result, UTDCallSession | UTDAudioRoomSession | UTDLiveStreamSession):
            await result.aclose()
    # Whatever happened, the sessions are still whole.
    for session in (sessions.host, sessions.listener, sessions.star):
        assert session.connected.value, f"{name}({value!r}) broke a session"
    assert sessions.host.seats.value is not None
