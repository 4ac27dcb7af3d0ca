"""The reprs of a client, its session, room and store on the real stack: the room, identity
and connection as they are, and no credential (app key, bearer or LiveKit token)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from utd_stream_rx import media
from utd_stream_rx.testing import ClientFactory, LocalStack

pytestmark = pytest.mark.e2e

JWT_START = "eyJ"  # every JWT (bearer or room token) starts with base64 of '{"'


async def test_reprs_of_a_joined_audio_room(
    utd_stack: LocalStack, make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room, identity = unique("repr-room"), unique("repr-host")
    client = make_client()
    session = await client.join_audio_room(
        identity, room, as_host=True, seat_count=2, audio_source=media.tone(440.0)
    )
    shown = [repr(client), repr(session), repr(session.room), repr(session.room.store)]
    assert shown[0] == (
        f"UTDStreamClient(app_id={utd_stack.app_id!r}, identity={identity!r}, closed=False, "
        "sessions=1)"
    )
    assert shown[1] == (
        f"UTDAudioRoomSession(type='audio_room', room={room!r}, host=True, "
        f"identity={identity!r}, connection='connected', closed=False)"
    )
    assert shown[2].startswith("UTDRoom(room=") and room in shown[2]
    assert shown[2].endswith(f"identity={identity!r}, connection='connected')")
    assert "connection='connected'" in shown[3] and "disposed=False" in shown[3]
    for text in shown:
        assert utd_stack.app_key not in text and JWT_START not in text

    await session.leave()
    assert "connection='disconnected', closed=False" in repr(session)
    await client.aclose()
    assert repr(session).endswith("closed=True)") and "closed=True" in repr(client)
