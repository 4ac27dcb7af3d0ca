"""The hand-wired side: raw ``rtc.Room`` members with the engine's tokens, its REST endpoints
called with aiohttp, and LiveKit's permission events awaited by hand."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any, Literal

import aiohttp
import attrs
from livekit import rtc

from utd_stream_rx import media
from utd_stream_rx.testing import LocalStack

RoomType = Literal["audio_room", "live_stream"]


@attrs.frozen
class Caller:
    """One user's bearer for the engine's REST endpoints, over a shared HTTP pool."""

    http: aiohttp.ClientSession
    headers: dict[str, str]

    async def post(self, url: str, body: dict[str, Any]) -> None:
        """POST ``body`` to ``url`` and read the whole answer; raise on an error status."""
        async with self.http.post(url, json=body, headers=self.headers) as answer:
            await answer.read()
            answer.raise_for_status()


@attrs.frozen
class RawMember:
    """A raw ``rtc.Room`` in an engine room, and its caller of the engine."""

    room: rtc.Room
    caller: Caller

    @property
    def identity(self) -> str:
        """The participant's identity."""
        return self.room.local_participant.identity


async def join_raw(
    stack: LocalStack,
    http: aiohttp.ClientSession,
    identity: str,
    room_name: str,
    room_type: RoomType,
    *,
    auto_subscribe: bool,
) -> RawMember:
    """Mint a room token from the engine with aiohttp and connect an ``rtc.Room`` with it."""
    async with http.post(
        stack.base_url + "/api/v1/token",
        json={"identity": identity, "room_name": room_name, "type": room_type},
        headers=stack.engine.app_headers,
    ) as answer:
        answer.raise_for_status()
        token = await answer.json()
    room = rtc.Room()
    await room.connect(token["url"], token["token"], rtc.RoomOptions(auto_subscribe=auto_subscribe))
    headers = dict(stack.engine.app_headers, Authorization=f"Bearer {token['user_token']}")
    return RawMember(room, Caller(http, headers))


async def bearer_of(stack: LocalStack, http: aiohttp.ClientSession, identity: str) -> Caller:
    """A caller acting as ``identity`` (the engine's development mode takes the body's word)."""
    async with http.post(
        stack.base_url + "/api/v1/auth/user-token",
        json={"identity": identity},
        headers=stack.engine.app_headers,
    ) as answer:
        answer.raise_for_status()
        bearer = (await answer.json())["user_token"]
    return Caller(http, dict(stack.engine.app_headers, Authorization=f"Bearer {bearer}"))


def permission_changed(room: rtc.Room, publish: bool) -> asyncio.Future[None]:
    """Done when ``room``'s own participant is told it may (or may no longer) publish."""
    changed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_permissions(participant: rtc.Participant, *_: object) -> None:
        mine = participant.identity == room.local_participant.identity
        if mine and participant.permissions.can_publish is publish and not changed.done():
            changed.set_result(None)

    room.on("participant_permissions_changed", on_permissions)
    changed.add_done_callback(lambda _: room.off("participant_permissions_changed", on_permissions))
    return changed


async def publish(
    room: rtc.Room,
    track: rtc.LocalAudioTrack | rtc.LocalVideoTrack,
    source: rtc.TrackSource.ValueType,
) -> str:
    """Publish ``track`` as ``source``; its publication's sid."""
    publication = await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=source)
    )
    return publication.sid


async def unpublish_all(room: rtc.Room) -> None:
    """Unpublish whatever ``room``'s participant still publishes."""
    for sid in list(room.local_participant.track_publications):
        await room.local_participant.unpublish_track(sid)


async def step_down(
    member: RawMember,
    sources: Sequence[media.PublishedMedia],
    caller: Caller,
    url: str,
    body: dict[str, Any],
) -> None:
    """Unpublish, stop ``sources``, POST the step down (``caller`` at ``url``) and wait for the
    revoke to reach ``member`` (a grant that never came has nothing to revoke: not waited for
    past 10 s)."""
    revoked = permission_changed(member.room, False)
    await unpublish_all(member.room)
    for source in sources:
        await source.aclose()
    await caller.post(url, body)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(revoked, 10)
