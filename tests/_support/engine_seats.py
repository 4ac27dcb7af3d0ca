"""Seated audio rooms on an in-process engine, and waits for a seat to come free."""

from __future__ import annotations

import asyncio

from .engine import Local
from .paths import SEATS

__all__ = ["GRACE", "seat_room", "seated", "wait_until_freed"]

GRACE = 0.4
"""A rejoin grace in seconds for in-process engines; the sweeper runs at least once a second."""


async def seated(local: Local, room: str, bearer: str) -> dict[int, str | None]:
    """Who holds each seat of ``room``, by index."""
    state = (await local.client.get(f"/api/v1/rooms/{room}", bearer=bearer)).body
    return {seat["index"]: seat["identity"] for seat in state["seats"]["seats"]}


async def seat_room(local: Local, room: str, *users: str) -> dict[str, str]:
    """A host and users each seated in order (seat 1, 2, ...); identity -> bearer."""
    bearers = {"host": (await local.client.token("host", room, "audio_room", role="host"))}
    for index, user in enumerate(users, start=1):
        bearers[user] = await local.client.token(user, room, "audio_room")
        taken = await local.client.post(
            SEATS.format(room=room) + "/take",
            {"seat_index": index},
            bearer=bearers[user]["user_token"],
        )
        assert taken.status == 200, taken
    return {identity: answer["user_token"] for identity, answer in bearers.items()}


async def wait_until_freed(local: Local, room: str, bearer: str, index: int) -> float:
    """Seconds until seat ``index`` is free (at most 5)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (await seated(local, room, bearer))[index] is not None:
        assert loop.time() - started < 5, f"seat {index} was never released"
        await asyncio.sleep(0.05)
    return loop.time() - started
