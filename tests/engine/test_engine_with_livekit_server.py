"""The reference engine against the real livekit-server: grants, metadata, data, webhooks.

Every participant here is a real ``livekit.rtc.Room``; the engine runs as a subprocess of the
session's :class:`~utd_stream_rx.testing.LocalStack`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from livekit import api, rtc
from livekit.rtc.room import EventTypes

from tests._support.engine import EngineClient
from tests._support.engine_calls import read_events
from tests._support.paths import SEATS
from utd_stream_rx.models import UTDCall, UTDRoomState, structure
from utd_stream_rx.testing import EngineProcess, LiveKitServer, LocalStack

pytestmark = pytest.mark.e2e



async def connect(token: dict[str, Any]) -> rtc.Room:
    room = rtc.Room()
    await room.connect(token["url"], token["token"], rtc.RoomOptions(connect_timeout=10))
    return room


def watch(
    room: rtc.Room, event: EventTypes, match: Callable[..., bool]
) -> asyncio.Future[tuple[Any, ...]]:
    """A future for the first ``event`` whose arguments satisfy ``match``."""
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def handler(*args: Any) -> None:
        if not future.done() and match(*args):
            future.set_result(args)

    room.on(event, handler)
    return future


def metadata_at_least(version: int) -> Callable[..., bool]:
    def match(old: str, new: str) -> bool:
        return bool(new) and structure(json.loads(new), UTDRoomState).version >= version

    return match


async def disconnect_all(*rooms: rtc.Room) -> None:
    for room in rooms:
        await room.disconnect()


async def test_taking_a_seat_grants_publish_in_livekit(
    stack_client: EngineClient, unique: Callable[[str], str]
) -> None:
    name = unique("seat")
    await stack_client.token("host", name, "audio_room", role="host")
    token = await stack_client.token("ann", name, "audio_room", name="Ann")
    room = await connect(token)
    try:
        state = structure(json.loads(room.metadata), UTDRoomState)
        assert state.room_name == name and state.host_identity == "host"
        assert room.local_participant.permissions.can_publish is False
        assert room.local_participant.attributes.get("utd.role") == "audience"

        me = room.local_participant.identity
        granted = watch(
            room,
            "participant_permissions_changed",
            lambda p, perm: p.identity == me and perm.can_publish,
        )
        seated = watch(
            room,
            "participant_attributes_changed",
            lambda ch, p: p.identity == me and ch.get("utd.seat") == "2",
        )
        took = await stack_client.post(
            SEATS.format(room=name) + "/take", {"seat_index": 2}, bearer=token["user_token"]
        )
        assert took.status == 200
        version = took.body["version"]
        meta = watch(room, "room_metadata_changed", metadata_at_least(version))
        _, permission = await asyncio.wait_for(granted, 10)
        assert list(permission.can_publish_sources) == [rtc.TrackSource.SOURCE_MICROPHONE]
        await asyncio.wait_for(seated, 10)
        attrs = room.local_participant.attributes
        assert attrs["utd.role"] == "speaker" and attrs["utd.version"] == str(version)
        if room.metadata and structure(json.loads(room.metadata), UTDRoomState).version < version:
            await asyncio.wait_for(meta, 10)
        seen = structure(json.loads(room.metadata), UTDRoomState)
        assert seen.seats is not None and seen.seats.seats[2].identity == "ann"

        revoked = watch(
            room,
            "participant_permissions_changed",
            lambda p, perm: p.identity == me and not perm.can_publish,
        )
        left = await stack_client.post(
            SEATS.format(room=name) + "/leave", bearer=token["user_token"]
        )
        assert left.status == 200
        await asyncio.wait_for(revoked, 10)
        # LiveKit drops an attribute set to "": no seat reads as absent or empty.
        assert room.local_participant.attributes.get("utd.seat", "") == ""
    finally:
        await room.disconnect()


async def test_stage_invite_grants_camera_and_microphone(
    stack_client: EngineClient, unique: Callable[[str], str]
) -> None:
    name = unique("live")
    host = await stack_client.token("host", name, "live_stream", role="host")
    viewer = await stack_client.token("vic", name, "live_stream")
    host_room = await connect(host)
    viewer_room = await connect(viewer)
    try:
        assert host_room.local_participant.permissions.can_publish is True
        assert viewer_room.local_participant.permissions.can_publish is False
        granted = watch(
            viewer_room, "participant_permissions_changed", lambda p, perm: perm.can_publish
        )
        told = watch(viewer_room, "data_received", lambda pkt: pkt.topic == "utd.stage.invite")
        invited = await stack_client.post(
            f"/api/v1/live/{name}/stage/invite",
            {"identity": "vic", "direct": True},
            bearer=host["user_token"],
        )
        assert invited.status == 200
        _, permission = await asyncio.wait_for(granted, 10)
        assert set(permission.can_publish_sources) == {
            rtc.TrackSource.SOURCE_CAMERA,
            rtc.TrackSource.SOURCE_MICROPHONE,
        }
        (packet,) = await asyncio.wait_for(told, 10)
        assert packet.participant is None
        assert json.loads(packet.data) == {
            "identity": "vic",
            "invited_by": "host",
            "direct": True,
            "version": invited.body["version"],
        }
        assert viewer_room.local_participant.attributes.get("utd.role") == "stage"
    finally:
        await disconnect_all(viewer_room, host_room)


async def test_seat_request_reaches_the_host_as_server_data(
    stack_client: EngineClient, unique: Callable[[str], str]
) -> None:
    name = unique("ask")
    host = await stack_client.token("host", name, "audio_room", role="host")
    asker = await stack_client.token("bob", name, "audio_room", name="Bob")
    host_room = await connect(host)
    try:
        arrived = watch(host_room, "data_received", lambda pkt: pkt.topic == "utd.seat.request")
        asked = await stack_client.post(
            SEATS.format(room=name) + "/request", {"seat_index": 1}, bearer=asker["user_token"]
        )
        (packet,) = await asyncio.wait_for(arrived, 10)
        assert packet.participant is None
        body = json.loads(packet.data)
        assert body["version"] == asked.body["version"]
        assert body["request"]["identity"] == "bob" and body["request"]["name"] == "Bob"
        assert body["request"]["seat_index"] == 1
    finally:
        await host_room.disconnect()


async def test_twenty_concurrent_takers_one_holder(
    stack_client: EngineClient, unique: Callable[[str], str]
) -> None:
    name = unique("race")
    host = await stack_client.token("host", name, "audio_room", role="host")
    bearers = [
        (await stack_client.token(f"u{i}", name, "audio_room"))["user_token"] for i in range(20)
    ]
    path = SEATS.format(room=name) + "/take"
    answers = await asyncio.gather(
        *(stack_client.post(path, {"seat_index": 5}, bearer=b) for b in bearers)
    )
    assert sorted(a.status for a in answers) == [200] + [409] * 19
    assert {a.code for a in answers if a.status != 200} == {"seat_taken"}
    state = await stack_client.get(SEATS.format(room=name), bearer=host["user_token"])
    holders = [s["identity"] for s in state.body["seats"]["seats"] if s["identity"]]
    winner = next(a for a in answers if a.status == 200)
    assert holders == [winner.body["seats"]["seats"][5]["identity"]]


async def test_disconnecting_holder_frees_the_seat(
    stack_client: EngineClient, unique: Callable[[str], str]
) -> None:
    name = unique("gone")
    host = await stack_client.token("host", name, "audio_room", role="host")
    token = await stack_client.token("ann", name, "audio_room")
    room = await connect(token)
    try:
        took = await stack_client.post(
            SEATS.format(room=name) + "/take", {"seat_index": 0}, bearer=token["user_token"]
        )
        assert took.status == 200
    finally:
        await room.disconnect()
    for _ in range(100):
        state = await stack_client.get(SEATS.format(room=name), bearer=host["user_token"])
        if state.body["seats"]["seats"][0]["identity"] is None:
            break
        await asyncio.sleep(0.1)
    assert state.body["seats"]["seats"][0]["identity"] is None
    assert state.body["version"] > took.body["version"]


async def test_restart_after_a_crash_keeps_everything(
    stack_client: EngineClient, utd_engine: EngineProcess, unique: Callable[[str], str]
) -> None:
    name = unique("crash")
    host = (await stack_client.token("host", name, "audio_room", role="host"))["user_token"]
    ann = (await stack_client.token("ann", name, "audio_room"))["user_token"]
    bob = (await stack_client.token("bob", name, "audio_room"))["user_token"]
    await stack_client.post(
        SEATS.format(room=name) + "/setup", {"seat_mode": "request"}, bearer=host
    )
    await stack_client.post(SEATS.format(room=name) + "/take", {"seat_index": 0}, bearer=host)
    await stack_client.post(
        SEATS.format(room=name) + "/invite", {"identity": "bob", "seat_index": 2}, bearer=host
    )
    await stack_client.post(SEATS.format(room=name) + "/request", bearer=ann)
    call = await stack_client.post(
        "/api/v1/calls", {"callee_identity": unique("callee"), "type": "audio_call"}, bearer=ann
    )
    before = (await stack_client.get(f"/api/v1/rooms/{name}", bearer=host)).body

    await utd_engine.akill()
    await utd_engine.arestart()

    after = await stack_client.get(f"/api/v1/rooms/{name}", bearer=host)
    assert after.status == 200 and after.body == before
    again = await stack_client.get(f"/api/v1/calls/{call.body['call_id']}", bearer=ann)
    assert again.body["status"] == "initiating" and again.body["version"] == call.body["version"]
    # Bob never joined the LiveKit room: a token minted after the restart admits him for the
    # join window (the engine's memory of the earlier mint did not survive the crash).
    bob = (await stack_client.token("bob", name, "audio_room"))["user_token"]
    taken = await stack_client.post(
        SEATS.format(room=name) + "/take", {"seat_index": 2}, bearer=bob
    )
    assert taken.status == 200 and taken.body["invitations"] == []


async def test_call_flow_event_stream_and_two_person_room(
    stack_client: EngineClient,
    utd_stack: LocalStack,
    utd_livekit_server: LiveKitServer,
    unique: Callable[[str], str],
) -> None:
    caller_id, callee_id = unique("carol"), unique("dave")
    caller = await stack_client.user(caller_id)
    callee = await stack_client.user(callee_id)
    headers = {
        "X-UTD-App-Id": utd_stack.app_id,
        "X-UTD-App-Key": utd_stack.app_key,
        "Authorization": f"Bearer {callee}",
    }
    rooms: list[rtc.Room] = []
    async with (
        aiohttp.ClientSession() as http,
        http.get(utd_stack.base_url + "/api/v1/calls/events", headers=headers) as stream,
    ):
        try:
            assert stream.status == 200
            created = await stack_client.post(
                "/api/v1/calls", {"callee_identity": callee_id, "type": "video_call"}, bearer=caller
            )
            call = structure(created.body, UTDCall)
            [seen] = await asyncio.wait_for(read_events(stream, 1), 10)
            assert seen.call_id == call.call_id and seen.status.value == "initiating"

            caller_room = await connect({"url": call.url, "token": call.token})
            rooms.append(caller_room)
            state = structure(json.loads(caller_room.metadata), UTDRoomState)
            assert state.call is not None and state.call.call_id == call.call_id
            assert caller_room.local_participant.permissions.can_publish is True

            await stack_client.post(f"/api/v1/calls/{call.call_id}/ringing", bearer=callee)
            [ringing] = await asyncio.wait_for(read_events(stream, 1), 10)
            assert ringing.status.value == "ringing"
            status_note = watch(
                caller_room,
                "data_received",
                lambda pkt: (
                    pkt.topic == "utd.call" and json.loads(pkt.data)["call"]["status"] == "active"
                ),
            )
            accepted = structure(
                (
                    await stack_client.post(f"/api/v1/calls/{call.call_id}/accept", bearer=callee)
                ).body,
                UTDCall,
            )
            [active] = await asyncio.wait_for(read_events(stream, 1), 10)
            assert active.status.value == "active" and active.version == accepted.version
            (packet,) = await asyncio.wait_for(status_note, 10)
            assert packet.participant is None
            assert json.loads(packet.data)["version"] >= 1

            callee_room = await connect({"url": accepted.url, "token": accepted.token})
            rooms.append(callee_room)
            # A third participant, even with a valid LiveKit token, does not fit.
            intruder_token = (
                api.AccessToken(utd_livekit_server.api_key, utd_livekit_server.api_secret)
                .with_identity("intruder")
                .with_grants(
                    api.VideoGrants(room_join=True, room=f"{utd_stack.app_id}__{call.room_name}")
                )
                .to_jwt()
            )
            intruder = rtc.Room()
            with pytest.raises(rtc.ConnectError):
                await intruder.connect(
                    utd_livekit_server.url, intruder_token, rtc.RoomOptions(connect_timeout=10)
                )
                rooms.append(intruder)
            # The handshake only says 500; the server log names the reason.
            assert "exceeded its max participants" in utd_livekit_server.log_path.read_text()

            ended = await stack_client.post(f"/api/v1/calls/{call.call_id}/end", bearer=caller)
            assert ended.body["status"] == "ended"
            [over] = await asyncio.wait_for(read_events(stream, 1), 10)
            assert over.status.value == "ended"
            again = await stack_client.post(f"/api/v1/calls/{call.call_id}/end", bearer=callee)
            assert again.body == ended.body
        finally:
            await disconnect_all(*rooms)
