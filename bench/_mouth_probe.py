"""What a receiver notices first: a track arriving, then the new speaker's tone or the new
co-host's colour in the frames it decodes.

Each round plays its own tone frequency (or shows its own solid colour), so a frame left over
from an earlier round cannot count as this round's arrival.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import reactivex
from _mouth_steps import Kind, Steps
from livekit import rtc
from reactivex import operators as ops

from utd_stream_rx import UTDSession, media
from utd_stream_rx.state.events import Event, TrackPublished, TrackSubscribed

SAMPLE_RATE = 48_000
TONE_WINDOW = 960  # 20 ms of samples: 50 Hz bins, well inside the tones' 150 Hz spacing
TONE_TOLERANCE_HZ = 60.0
TONE_MIN_RMS = 0.02  # the tones play at 0.3 of full scale; silence and comfort noise stay below
COLOUR_TOLERANCE = 45.0  # per channel, 0-255: coding blurs a solid colour a little
VIDEO_SIZE = (320, 240)
VIDEO_FPS = 30.0  # a frame every 33 ms: the wait for the next captured frame stays small

_COLOURS = (
    (220, 40, 40), (40, 200, 60), (40, 70, 230), (230, 210, 40), (210, 50, 210), (40, 210, 210),
)
_KINDS = {"audio": rtc.TrackKind.KIND_AUDIO, "video": rtc.TrackKind.KIND_VIDEO}


def tone_of_round(n: int, path: int) -> float:
    """The tone of round ``n`` of path ``path`` (0 or 1): never the previous round's."""
    return 500.0 + 150.0 * ((2 * n + path) % 20)


def colour_of_round(n: int, path: int) -> tuple[int, int, int]:
    """The solid colour of round ``n`` of path ``path``: never the previous round's."""
    return _COLOURS[(2 * n + path) % len(_COLOURS)]


def solid_video(colour: tuple[int, int, int]) -> media.VideoSourceSpec:
    """A camera showing nothing but ``colour``."""
    width, height = VIDEO_SIZE
    rgba = np.empty((height, width, 4), dtype=np.uint8)
    rgba[:, :, :3] = colour
    rgba[:, :, 3] = 255

    def produce(_: int) -> np.ndarray:
        return rgba

    return media.video_frames(produce, width, height, VIDEO_FPS)


def raw_track(
    room: rtc.Room, identity: str, kind: Kind, steps: Steps
) -> asyncio.Future[rtc.Track]:
    """The next ``kind`` track of ``identity`` that ``room`` subscribes to; stamps when the
    room is told of it and when it is subscribed."""
    found: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    def on_published(publication: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant) -> None:
        if who.identity == identity and publication.kind == _KINDS[kind]:
            steps.stamp("receiver told")

    def on_subscribed(
        track: rtc.Track, _: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant
    ) -> None:
        if who.identity == identity and track.kind == _KINDS[kind] and not found.done():
            steps.stamp("receiver subscribed")
            found.set_result(track)

    def stop_watching(_: object) -> None:
        room.off("track_published", on_published)
        room.off("track_subscribed", on_subscribed)

    room.on("track_published", on_published)
    room.on("track_subscribed", on_subscribed)
    found.add_done_callback(stop_watching)
    return found


def session_track(
    session: UTDSession, identity: str, kind: Kind, steps: Steps
) -> asyncio.Future[rtc.Track]:
    """The next ``kind`` track of ``identity`` the session reports subscribed (its events);
    stamps when the session is told of it and when it is subscribed."""
    found: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    def is_wanted(event: Event) -> bool:
        return (
            isinstance(event, TrackPublished | TrackSubscribed)
            and event.identity == identity
            and event.track.kind == kind
        )

    def on_track(event: Event) -> None:
        if isinstance(event, TrackPublished):
            steps.stamp("receiver told")
            return
        assert isinstance(event, TrackSubscribed)
        steps.stamp("receiver subscribed")
        room = session.room.rtc_room
        participant = room.remote_participants.get(identity) if room is not None else None
        publication = participant.track_publications.get(event.track.sid) if participant else None
        if publication is not None and publication.track is not None and not found.done():
            found.set_result(publication.track)

    wanted: reactivex.Observable[Event] = session.events.pipe(ops.filter(is_wanted))
    subscription = wanted.subscribe(on_track)
    found.add_done_callback(lambda _: subscription.dispose())
    return found


def _is_tone(window: np.ndarray, frequency: float) -> bool:
    if media.rms(window) < TONE_MIN_RMS:
        return False
    return abs(media.dominant_frequency(window, SAMPLE_RATE) - frequency) <= TONE_TOLERANCE_HZ


async def first_tone(track: asyncio.Future[rtc.Track], frequency: float, steps: Steps) -> None:
    """Wait for the track, then read its audio until a 20 ms window holds ``frequency``;
    stamps the first decoded frame and the tone's arrival."""
    stream = rtc.AudioStream(await track, sample_rate=SAMPLE_RATE, num_channels=1)
    window = np.zeros(0, dtype=np.int16)
    try:
        async for event in stream:
            now = time.perf_counter()
            steps.stamp("first frame", now)
            samples = np.frombuffer(event.frame.data, dtype=np.int16)
            window = np.concatenate((window, samples))[-TONE_WINDOW:]
            if window.size == TONE_WINDOW and _is_tone(window, frequency):
                steps.stamp("arrived", now)
                return
    finally:
        await stream.aclose()
    raise RuntimeError("the audio stream ended before the tone arrived")


def _mean_rgb(frame: rtc.VideoFrame) -> np.ndarray:
    pixels = np.frombuffer(bytes(frame.data), dtype=np.uint8).reshape(-1, 4)
    mean: np.ndarray = pixels[::61, :3].mean(axis=0)  # a spread-out sample is plenty
    return mean


async def first_colour(
    track: asyncio.Future[rtc.Track], colour: tuple[int, int, int], steps: Steps
) -> None:
    """Wait for the track, then read its video until a frame shows ``colour``; stamps the
    first decoded frame and the colour's arrival."""
    stream = rtc.VideoStream(await track, format=rtc.VideoBufferType.RGBA)
    wanted = np.array(colour, dtype=np.float64)
    try:
        async for event in stream:
            now = time.perf_counter()
            steps.stamp("first frame", now)
            if np.all(np.abs(_mean_rgb(event.frame) - wanted) <= COLOUR_TOLERANCE):
                steps.stamp("arrived", now)
                return
    finally:
        await stream.aclose()
    raise RuntimeError("the video stream ended before the colour arrived")
