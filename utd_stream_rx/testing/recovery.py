"""Getting a room session back after its LiveKit server went away (tests of outages)."""

from __future__ import annotations

import asyncio
from typing import Literal

from ..errors import UTDStreamException
from ..sessions.audio_room import UTDAudioRoomSession
from ..sessions.live_stream import UTDLiveStreamSession
from ..state import ConnectionState

__all__ = ["back_in_room"]


async def back_in_room(
    session: UTDAudioRoomSession | UTDLiveStreamSession, timeout: float = 40.0
) -> Literal["resumed", "rejoined"]:
    """Wait until ``session`` is connected again, rejoining whenever LiveKit gave up on it.

    Returns ``"resumed"`` when LiveKit's own reconnection brought it back, ``"rejoined"`` when
    a :meth:`~utd_stream_rx.UTDSession.rejoin` (fresh token, engine state re-synced) did.
    Rejoins refused while the server is still coming up are retried.

    Raises:
        TimeoutError: not connected again within ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    how: Literal["resumed", "rejoined"] = "resumed"
    while not session.connected.value:
        if loop.time() > deadline:
            raise TimeoutError(f"{session.identity} never got back into the room")
        if session.room.store.state.connection_state is ConnectionState.DISCONNECTED:
            how = "rejoined"
            try:
                await session.rejoin()
            except UTDStreamException:
                await asyncio.sleep(0.5)  # the server may still be coming up
        else:
            await asyncio.sleep(0.2)
    return how
