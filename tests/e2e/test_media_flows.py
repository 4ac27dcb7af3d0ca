"""Real audio crosses a real livekit-server, and publishing is gated by server-side permission.

No mocks: two ``livekit.rtc`` participants, tokens from ``livekit-api``, a synthetic tone, and
an FFT of what the subscriber actually received.
"""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pytest
from livekit import api, rtc

from tests._support.raw_rooms import audio_track_of, connect_raw
from utd_stream_rx import media
from utd_stream_rx.testing import LiveKitServer

pytestmark = pytest.mark.e2e


async def test_tone_crosses_the_sfu(utd_livekit_server: LiveKitServer) -> None:
    room_name = f"tone-{uuid.uuid4().hex[:8]}"
    speaker = await connect_raw(utd_livekit_server, room_name, "speaker", can_publish=True)
    listener = await connect_raw(utd_livekit_server, room_name, "listener", can_publish=False)
    source = await media.start_audio(media.tone(440.0, 0.4))
    try:
        arrived = audio_track_of(listener)
        await speaker.local_participant.publish_track(
            source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        track = await asyncio.wait_for(arrived, 15)
        stats = await media.collect_audio(track, seconds=1.0)
    finally:
        await source.aclose()
        await listener.disconnect()
        await speaker.disconnect()

    assert stats.samples == 48_000
    assert stats.rms > 0.05, f"the received audio is near-silent: {stats}"
    assert abs(stats.dominant_hz - 440.0) < 10.0, f"expected a 440 Hz tone, got {stats}"


async def test_silence_arrives_as_silence(utd_livekit_server: LiveKitServer) -> None:
    """The analysis can fail: a silent track does not pass for a tone."""
    room_name = f"silence-{uuid.uuid4().hex[:8]}"
    speaker = await connect_raw(utd_livekit_server, room_name, "speaker", can_publish=True)
    listener = await connect_raw(utd_livekit_server, room_name, "listener", can_publish=False)
    source = await media.start_audio(media.silence())
    try:
        arrived = audio_track_of(listener)
        await speaker.local_participant.publish_track(
            source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        track = await asyncio.wait_for(arrived, 15)
        stats = await media.collect_audio(track, seconds=0.5)
    finally:
        await source.aclose()
        await listener.disconnect()
        await speaker.disconnect()
    assert stats.rms < 0.01


async def test_publish_refused_without_permission_then_granted(
    utd_livekit_server: LiveKitServer, utd_livekit_api: api.LiveKitAPI
) -> None:
    room_name = f"grant-{uuid.uuid4().hex[:8]}"
    audience = await connect_raw(utd_livekit_server, room_name, "audience", can_publish=False)
    observer = await connect_raw(utd_livekit_server, room_name, "observer", can_publish=False)
    source = await media.start_audio(media.tone(660.0))
    loop = asyncio.get_running_loop()
    local_grant: asyncio.Future[bool] = loop.create_future()
    seen_by_observer: asyncio.Future[bool] = loop.create_future()

    def on_permissions(participant: rtc.Participant, new: object) -> None:
        target = (
            local_grant if participant.identity == audience.local_participant.identity else None
        )
        if isinstance(participant, rtc.RemoteParticipant):
            target = seen_by_observer
        if target is not None and not target.done() and getattr(new, "can_publish", False):
            target.set_result(True)

    audience.on("participant_permissions_changed", on_permissions)
    observer.on("participant_permissions_changed", on_permissions)
    try:
        assert audience.local_participant.permissions.can_publish is False
        with pytest.raises(Exception) as refused:
            await asyncio.wait_for(
                audience.local_participant.publish_track(
                    source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
                ),
                15,
            )
        assert not isinstance(refused.value, asyncio.TimeoutError)

        # The server-side grant: the full permission replaces the old one.
        await utd_livekit_api.room.update_participant(
            api.UpdateParticipantRequest(
                room=room_name,
                identity="audience",
                permission=api.ParticipantPermission(
                    can_subscribe=True,
                    can_publish=True,
                    can_publish_data=True,
                    can_publish_sources=[api.TrackSource.MICROPHONE],
                ),
            )
        )
        assert await asyncio.wait_for(local_grant, 10)
        assert await asyncio.wait_for(seen_by_observer, 10)
        assert audience.local_participant.permissions.can_publish is True

        arrived = audio_track_of(observer)
        await audience.local_participant.publish_track(
            source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        track = await asyncio.wait_for(arrived, 15)
        stats = await media.collect_audio(track, seconds=0.5)
        assert abs(stats.dominant_hz - 660.0) < 15.0, stats
    finally:
        await source.aclose()
        await observer.disconnect()
        await audience.disconnect()


def _wait_for_video_track(room: rtc.Room) -> asyncio.Future[rtc.Track]:
    future: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    def on_subscribed(track: rtc.Track, *_: object) -> None:
        if track.kind == rtc.TrackKind.KIND_VIDEO and not future.done():
            future.set_result(track)

    room.on("track_subscribed", on_subscribed)
    return future


async def test_frames_from_user_code_cross_the_sfu(utd_livekit_server: LiveKitServer) -> None:
    """A camera stand-in: frames produced by a callback arrive with their content."""
    width, height = 160, 120
    red = np.zeros((height, width, 4), dtype=np.uint8)
    red[:, :, 0], red[:, :, 3] = 220, 255
    produced: list[int] = []

    def produce(index: int) -> np.ndarray:
        produced.append(index)
        return red

    room_name = f"frames-{uuid.uuid4().hex[:8]}"
    camera = await connect_raw(utd_livekit_server, room_name, "camera", can_publish=True)
    viewer = await connect_raw(utd_livekit_server, room_name, "viewer", can_publish=False)
    source = await media.start_video(media.video_frames(produce, width, height, fps=15))
    try:
        arrived = _wait_for_video_track(viewer)
        await camera.local_participant.publish_track(
            source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA)
        )
        stats = await media.collect_video(await asyncio.wait_for(arrived, 15), frames=5)
    finally:
        await source.aclose()
        await viewer.disconnect()
        await camera.disconnect()

    assert stats.frames == 5 and (stats.width, stats.height) == (width, height), stats
    r, g, b = stats.mean_rgb
    assert r > 150 and g < 80 and b < 80, f"expected red frames, got {stats}"
    assert produced[:3] == [0, 1, 2]


def test_video_frames_rejects_a_non_callable() -> None:
    with pytest.raises(TypeError):
        media.video_frames("not a callable")  # type: ignore[arg-type]
