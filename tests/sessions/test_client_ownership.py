"""The client owns the sessions it makes until they are closed."""

from __future__ import annotations

import gc
from collections.abc import Callable

from livekit import rtc

from utd_stream_rx import UTDStreamClient

ClientFactory = Callable[[], UTDStreamClient]


def _connected_rooms(name_part: str) -> list[rtc.Room]:
    return [
        o for o in gc.get_objects()
        if isinstance(o, rtc.Room) and o.isconnected() and name_part in o.name
    ]


async def test_aclose_closes_sessions_the_app_dropped(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    client: UTDStreamClient = make_client()
    room = unique("dropped")
    await client.join_live_stream(unique("viewer"), room)  # the session is not kept
    await client.join_audio_room(unique("listener"), unique("dropped-den"))
    gc.collect()
    assert len(_connected_rooms("dropped")) == 2  # still connected: nobody closed them
    await client.aclose()
    assert _connected_rooms("dropped") == []


async def test_a_closed_session_is_released_by_its_client(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    client = make_client()
    session = await client.join_live_stream(unique("viewer"), unique("show"))
    assert session in client._sessions
    await session.aclose()
    assert session not in client._sessions
