"""Seat to ear: a listener takes a seat and another listener in the audio room hears the new
speaker's tone. The SDK path and the hand-wired one share the room, one round at a time."""

from __future__ import annotations

import asyncio

import aiohttp
import attrs
from _mouth_probe import first_tone, raw_track, session_track, tone_of_round
from _mouth_raw import RawMember, join_raw, permission_changed, publish, step_down
from _mouth_steps import Steps, watch_session
from livekit import rtc

from utd_stream_rx import UTDAudioRoomSession, UTDStreamClient, media
from utd_stream_rx.testing import LocalStack

ROOM = "bench-mouth-seat"
ARRIVAL_TIMEOUT = 15.0  # seconds; a tone that never comes fails the round instead of hanging
SETTLE = 0.25  # seconds after a seat is left, so the unpublish reaches every listener


def _is_false(value: bool) -> bool:
    return not value


@attrs.frozen
class SeatRig:
    """Everyone in the audio room: the SDK's host, speaker and listener, and the raw ones."""

    host: UTDAudioRoomSession
    speaker: UTDAudioRoomSession
    listener: UTDAudioRoomSession
    raw_speaker: RawMember
    raw_listener: RawMember
    seats_url: str

    @classmethod
    async def open(
        cls, stack: LocalStack, client: UTDStreamClient, http: aiohttp.ClientSession
    ) -> SeatRig:
        """Join everyone; the raw speaker subscribes to nothing, as it only speaks."""
        host = await client.join_audio_room("host", ROOM, as_host=True, seat_count=8)
        speaker = await client.join_audio_room("sdk-speaker", ROOM)
        listener = await client.join_audio_room("sdk-listener", ROOM)
        raw_speaker = await join_raw(
            stack, http, "raw-speaker", ROOM, "audio_room", auto_subscribe=False
        )
        raw_listener = await join_raw(
            stack, http, "raw-listener", ROOM, "audio_room", auto_subscribe=True
        )
        seats_url = f"{stack.base_url}/api/v1/audio-rooms/{ROOM}/seats"
        return cls(host, speaker, listener, raw_speaker, raw_listener, seats_url)

    async def aclose(self) -> None:
        """Leave the room, raw members first."""
        for member in (self.raw_speaker, self.raw_listener):
            await member.room.disconnect()
        for session in (self.speaker, self.listener, self.host):
            await session.aclose()


async def sdk_round(rig: SeatRig, n: int) -> Steps:
    """``take_seat`` until the SDK listener hears this round's tone."""
    frequency = tone_of_round(n, 0)
    rig.speaker.audio_source = media.tone(frequency)
    assert rig.speaker.identity is not None
    steps = Steps()
    track = session_track(rig.listener, rig.speaker.identity, "audio", steps)
    heard = asyncio.ensure_future(first_tone(track, frequency, steps))
    watching = watch_session(rig.speaker, steps, "audio", answers=True)
    steps.start()
    try:
        await rig.speaker.take_seat(1 + n % 7)
        steps.stamp("command returned")
        await asyncio.wait_for(heard, ARRIVAL_TIMEOUT)
    finally:  # a round that failed still leaves the seat, so the next one starts clean
        for pending in (heard, track):
            pending.cancel()
        watching.dispose()
        await rig.speaker.leave_seat()
        await rig.speaker.can_publish.wait_for(_is_false, timeout=10)
        await asyncio.sleep(SETTLE)
    return steps


async def raw_round(rig: SeatRig, n: int) -> Steps:
    """``POST .../seats/take``, the permission event, a tone track made beforehand published,
    until the raw listener hears it."""
    frequency = tone_of_round(n, 1)
    speaker = rig.raw_speaker
    granted = permission_changed(speaker.room, True)
    source = await media.start_audio(media.tone(frequency))  # made before the clock starts
    steps = Steps()
    track = raw_track(rig.raw_listener.room, speaker.identity, "audio", steps)
    heard = asyncio.ensure_future(first_tone(track, frequency, steps))
    steps.start()
    try:
        await speaker.caller.post(f"{rig.seats_url}/take", {"seat_index": 1 + n % 7})
        steps.stamp("engine answered")
        await asyncio.wait_for(granted, ARRIVAL_TIMEOUT)
        steps.stamp("permission event")
        await publish(speaker.room, source.track, rtc.TrackSource.SOURCE_MICROPHONE)
        steps.stamp("published")
        steps.stamp("command returned")
        await asyncio.wait_for(heard, ARRIVAL_TIMEOUT)
    finally:  # a round that failed still leaves the seat, so the next one starts clean
        for pending in (heard, track, granted):
            pending.cancel()
        await step_down(speaker, [source], speaker.caller, f"{rig.seats_url}/leave", {})
        await asyncio.sleep(SETTLE)
    return steps
