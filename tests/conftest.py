"""Suite-wide guard: no test may leave a LiveKit room connected behind it.

A room left connected outlives its test: when the stack that served it stops, LiveKit's native
layer keeps trying to reconnect it, and disposing that layer at interpreter exit then aborts
the whole process (after every test has passed). So each test must leave the rooms it opened
closed; this fixture names the test that did not, and closes what it left.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import pytest
from livekit import rtc

GRACE = 5.0  # seconds for a disconnect already under way to finish


def _open_rooms() -> set[rtc.Room]:
    return {o for o in gc.get_objects() if isinstance(o, rtc.Room) and o.isconnected()}


@pytest.fixture(autouse=True)
async def _no_room_left_connected(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    # Rooms of wider-scoped fixtures are already open here and are not this test's doing.
    before = _open_rooms()
    yield
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GRACE
    left = _open_rooms() - before
    while left and loop.time() < deadline:
        await asyncio.sleep(0.1)
        left = {room for room in left if room.isconnected()}
    if left:
        names = sorted(
            f"{room.name}/{room.local_participant.identity}" if room.isconnected() else "?"
            for room in left
        )
        for room in left:
            await room.disconnect()
        pytest.fail(f"{request.node.nodeid} left {len(left)} room(s) connected: {names}")


@pytest.fixture(scope="session", autouse=True)
async def _no_room_left_at_exit() -> AsyncIterator[None]:
    """The last word: rooms of session-wide fixtures, too, are closed before the run ends."""
    yield
    left = _open_rooms()
    for room in left:
        await room.disconnect()
    assert not left, f"{len(left)} room(s) were still connected when the run ended"
