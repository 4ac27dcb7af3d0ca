"""UTDRoom against a real livekit-server: LiveKit callbacks become store state.

Two UTDRooms per test, tokens from ``livekit-api``, grants and metadata through the real
RoomService, and a tone whose frequency the other side measures.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping

import pytest
from livekit import api

from tests._support.raw_rooms import server_token
from utd_stream_rx import UTDStreamException, media
from utd_stream_rx.models import UTDRoomState, UTDSeatMode, UTDStreamType, unstructure
from utd_stream_rx.models import UTDSeat as Seat
from utd_stream_rx.models import UTDSeatGrid as Grid
from utd_stream_rx.room import UTDRoom
from utd_stream_rx.state.events import DataReceived, ParticipantSnapshot, PermissionSnapshot
from utd_stream_rx.state.view_specs import (
    CAN_PUBLISH,
    CONNECTED,
    CONNECTION_STATE,
    REMOTE_PARTICIPANTS,
    SEATS,
)
from utd_stream_rx.testing import LiveKitServer

pytestmark = pytest.mark.e2e

Roster = Mapping[str, ParticipantSnapshot]



async def _join(server: LiveKitServer, room_name: str, identity: str) -> UTDRoom:
    room = UTDRoom()
    await room.connect(server.url, server_token(server, room_name, identity), connect_timeout=10)
    return room


def _present(identity: str) -> Callable[[Roster], bool]:
    def check(roster: Roster) -> bool:
        return identity in roster

    return check


def _absent(identity: str) -> Callable[[Roster], bool]:
    def check(roster: Roster) -> bool:
        return identity not in roster

    return check


def _own_tasks(before: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() - before if not t.done()} - {asyncio.current_task()}


async def test_connect_roster_and_clean_disconnect(utd_livekit_server: LiveKitServer) -> None:
    room_name = f"roster-{uuid.uuid4().hex[:8]}"
    before = asyncio.all_tasks()
    alice = UTDRoom()
    bob: UTDRoom | None = None
    try:
        assert alice.store.view(CONNECTED).value is False
        token = server_token(utd_livekit_server, room_name, "alice")
        await alice.connect(utd_livekit_server.url, token)
        assert alice.store.view(CONNECTED).value is True
        assert alice.store.state.local_identity == "alice"
        assert alice.store.view(CAN_PUBLISH).value is False
        with pytest.raises(UTDStreamException) as twice:
            token = server_token(utd_livekit_server, room_name, "alice")
            await alice.connect(utd_livekit_server.url, token)
        assert twice.value.code == "already_connected"

        bob = await _join(utd_livekit_server, room_name, "bob")
        roster = await alice.store.view(REMOTE_PARTICIPANTS).wait_for(_present("bob"), timeout=10)
        assert roster["bob"].identity == "bob"
        assert "alice" in bob.store.view(REMOTE_PARTICIPANTS).value  # the snapshot at connect

        await bob.disconnect()
        await alice.store.view(REMOTE_PARTICIPANTS).wait_for(_absent("bob"), timeout=10)
        assert bob.store.view(CONNECTED).value is False
    finally:
        if bob is not None:
            await bob.disconnect()
        await alice.disconnect()

    assert alice.store.view(CONNECTED).value is False
    assert alice.rtc_room is None and alice.local_participant is None
    assert dict(alice.store.view(REMOTE_PARTICIPANTS).value) == {}
    await alice.disconnect()  # idempotent
    await asyncio.sleep(0.2)
    leftover = _own_tasks(before)
    assert not leftover, f"tasks left behind: {leftover}"


async def test_grant_turns_can_publish_true_and_tone_arrives(
    utd_livekit_server: LiveKitServer, utd_livekit_api: api.LiveKitAPI
) -> None:
    room_name = f"grant-{uuid.uuid4().hex[:8]}"
    speaker = await _join(utd_livekit_server, room_name, "speaker")
    listener: UTDRoom | None = None
    try:
        listener = await _join(utd_livekit_server, room_name, "listener")
        with pytest.raises(UTDStreamException) as refused:
            await speaker.set_microphone(True, media.tone(660.0))
        assert refused.value.code == "not_permitted"
        assert speaker.local_participant is not None
        assert not speaker.local_participant.track_publications  # LiveKit was not asked

        await utd_livekit_api.room.update_participant(
            api.UpdateParticipantRequest(
                room=room_name,
                identity="speaker",
                permission=api.ParticipantPermission(
                    can_subscribe=True,
                    can_publish=True,
                    can_publish_data=True,
                    can_publish_sources=[api.TrackSource.MICROPHONE],
                ),
            )
        )
        assert await speaker.store.view(CAN_PUBLISH).wait_for(bool, timeout=10) is True
        granted = PermissionSnapshot(True, ("microphone",), True, True)
        assert speaker.store.state.permissions == granted
        assert speaker.store.state.local_participant is not None
        assert speaker.store.state.local_participant.permissions == granted
        with pytest.raises(UTDStreamException) as camera:
            await speaker.set_camera(True)  # the grant names the microphone only
        assert camera.value.code == "not_permitted"

        await speaker.set_microphone(True, media.tone(660.0))

        def has_subscribed_audio(roster: Roster) -> bool:
            who = roster.get("speaker")
            return who is not None and any(
                t.kind == "audio" and t.subscribed and t.source == "microphone"
                for t in who.tracks
            )

        roster = await listener.store.view(REMOTE_PARTICIPANTS).wait_for(
            has_subscribed_audio, timeout=15
        )
        assert roster["speaker"].permissions.allows("microphone")  # others see the grant too
        assert listener.rtc_room is not None
        publication = next(
            iter(listener.rtc_room.remote_participants["speaker"].track_publications.values())
        )
        assert publication.track is not None
        stats = await media.collect_audio(publication.track, seconds=0.5)
        assert abs(stats.dominant_hz - 660.0) < 15.0, stats

        await speaker.set_microphone(False)
        await listener.store.view(REMOTE_PARTICIPANTS).wait_for(
            lambda r: not r["speaker"].tracks, timeout=10
        )
    finally:
        if listener is not None:
            await listener.disconnect()
        await speaker.disconnect()


def _room_state(room_name: str, version: int, holder: str | None) -> UTDRoomState:
    seats = tuple(Seat(index=i, identity=holder if i == 1 else None) for i in range(4))
    grid = Grid(count=4, mode=UTDSeatMode.FREE, seats=seats, version=version)
    return UTDRoomState(room_name, UTDStreamType.AUDIO_ROOM, version, seats=grid)


async def test_data_and_room_metadata_reach_the_store(
    utd_livekit_server: LiveKitServer, utd_livekit_api: api.LiveKitAPI
) -> None:
    room_name = f"meta-{uuid.uuid4().hex[:8]}"
    alice = await _join(utd_livekit_server, room_name, "alice")
    bob: UTDRoom | None = None
    received: list[DataReceived] = []
    grids: list[Grid | None] = []
    subscription = alice.store.data.subscribe(received.append)
    seats_subscription = alice.store.view(SEATS).subscribe(grids.append)
    try:
        bob = await _join(utd_livekit_server, room_name, "bob")
        await alice.store.view(REMOTE_PARTICIPANTS).wait_for(_present("bob"), timeout=10)
        await bob.send_data(b"hello", topic="chat", destination_identities=["alice"])
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        assert [(d.payload, d.sender, d.topic) for d in received] == [(b"hello", "bob", "chat")]

        state = _room_state(room_name, 5, "bob")
        await utd_livekit_api.room.update_room_metadata(
            api.UpdateRoomMetadataRequest(room=room_name, metadata=json.dumps(unstructure(state)))
        )
        grid = await alice.store.view(SEATS).wait_for(lambda g: g is not None, timeout=10)
        assert grid is not None and grid.seats[1].identity == "bob" and grid.version == 5

        # An older version written later loses; a newer one wins.
        stale = _room_state(room_name, 4, "carol")
        newer = _room_state(room_name, 6, None)
        for doc in (stale, newer):
            await utd_livekit_api.room.update_room_metadata(
                api.UpdateRoomMetadataRequest(room=room_name, metadata=json.dumps(unstructure(doc)))
            )
        seats = alice.store.view(SEATS)
        grid = await seats.wait_for(lambda g: g is not None and g.version == 6, 10)
        assert grid is not None and grid.holders == ()
        assert [g.version for g in grids if g is not None] == [5, 6]  # 4 never showed
        assert alice.rtc_room is not None and alice.rtc_room.metadata  # raw metadata is there
    finally:
        subscription.dispose()
        seats_subscription.dispose()
        if bob is not None:
            await bob.disconnect()
        await alice.disconnect()



async def test_cancelled_and_failed_connects_leave_a_clean_disconnected_room(
    utd_livekit_server: LiveKitServer,
) -> None:
    before = asyncio.all_tasks()
    room = UTDRoom()
    name = f"cancel-{uuid.uuid4().hex[:8]}"
    token = server_token(utd_livekit_server, name, "x")
    attempt = asyncio.create_task(room.connect(utd_livekit_server.url, token))
    await asyncio.sleep(0.01)
    attempt.cancel()  # the caller gives up; LiveKit's own connect is left to finish
    with pytest.raises(asyncio.CancelledError):
        await attempt
    assert room.store.view(CONNECTED).value is False and room.rtc_room is None
    for _ in range(100):  # the landed connection is closed in the background
        if not _own_tasks(before):
            break
        await asyncio.sleep(0.05)
    assert not _own_tasks(before)

    try:
        await room.connect(utd_livekit_server.url, server_token(utd_livekit_server, name, "x"))
        assert room.store.view(CONNECTED).value is True
    finally:
        await room.disconnect()

    unreachable = UTDRoom()
    with pytest.raises(UTDStreamException) as failed:
        await unreachable.connect("ws://127.0.0.1:9", "not-a-token", connect_timeout=2)
    assert failed.value.code == "connect_failed"
    assert unreachable.store.view(CONNECTION_STATE).value.value == "disconnected"
    assert unreachable.store.state.disconnect_reason == "connect_failed"


async def test_a_removal_by_the_server_ends_the_room_and_frees_its_media(
    utd_livekit_server: LiveKitServer, utd_livekit_api: api.LiveKitAPI
) -> None:
    room_name = f"kick-{uuid.uuid4().hex[:8]}"
    before = asyncio.all_tasks()
    speaker = UTDRoom()
    token = server_token(utd_livekit_server, room_name, "speaker", can_publish=True)
    await speaker.connect(utd_livekit_server.url, token)
    try:
        await speaker.set_microphone(True)
        await utd_livekit_api.room.remove_participant(
            api.RoomParticipantIdentity(room=room_name, identity="speaker")
        )
        await speaker.store.view(CONNECTED).wait_for(lambda up: not up, timeout=10)
        assert speaker.store.state.disconnect_reason == "participant_removed"
        assert not speaker.store.view(CAN_PUBLISH).value
        for _ in range(100):  # the tone's feeding task stops in the background
            if speaker.rtc_room is None and not _own_tasks(before):
                break
            await asyncio.sleep(0.05)
        assert speaker.rtc_room is None
        assert not _own_tasks(before), _own_tasks(before)
    finally:
        await speaker.disconnect()  # still safe after LiveKit ended it

    token = server_token(utd_livekit_server, room_name, "speaker")
    await speaker.connect(utd_livekit_server.url, token)
    try:
        assert speaker.store.view(CONNECTED).value is True  # the same room object joins again
    finally:
        await speaker.disconnect()
