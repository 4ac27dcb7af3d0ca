"""Seat to sound: ``take_seat`` until the microphone is published, against the raw path.

The raw path is what an app would write by hand with a server key: grant publishing with
``RoomService.UpdateParticipant``, wait for LiveKit to confirm the new permission, then
``publish_track`` a track created before the clock starts. The SDK path asks the engine for
the seat, the engine grants through LiveKit, the session sees the grant as a room event and
publishes. Target: at most 1.20x.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from _common import parser, report
from livekit import api, rtc

from utd_stream_rx import UTDAudioRoomSession, UTDStreamClient, media
from utd_stream_rx.testing import LocalStack

ROOM = "bench-seat"


async def _sdk_round(listener: UTDAudioRoomSession, seat: int) -> float:
    began = time.perf_counter()
    await listener.take_seat(seat)  # returns seated, granted and publishing
    took = time.perf_counter() - began
    await listener.leave_seat()
    await listener.can_publish.wait_for(lambda granted: not granted, timeout=10)
    await asyncio.sleep(0.1)  # as in the raw round: the revocation settles before the next
    return took * 1e3


def _permission(publish: bool) -> api.ParticipantPermission:
    sources = [api.TrackSource.MICROPHONE] if publish else []
    return api.ParticipantPermission(
        can_subscribe=True, can_publish=publish, can_publish_data=True,
        can_publish_sources=sources,
    )


async def _raw_round(lk: api.LiveKitAPI, room: rtc.Room, livekit_room: str) -> float:
    granted = asyncio.get_running_loop().create_future()

    def on_permissions(participant: rtc.Participant, *_: object) -> None:
        if participant.identity == room.local_participant.identity and not granted.done():
            granted.set_result(None)

    room.on("participant_permissions_changed", on_permissions)
    # The strictest baseline: the track exists before the clock starts.
    source = await media.start_audio(media.tone(500.0))
    began = time.perf_counter()
    await lk.room.update_participant(
        api.UpdateParticipantRequest(
            room=livekit_room,
            identity=room.local_participant.identity,
            permission=_permission(True),
        )
    )
    await granted
    publication = await room.local_participant.publish_track(
        source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    took = time.perf_counter() - began
    room.off("participant_permissions_changed", on_permissions)
    await room.local_participant.unpublish_track(publication.sid)
    await source.aclose()
    await lk.room.update_participant(
        api.UpdateParticipantRequest(
            room=livekit_room,
            identity=room.local_participant.identity,
            permission=_permission(False),
        )
    )
    await asyncio.sleep(0.1)  # let the revocation land before the next round
    return took * 1e3


async def _raw_room(stack: LocalStack) -> rtc.Room:
    async with aiohttp.ClientSession() as http, http.post(
        stack.base_url + "/api/v1/token",
        json={"identity": "raw-listener", "room_name": ROOM, "type": "audio_room"},
        headers=stack.engine.app_headers,
    ) as answer:
        token = await answer.json()
    room = rtc.Room()
    await room.connect(token["url"], token["token"], rtc.RoomOptions(auto_subscribe=False))
    return room


async def measure(stack: LocalStack, rounds: int) -> bool:
    client = UTDStreamClient(stack.app_id, stack.app_key, stack.base_url)
    host = await client.join_audio_room("host", ROOM, as_host=True, seat_count=8)
    listener = await client.join_audio_room("sdk-listener", ROOM)
    raw_room = await _raw_room(stack)
    livekit_room = f"{stack.app_id}__{ROOM}"
    sdk: list[float] = []
    raw: list[float] = []
    async with api.LiveKitAPI(
        stack.livekit.http_url, stack.livekit.api_key, stack.livekit.api_secret
    ) as lk:
        await _sdk_round(listener, 1)  # warm-up
        await _raw_round(lk, raw_room, livekit_room)
        for n in range(rounds):
            if n % 2:
                raw.append(await _raw_round(lk, raw_room, livekit_room))
                sdk.append(await _sdk_round(listener, 1 + n % 7))
            else:
                sdk.append(await _sdk_round(listener, 1 + n % 7))
                raw.append(await _raw_round(lk, raw_room, livekit_room))
    await raw_room.disconnect()
    await host.aclose()
    await listener.aclose()
    await client.aclose()
    return report("seat to sound", "ms", sdk, raw, 1.20)


def main() -> int:
    args = parser(__doc__.splitlines()[0], rounds=30).parse_args()
    with LocalStack(engine_args=["--rate-limit", "0"]) as stack:
        ok = asyncio.run(measure(stack, 4 if args.quick else args.rounds))
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
