"""The client keeps a session alive while it holds a LiveKit room, and no longer."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable

from tests._support.rooms import connected_rooms
from utd_stream_rx import UTDStreamClient
from utd_stream_rx.testing import ClientFactory


async def test_aclose_closes_sessions_the_app_dropped(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    client: UTDStreamClient = make_client()
    room = unique("dropped")
    await client.join_live_stream(unique("viewer"), room)  # the session is not kept
    await client.join_audio_room(unique("listener"), unique("dropped-den"))
    gc.collect()
    assert len(connected_rooms("dropped")) == 2  # still connected: nobody closed them
    await client.aclose()
    assert connected_rooms("dropped") == set()


async def test_a_session_out_of_its_room_is_not_kept_alive_by_its_client(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    client = make_client()
    left = await client.join_live_stream(unique("viewer"), unique("show"))
    closed = await client.join_audio_room(unique("listener"), unique("den"))
    await left.leave()
    await closed.aclose()
    gone: list[Callable[[], object]] = [weakref.ref(left), weakref.ref(closed)]
    del left, closed
    gc.collect()
    # Nothing holds a room any more: the client lets both go (no growth over many calls).
    assert [ref() for ref in gone] == [None, None]
