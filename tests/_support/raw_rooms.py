"""Raw ``rtc.Room`` clients of a livekit-server, with tokens signed by its own keys: the
hand-wired side that media and cluster tests compare against or listen with."""

from __future__ import annotations

import asyncio

from livekit import api, rtc

from utd_stream_rx.testing import LiveKitServer

__all__ = ["audio_track_of", "connect_raw", "server_token"]


def server_token(
    server: LiveKitServer, room: str, identity: str, *, can_publish: bool = False
) -> str:
    """A room token signed with the server's API secret."""
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_subscribe=True,
        can_publish=can_publish,
        can_publish_data=True,
    )
    return (
        api.AccessToken(server.api_key, server.api_secret)
        .with_identity(identity)
        .with_grants(grants)
        .to_jwt()
    )


async def connect_raw(
    server: LiveKitServer, room_name: str, identity: str, *, can_publish: bool
) -> rtc.Room:
    """An ``rtc.Room`` connected through ``server`` (any node of a cluster)."""
    room = rtc.Room()
    await room.connect(
        server.url,
        server_token(server, room_name, identity, can_publish=can_publish),
        rtc.RoomOptions(auto_subscribe=True, connect_timeout=10),
    )
    return room


def audio_track_of(room: rtc.Room) -> asyncio.Future[rtc.Track]:
    """The first remote audio track the room has or subscribes to."""
    future: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    def on_subscribed(track: rtc.Track, *_: object) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO and not future.done():
            future.set_result(track)

    room.on("track_subscribed", on_subscribed)
    for participant in room.remote_participants.values():
        for pub in participant.track_publications.values():
            if pub.track is not None and pub.kind == rtc.TrackKind.KIND_AUDIO:
                future.set_result(pub.track)
                break
    return future
