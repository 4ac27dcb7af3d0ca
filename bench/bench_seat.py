"""Seat to sound: ``take_seat`` until the microphone is published, against two raw paths.

The SDK path asks the engine for the seat, the engine grants through LiveKit, the session sees
the grant as a room event and publishes. Two hand-written baselines, each run in alternation
with the SDK path:

- server key: what an app could write holding LiveKit's API secret: grant publishing with
  ``RoomService.UpdateParticipant``, wait for LiveKit to confirm the new permission, then
  ``publish_track`` a track created before the clock starts. It skips the engine (its room is
  one the engine does not manage, which would otherwise take back a grant it never made), so
  this ratio includes the engine's hop (HTTP, bearer check, SQLite, its own LiveKit calls).
  Target: at most 1.20x.
- hand-wired REST: what a client app without the secret writes by hand: ``POST`` the same
  engine endpoint with aiohttp, wait for ``rtc.Room``'s permission event, then publish a track
  created before the clock starts. This ratio is the SDK's own cost. Target: at most 1.20x.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable

import aiohttp
import attrs
from _common import parser, report
from _mouth_raw import permission_changed
from livekit import api, rtc

from utd_stream_rx import UTDAudioRoomSession, UTDStreamClient, media
from utd_stream_rx.testing import LocalStack

ROOM = "bench-seat"
KEYED_ROOM = "bench-seat-keyed"  # no "<app_id>__" prefix: not an engine room
GRANT_TIMEOUT = 10.0  # seconds; a grant that never comes fails the round instead of hanging


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
    await asyncio.wait_for(granted, GRANT_TIMEOUT)
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


@attrs.frozen
class _RestListener:
    """A raw ``rtc.Room`` in the audio room plus what it needs to call the engine by hand."""

    room: rtc.Room
    http: aiohttp.ClientSession
    seats_url: str
    headers: dict[str, str]


async def _rest_round(listener: _RestListener, seat: int) -> float:
    room = listener.room
    granted = permission_changed(room, True)
    source = await media.start_audio(media.tone(500.0))  # made before the clock starts
    began = time.perf_counter()
    async with listener.http.post(
        f"{listener.seats_url}/take", json={"seat_index": seat}, headers=listener.headers
    ) as answer:
        await answer.read()
        answer.raise_for_status()
    await asyncio.wait_for(granted, GRANT_TIMEOUT)
    publication = await room.local_participant.publish_track(
        source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    took = time.perf_counter() - began
    revoked = permission_changed(room, False)
    await room.local_participant.unpublish_track(publication.sid)
    await source.aclose()
    async with listener.http.post(
        f"{listener.seats_url}/leave", headers=listener.headers
    ) as answer:
        answer.raise_for_status()
    await asyncio.wait_for(revoked, 10)
    await asyncio.sleep(0.1)  # as in the other rounds
    return took * 1e3


async def _raw_room(stack: LocalStack, http: aiohttp.ClientSession, identity: str) -> _RestListener:
    async with http.post(
        stack.base_url + "/api/v1/token",
        json={"identity": identity, "room_name": ROOM, "type": "audio_room"},
        headers=stack.engine.app_headers,
    ) as answer:
        token = await answer.json()
    room = rtc.Room()
    await room.connect(token["url"], token["token"], rtc.RoomOptions(auto_subscribe=False))
    headers = dict(stack.engine.app_headers, Authorization=f"Bearer {token['user_token']}")
    return _RestListener(room, http, f"{stack.base_url}/api/v1/audio-rooms/{ROOM}/seats", headers)


async def _keyed_room(stack: LocalStack, identity: str) -> rtc.Room:
    """A listener the server key alone admits, in a LiveKit room the engine does not manage."""
    token = (
        api.AccessToken(stack.livekit.api_key, stack.livekit.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=KEYED_ROOM, can_publish=False))
        .to_jwt()
    )
    room = rtc.Room()
    await room.connect(stack.livekit.url, token, rtc.RoomOptions(auto_subscribe=False))
    return room


async def measure(stack: LocalStack, rounds: int) -> bool:
    client = UTDStreamClient(stack.app_id, stack.app_key, stack.base_url)
    # The host sets the grid up and goes: on another device in real use, its events would
    # otherwise be handled in this process on the SDK's side only.
    host = await client.join_audio_room("host", ROOM, as_host=True, seat_count=8)
    await host.aclose()
    listener = await client.join_audio_room("sdk-listener", ROOM)
    http = aiohttp.ClientSession()
    keyed = await _keyed_room(stack, "raw-listener")
    # Each room holds two participants of this process, so that every grant's events cost
    # the same here on both sides: the SDK room its two listeners, the keyed room a peer.
    keyed_peer = await _keyed_room(stack, "raw-peer")
    hand_wired = await _raw_room(stack, http, "rest-listener")
    livekit_room = KEYED_ROOM
    sdk_vs_key: list[float] = []
    key: list[float] = []
    sdk_vs_rest: list[float] = []
    rest: list[float] = []
    async with api.LiveKitAPI(
        stack.livekit.http_url, stack.livekit.api_key, stack.livekit.api_secret
    ) as lk:
        await _sdk_round(listener, 1)  # warm-up
        await _raw_round(lk, keyed, livekit_room)
        await _rest_round(hand_wired, 1)
        for n in range(rounds):
            seat = 1 + n % 7
            pairs: list[tuple[list[float], Callable[[], Awaitable[float]]]] = [
                (sdk_vs_key, functools.partial(_sdk_round, listener, seat)),
                (key, functools.partial(_raw_round, lk, keyed, livekit_room)),
                (sdk_vs_rest, functools.partial(_sdk_round, listener, seat)),
                (rest, functools.partial(_rest_round, hand_wired, seat)),
            ]
            if n % 2:  # alternate which half of each pair goes first
                pairs[0], pairs[1] = pairs[1], pairs[0]
                pairs[2], pairs[3] = pairs[3], pairs[2]
            for samples, round_ in pairs:
                samples.append(await round_())
    for raw_room in (keyed, keyed_peer, hand_wired.room):
        await raw_room.disconnect()
    await http.close()
    await listener.aclose()
    await client.aclose()
    ok = report("seat to sound (vs server key)", "ms", sdk_vs_key, key, 1.20)
    return report("seat to sound (vs hand-wired REST)", "ms", sdk_vs_rest, rest, 1.20) and ok


def main() -> int:
    args = parser(__doc__.splitlines()[0], rounds=30).parse_args()
    with LocalStack(engine_args=["--rate-limit", "0"]) as stack:
        ok = asyncio.run(measure(stack, 4 if args.quick else args.rounds))
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
