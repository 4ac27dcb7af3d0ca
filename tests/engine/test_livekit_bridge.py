"""The RoomService bridge against the real livekit-server: listing and removing participants."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from livekit import api, rtc

from utd_stream_engine import ParticipantPresence, RoomServiceBridge
from utd_stream_engine.livekit_bridge import mint_livekit_token
from utd_stream_engine.state import Grant
from utd_stream_rx.testing import LiveKitServer

pytestmark = pytest.mark.e2e

AUDIENCE = Grant("audience", None, False, ())
SPEAKER = Grant("speaker", 1, True, ("microphone",))


async def listed_until(
    bridge: RoomServiceBridge,
    room: str,
    check: Callable[[dict[str, ParticipantPresence] | None], bool],
) -> dict[str, ParticipantPresence] | None:
    for _ in range(100):
        found = await bridge.list_participants(room)
        if check(found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"LiveKit never listed what was expected in {room}: {found}")


async def test_list_and_remove_participants(
    utd_livekit_server: LiveKitServer, unique: Callable[[str], str]
) -> None:
    server = utd_livekit_server
    bridge = RoomServiceBridge(server.http_url, server.api_key, server.api_secret)
    name = unique("bridge")
    member = rtc.Room()
    try:
        assert await bridge.list_participants(unique("no-such-room")) is None
        await bridge.remove_participant(unique("no-such-room"), "ann")  # not an error
        # A room LiveKit does not have says so: its pushes know it is gone.
        assert await bridge.set_metadata(unique("no-such-room"), "{}") is False
        await bridge.ensure_room(name, "{}")
        assert await bridge.list_participants(name) == {}
        assert await bridge.set_metadata(name, '{"version":1}') is True

        token = mint_livekit_token(
            server.api_key,
            server.api_secret,
            livekit_room=name,
            identity="ann",
            name=None,
            grant=AUDIENCE,
            version=1,
            ttl=600,
        )
        await member.connect(server.url, token, rtc.RoomOptions(connect_timeout=10))
        found = await listed_until(bridge, name, lambda f: bool(f and "ann" in f))
        assert found == {"ann": ParticipantPresence(member.local_participant.sid, False)}

        # A grant is confirmed for a participant in the room, not for one who is not.
        assert await bridge.apply_grant(name, "ann", SPEAKER, 2) is True
        assert await bridge.apply_grant(name, "bob", SPEAKER, 2) is False
        await listed_until(bridge, name, lambda f: bool(f and f["ann"].can_publish))

        gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_disconnected(*_: object) -> None:
            if not gone.done():
                gone.set_result(None)

        member.on("disconnected", on_disconnected)
        await bridge.remove_participant(name, "ann")
        await asyncio.wait_for(gone, 10)
        await listed_until(bridge, name, lambda f: f is not None and "ann" not in f)
        await bridge.remove_participant(name, "ann")  # no longer there: not an error
    finally:
        await member.disconnect()
        async with api.LiveKitAPI(server.http_url, server.api_key, server.api_secret) as lk:
            await lk.room.delete_room(api.DeleteRoomRequest(room=name))
        await bridge.aclose()
