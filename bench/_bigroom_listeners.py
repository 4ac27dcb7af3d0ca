"""The two kinds of big-room listener: SDK sessions and hand-wired raw ``rtc.Room``s.

Both auto-subscribe to every speaker's audio and leave the frames to the native layer (neither
reads them in Python), and both follow the seat grid: an SDK session through its ``seats``
view, a raw room by decoding the room metadata the engine publishes whenever it changes, as a
hand-written client would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

import aiohttp
import attrs
from _bigroom_sync import LogEntry, grid_key
from livekit import rtc

from utd_stream_rx import UTDSeatGrid, UTDStreamClient


@attrs.define
class Listener:
    """One listener in the room, of either kind."""

    room: rtc.Room
    seats_log: list[LogEntry] = attrs.Factory(list)


@attrs.define
class Listeners:
    """A worker's listeners and what makes them all leave."""

    members: list[Listener]
    close: Callable[[], Awaitable[None]]


def subscribed_audio(room: rtc.Room) -> int:
    """How many remote audio tracks ``room`` is subscribed to."""
    return sum(
        1
        for participant in room.remote_participants.values()
        for publication in participant.track_publications.values()
        if publication.subscribed and publication.kind == rtc.TrackKind.KIND_AUDIO
    )


def _seat_logger(log: list[LogEntry]) -> Callable[[UTDSeatGrid | None], None]:
    def on_seats(grid: UTDSeatGrid | None) -> None:
        log.append((time.monotonic(), grid_key(grid)))

    return on_seats


async def join_sdk(
    base_url: str, app_id: str, app_key: str, room: str, identities: list[str]
) -> Listeners:
    """SDK sessions, one client per process (its HTTP pool shared, as an app would)."""
    client = UTDStreamClient(app_id, app_key, base_url)
    sessions = []
    members = []
    for identity in identities:
        session = await client.join_audio_room(identity, room)
        rtc_room = session.room.rtc_room
        if rtc_room is None:
            raise RuntimeError(f"{identity} is not connected after joining")
        member = Listener(rtc_room)
        session.seats.subscribe(_seat_logger(member.seats_log))
        sessions.append(session)
        members.append(member)

    async def close() -> None:
        for session in sessions:
            await session.aclose()
        await client.aclose()

    return Listeners(members, close)


def _metadata_decoder(room: rtc.Room) -> Callable[..., None]:
    decoded: list[object] = []

    def on_metadata(*_: object) -> None:
        # What a hand-written client does to learn the seat grid: decode the room metadata.
        decoded[:] = [json.loads(room.metadata or "null")]

    return on_metadata


async def _join_raw_one(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], room: str, identity: str
) -> Listener:
    body = {"identity": identity, "room_name": room, "type": "audio_room"}
    async with http.post(url, json=body, headers=headers) as answer:
        answer.raise_for_status()
        token = await answer.json()
    joined = rtc.Room()
    joined.on("room_metadata_changed", _metadata_decoder(joined))
    await joined.connect(token["url"], token["token"], rtc.RoomOptions(auto_subscribe=True))
    return Listener(joined)


async def join_raw(
    base_url: str, app_id: str, app_key: str, room: str, identities: list[str]
) -> Listeners:
    """Raw ``rtc.Room``s with tokens minted by hand with aiohttp (one HTTP pool per process)."""
    headers = {"X-UTD-App-Id": app_id, "X-UTD-App-Key": app_key}
    http = aiohttp.ClientSession()
    url = base_url + "/api/v1/token"
    members = [await _join_raw_one(http, url, headers, room, name) for name in identities]

    async def close() -> None:
        for member in members:
            await member.room.disconnect()
        await http.close()

    return Listeners(members, close)
