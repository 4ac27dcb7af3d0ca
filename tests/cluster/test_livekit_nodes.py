"""Two LiveKit nodes on one Redis are one cluster: a participant whose signal connection goes
to the other node still joins the room and hears it, and the server API answers through
either node."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from livekit import api, rtc

from tests._support.raw_rooms import audio_track_of, connect_raw
from utd_stream_rx import media
from utd_stream_rx.testing.cluster import LocalCluster
from utd_stream_rx.testing.livekit_server import LiveKitServer

pytestmark = pytest.mark.cluster


async def _identities(node: LiveKitServer, room_name: str) -> list[str]:
    async with api.LiveKitAPI(node.http_url, node.api_key, node.api_secret) as server_api:
        listed = await server_api.room.list_participants(
            api.ListParticipantsRequest(room=room_name)
        )
    return sorted(participant.identity for participant in listed.participants)


def _sessions_started(node: LiveKitServer, room_name: str) -> list[str]:
    """The identities whose media session ``node`` ran in ``room_name``, as its log says."""
    found = re.findall(
        rf'starting RTC session\t{{"room": "{room_name}".*?"participant": "(\w+)"',
        node.log_path.read_text(),
    )
    return sorted(found)


async def test_a_listener_signalling_through_node_two_hears_a_room_on_node_one(
    utd_cluster: LocalCluster,
) -> None:
    node_one, node_two = utd_cluster.livekit_nodes[:2]
    room_name = f"cross-node-{uuid.uuid4().hex[:8]}"
    # Created through node two, placed on node one: the room is node one's for sure.
    async with api.LiveKitAPI(node_two.http_url, node_two.api_key, node_two.api_secret) as lk:
        await lk.room.create_room(
            api.CreateRoomRequest(name=room_name, node_id=node_one.node_id, empty_timeout=30)
        )
    speaker = await connect_raw(node_one, room_name, "speaker", can_publish=True)
    listener = await connect_raw(node_two, room_name, "listener", can_publish=False)
    source = await media.start_audio(media.tone(523.0, 0.4))
    try:
        arrived = audio_track_of(listener)
        await speaker.local_participant.publish_track(
            source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        stats = await media.collect_audio(await asyncio.wait_for(arrived, 15), seconds=1.0)
        listed = [await _identities(node, room_name) for node in (node_one, node_two)]
    finally:
        await source.aclose()
        await listener.disconnect()
        await speaker.disconnect()

    assert stats.rms > 0.05, f"the listener heard near-silence: {stats}"
    assert abs(stats.dominant_hz - 523.0) < 10.0, f"expected the 523 Hz tone, got {stats}"
    assert listed == [["listener", "speaker"], ["listener", "speaker"]]
    # Both media sessions run on node one; node two only relayed the listener's signalling.
    assert _sessions_started(node_one, room_name) == ["listener", "speaker"]
    assert _sessions_started(node_two, room_name) == []
