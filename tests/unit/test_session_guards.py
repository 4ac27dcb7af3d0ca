"""Sessions refuse commands out of their room (``not_connected``) and once closed (``closed``)
before sending anything; every request the SDK would send is intercepted and must not appear."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aioresponses import aioresponses

from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDCallSession,
    UTDLiveStreamSession,
    UTDStreamException,
    UTDStreamType,
)
from utd_stream_rx.api import UTDApiClient

Command = Callable[[], Awaitable[Any]]


def _room_commands(room: UTDAudioRoomSession, stream: UTDLiveStreamSession) -> dict[str, Command]:
    return {
        "take_seat": lambda: room.take_seat(0),
        "leave_seat": room.leave_seat,
        "request_to_speak": room.request_to_speak,
        "accept_invitation": room.accept_invitation,
        "decline_invitation": room.decline_invitation,
        "get_seats": room.get_seats,
        "setup_seats": lambda: room.setup_seats(4),
        "lock_seat": lambda: room.lock_seat(1),
        "kick_from_seat": lambda: room.kick_from_seat(1),
        "invite_to_speak": lambda: room.invite_to_speak("bob"),
        "request_stage": stream.request_stage,
        "refresh_stage": stream.refresh_stage,
        "leave_stage": stream.leave_stage,
        "invite_to_stage": lambda: stream.invite_to_stage("bob"),
        "go_live": stream.go_live,
    }


async def _codes(commands: dict[str, Command]) -> dict[str, str | None]:
    codes: dict[str, str | None] = {}
    for name, command in commands.items():
        try:
            await command()
        except UTDStreamException as exc:
            codes[name] = exc.code
        else:
            codes[name] = "ok"
    return codes


async def test_room_commands_out_of_the_room_send_nothing(
    api: UTDApiClient, transport: aioresponses
) -> None:
    room = UTDAudioRoomSession(api, "den", is_host=True)
    stream = UTDLiveStreamSession(api, "show", is_host=True)
    commands = _room_commands(room, stream)

    assert await _codes(commands) == dict.fromkeys(commands, "not_connected")
    assert transport.requests == {}

    await room.aclose()
    await stream.aclose()
    commands["set_microphone"] = lambda: room.set_microphone(True)
    commands["send_data"] = lambda: stream.send_data(b"x")
    assert await _codes(commands) == dict.fromkeys(commands, "closed")
    assert transport.requests == {}


async def test_a_closed_call_session_sends_nothing(
    api: UTDApiClient, transport: aioresponses
) -> None:
    session = UTDCallSession(api, UTDStreamType.AUDIO_CALL)
    await session.aclose()
    commands: dict[str, Command] = {
        "start": lambda: session.start("bob"),
        "accept": lambda: session.accept("c-1"),
        "join": lambda: session.join("c-1"),
        "ringing": lambda: session.ringing("c-1"),
        "reject": lambda: session.reject("c-1"),
        "busy": lambda: session.busy("c-1"),
        "rejoin": session.rejoin,
    }
    assert await _codes(commands) == dict.fromkeys(commands, "closed")
    await session.end()  # hanging up stays harmless
    assert transport.requests == {}
