"""Media sources and sinks: synthetic audio and video where no device exists, plus analysis.

A session publishes from an :class:`AudioSourceSpec` / :class:`VideoSourceSpec` the caller
chooses. On a machine without devices (CI, servers, notebooks) the default is a quiet 440 Hz
tone and a moving test pattern, so a call is audibly and visibly alive with no hardware. A real
microphone is available through LiveKit's device helpers (:func:`microphone`; install the
``devices`` extra and PortAudio).

The receiving side reads real frames (:func:`collect_audio`, :func:`collect_video`) and can
check what arrived (:func:`dominant_frequency`, :func:`rms`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs
import numpy as np
from livekit import rtc

from .errors import ErrorCode, UTDStreamException

__all__ = [
    "AudioSourceSpec",
    "AudioStats",
    "PublishedMedia",
    "VideoSourceSpec",
    "VideoStats",
    "collect_audio",
    "collect_video",
    "dominant_frequency",
    "microphone",
    "rms",
    "silence",
    "start_audio",
    "start_video",
    "test_pattern",
    "tone",
    "video_frames",
    "wav_file",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
"""Sample rate of synthetic audio (Hz); LiveKit's native rate, so nothing is resampled."""

# Synthetic audio is fed in 50 ms chunks: each chunk is one round trip through the event loop,
# and 10 ms chunks (100 a second per source) flooded it when a process ran several sources, so
# sources fell behind real time and listeners heard gaps. LiveKit re-frames audio for encoding.
_FRAME_MS = 50


@attrs.frozen
class AudioSourceSpec:
    """What to play into a published microphone track.

    Build one with :func:`tone`, :func:`silence` or :func:`wav_file`.
    """

    kind: str
    frequency: float = 440.0
    amplitude: float = 0.3
    path: Path | None = None
    loop: bool = True


FrameProducer = Callable[[int], "np.ndarray | None"]
"""Makes frame ``n`` as an RGBA ``uint8`` array of shape ``(height, width, 4)``; ``None`` skips."""


@attrs.frozen
class VideoSourceSpec:
    """What to show on a published camera track: a moving test pattern, or frames your code
    produces (see :func:`video_frames`)."""

    width: int = 320
    height: int = 240
    fps: float = 15.0
    color: tuple[int, int, int] = (40, 160, 220)
    produce: FrameProducer | None = None


def tone(frequency: float = 440.0, amplitude: float = 0.3) -> AudioSourceSpec:
    """A continuous sine tone (default 440 Hz at 30 % of full scale)."""
    if not 20.0 <= frequency <= SAMPLE_RATE / 2:
        raise ValueError(f"frequency must be between 20 and {SAMPLE_RATE // 2} Hz")
    if not 0.0 <= amplitude <= 1.0:
        raise ValueError("amplitude must be between 0 and 1")
    return AudioSourceSpec("tone", frequency=frequency, amplitude=amplitude)


def silence() -> AudioSourceSpec:
    """Digital silence: a published track that carries no sound."""
    return AudioSourceSpec("silence", amplitude=0.0)


def microphone(device: int | None = None) -> AudioSourceSpec:
    """The machine's real microphone (or input ``device``) through LiveKit's device helpers.

    Needs the ``devices`` extra (``sounddevice``) and PortAudio; on a headless machine opening
    it fails with ``UTDStreamException(code=ErrorCode.NO_DEVICE)``, so pick :func:`tone` there.
    """
    return AudioSourceSpec("device", frequency=float(device if device is not None else -1))


def wav_file(path: str | Path, *, loop: bool = True) -> AudioSourceSpec:
    """A 16-bit PCM WAV file (mono or stereo, any rate), looped by default."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no such WAV file: {p}")
    return AudioSourceSpec("wav", path=p, loop=loop)


def test_pattern(
    width: int = 320,
    height: int = 240,
    fps: float = 15.0,
    color: tuple[int, int, int] = (40, 160, 220),
) -> VideoSourceSpec:
    """A generated video: a bar of ``color`` sweeping across a dark background."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError("width and height must be positive even numbers")
    if not 0 < fps <= 60:
        raise ValueError("fps must be in (0, 60]")
    return VideoSourceSpec(width, height, fps, color)


def video_frames(
    produce: FrameProducer, width: int = 640, height: int = 480, fps: float = 15.0
) -> VideoSourceSpec:
    """Frames from your own code: a real camera (OpenCV, PyAV, picamera ...) or a renderer.

    The livekit package's device helpers cover audio only, so a camera comes in this way.
    ``produce(n)`` is called ``fps`` times a second on the event loop and must return quickly
    an RGBA ``uint8`` array of shape ``(height, width, 4)``, or ``None`` to skip a frame.
    """
    if not callable(produce):
        raise TypeError("produce must be a callable taking the frame index")
    return attrs.evolve(test_pattern(width, height, fps), produce=produce)


class PublishedMedia:
    """A running synthetic source: its LiveKit track and the task feeding it frames.

    :meth:`aclose` stops the feeding task and releases the native source.
    """

    def __init__(
        self,
        track: rtc.LocalAudioTrack | rtc.LocalVideoTrack,
        feeder: Callable[[], Awaitable[None]],
        close_source: Callable[[], Awaitable[None]],
    ) -> None:
        self.track = track
        self._close_source = close_source
        self._task: asyncio.Task[None] = asyncio.create_task(self._run(feeder))

    async def _run(self, feeder: Callable[[], Awaitable[None]]) -> None:
        try:
            await feeder()
        except asyncio.CancelledError:
            raise
        except Exception:  # a dead feeder must not take the session down
            log.exception("media source stopped unexpectedly")

    async def aclose(self) -> None:
        """Stop producing frames and release the source. Safe to call twice."""
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self._close_source()


def _sine_frames(spec: AudioSourceSpec) -> Callable[[int], np.ndarray]:
    samples = SAMPLE_RATE * _FRAME_MS // 1000
    step = 2.0 * math.pi * spec.frequency / SAMPLE_RATE
    state = {"phase": 0.0}

    def next_frame(_: int) -> np.ndarray:
        phases = state["phase"] + step * np.arange(samples)
        state["phase"] = float((phases[-1] + step) % (2.0 * math.pi))
        pcm: np.ndarray = (np.sin(phases) * spec.amplitude * 32767).astype(np.int16)
        return pcm

    return next_frame


def _wav_frames(path: Path, loop: bool) -> tuple[int, int, Callable[[int], np.ndarray | None]]:
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV files are supported")
        rate, channels = wav.getframerate(), wav.getnchannels()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    samples = rate * _FRAME_MS // 1000
    total = len(pcm) // channels
    if total == 0:
        raise ValueError(f"{path}: the file holds no audio")

    def next_frame(index: int) -> np.ndarray | None:
        start = (index * samples) % total if loop else index * samples
        if start + samples > total and not loop:
            return None
        idx = (start + np.arange(samples)) % total
        return pcm.reshape(-1, channels)[idx].reshape(-1)

    return rate, channels, next_frame


async def start_audio(spec: AudioSourceSpec, name: str = "microphone") -> PublishedMedia:
    """Create a local audio track fed in real time from ``spec`` (call on the event loop)."""
    if spec.kind == "device":
        return _start_device_audio(spec, name)
    rate, channels = SAMPLE_RATE, 1
    frame_fn: Callable[[int], np.ndarray | None]
    if spec.kind == "wav":
        assert spec.path is not None
        # The whole file is read and decoded at once: off the loop, which keeps running.
        rate, channels, frame_fn = await asyncio.to_thread(_wav_frames, spec.path, spec.loop)
    elif spec.kind == "tone":
        frame_fn = _sine_frames(spec)
    else:
        zeros = np.zeros(SAMPLE_RATE * _FRAME_MS // 1000, dtype=np.int16)

        def frame_fn(_: int) -> np.ndarray:
            return zeros

    source = rtc.AudioSource(rate, channels, queue_size_ms=200)
    track = rtc.LocalAudioTrack.create_audio_track(name, source)
    per_channel = rate * _FRAME_MS // 1000

    async def feed() -> None:
        index = 0
        while True:
            pcm = frame_fn(index)
            if pcm is None:
                return
            frame = rtc.AudioFrame(pcm.tobytes(), rate, channels, per_channel)
            await source.capture_frame(frame)  # paces itself: blocks while the queue is full
            index += 1

    return PublishedMedia(track, feed, source.aclose)


def _start_device_audio(spec: AudioSourceSpec, name: str) -> PublishedMedia:
    try:
        devices = rtc.MediaDevices()
        device = int(spec.frequency) if spec.frequency >= 0 else None
        capture = devices.open_input(input_device=device)
    except Exception as exc:  # ImportError without sounddevice, PortAudioError headless
        raise UTDStreamException(
            f"no usable microphone ({exc}); use media.tone() or media.wav_file() instead",
            code=ErrorCode.NO_DEVICE,
        ) from exc
    track = rtc.LocalAudioTrack.create_audio_track(name, capture.source)

    async def idle() -> None:
        await asyncio.Event().wait()  # the device helper runs its own capture task

    return PublishedMedia(track, idle, capture.aclose)


async def start_video(spec: VideoSourceSpec, name: str = "camera") -> PublishedMedia:
    """Create a local video track fed at ``spec.fps`` with the test pattern or ``spec.produce``."""
    source = rtc.VideoSource(spec.width, spec.height)
    track = rtc.LocalVideoTrack.create_video_track(name, source)
    background = np.full((spec.height, spec.width, 4), 24, dtype=np.uint8)
    background[:, :, 3] = 255
    bar_width = max(2, spec.width // 8)

    def _pattern(index: int) -> np.ndarray:
        rgba = background.copy()
        x = (index * 4) % spec.width
        rgba[:, x : x + bar_width, 0:3] = spec.color
        return rgba

    async def feed() -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / spec.fps
        next_at = loop.time()
        index = 0
        while True:
            rgba = _pattern(index) if spec.produce is None else spec.produce(index)
            if rgba is not None:
                if rgba.shape != (spec.height, spec.width, 4) or rgba.dtype != np.uint8:
                    raise ValueError(
                        f"frame {index} must be uint8 of shape ({spec.height}, {spec.width}, 4),"
                        f" got {rgba.dtype} {rgba.shape}"
                    )
                frame = rtc.VideoFrame(
                    spec.width, spec.height, rtc.VideoBufferType.RGBA, rgba.tobytes()
                )
                source.capture_frame(frame, timestamp_us=int(index * interval * 1_000_000))
            index += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    return PublishedMedia(track, feed, source.aclose)


@attrs.frozen
class AudioStats:
    """What a receiver heard: sample count, loudness and dominant frequency."""

    samples: int
    sample_rate: int
    rms: float
    dominant_hz: float


@attrs.frozen
class VideoStats:
    """What a receiver saw: number of frames, the size of the last one and its mean colour
    (``(r, g, b)`` in 0-255; video coding blurs colours a little, never swaps them)."""

    frames: int
    width: int
    height: int
    mean_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)


def rms(samples: np.ndarray) -> float:
    """Root mean square of int16 samples, as a fraction of full scale (0..1)."""
    if samples.size == 0:
        return 0.0
    as_float = samples.astype(np.float64) / 32768.0
    return float(np.sqrt(np.mean(as_float * as_float)))


def dominant_frequency(samples: np.ndarray, sample_rate: int) -> float:
    """The frequency (Hz) with the most energy in ``samples`` (0.0 for silence)."""
    if samples.size < 2 or not np.any(samples):
        return 0.0
    windowed = samples.astype(np.float64) * np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(windowed))
    spectrum[0] = 0.0  # ignore DC
    peak = int(np.argmax(spectrum))
    return float(peak * sample_rate / samples.size)


async def collect_audio(
    track: rtc.Track, seconds: float = 1.0, *, skip_seconds: float = 0.3, timeout: float = 10.0
) -> AudioStats:
    """Read ``seconds`` of real audio frames from a subscribed remote track and measure them.

    The first ``skip_seconds`` are dropped (jitter buffer warm-up). Raises ``TimeoutError`` if
    the audio does not arrive within ``timeout``.
    """
    stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
    chunks: list[np.ndarray] = []
    wanted = int(seconds * SAMPLE_RATE)
    to_skip = int(skip_seconds * SAMPLE_RATE)
    got = 0

    async def read() -> None:
        nonlocal got, to_skip
        async for event in stream:
            data = np.frombuffer(event.frame.data, dtype=np.int16).copy()
            if to_skip > 0:
                to_skip -= data.size
                continue
            chunks.append(data)
            got += data.size
            if got >= wanted:
                return

    try:
        await asyncio.wait_for(read(), timeout)
    finally:
        await stream.aclose()
    samples = np.concatenate(chunks)[:wanted] if chunks else np.zeros(0, dtype=np.int16)
    return AudioStats(
        samples.size, SAMPLE_RATE, rms(samples), dominant_frequency(samples, SAMPLE_RATE)
    )


async def collect_video(track: rtc.Track, frames: int = 5, *, timeout: float = 10.0) -> VideoStats:
    """Read ``frames`` real video frames from a subscribed remote track."""
    stream = rtc.VideoStream(track)
    count = 0
    last: rtc.VideoFrame | None = None

    async def read() -> None:
        nonlocal count, last
        async for event in stream:
            count += 1
            last = event.frame
            if count >= frames:
                return

    try:
        await asyncio.wait_for(read(), timeout)
    finally:
        await stream.aclose()
    if last is None:
        return VideoStats(0, 0, 0)
    return VideoStats(count, last.width, last.height, _mean_rgb(last))


def _mean_rgb(frame: rtc.VideoFrame) -> tuple[float, float, float]:
    rgba = frame.convert(rtc.VideoBufferType.RGBA)
    pixels = np.frombuffer(bytes(rgba.data), dtype=np.uint8).reshape(-1, 4)
    r, g, b = (float(v) for v in pixels[:, :3].mean(axis=0))
    return (r, g, b)
