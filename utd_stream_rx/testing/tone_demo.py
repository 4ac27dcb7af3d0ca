"""Two raw LiveKit participants on the local server: one plays a tone, the other measures it.

This is the bottom layer everything else stands on: a real SFU forwarding real Opus audio.
"""

from __future__ import annotations

import asyncio

from livekit import api, rtc

from .. import media
from .livekit_server import LiveKitServer


def _token(server: LiveKitServer, room: str, identity: str, can_publish: bool) -> str:
    grants = api.VideoGrants(room_join=True, room=room, can_subscribe=True, can_publish=can_publish)
    return (
        api.AccessToken(server.api_key, server.api_secret)
        .with_identity(identity)
        .with_grants(grants)
        .to_jwt()
    )


async def run_tone_demo(server: LiveKitServer, seconds: float = 2.0) -> media.AudioStats:
    """Publish a 440 Hz tone from ``alice`` and report what ``bob`` received."""
    options = rtc.RoomOptions(auto_subscribe=True, connect_timeout=10)
    alice, bob = rtc.Room(), rtc.Room()
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[rtc.Track] = loop.create_future()

    def on_track(track: rtc.Track, *_: object) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO and not arrived.done():
            arrived.set_result(track)

    bob.on("track_subscribed", on_track)
    source = await media.start_audio(media.tone(440.0, 0.4))
    try:
        await alice.connect(server.url, _token(server, "tone-demo", "alice", True), options)
        print("  alice: connected, publishing a 440 Hz tone")
        await bob.connect(server.url, _token(server, "tone-demo", "bob", False), options)
        print("  bob:   connected as a listener (no publish grant)")
        await alice.local_participant.publish_track(
            source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        track = await asyncio.wait_for(arrived, 15)
        print("  bob:   subscribed to alice's microphone track")
        stats = await media.collect_audio(track, seconds=seconds)
        print(
            f"  bob:   heard {stats.samples / stats.sample_rate:.1f}s of audio, "
            f"level {stats.rms:.3f} RMS, dominant frequency {stats.dominant_hz:.1f} Hz"
        )
        return stats
    finally:
        await source.aclose()
        await bob.disconnect()
        await alice.disconnect()
