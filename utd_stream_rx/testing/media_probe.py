"""Check from a test what a session really receives: remote tracks, audio and video frames."""

from __future__ import annotations

import asyncio
from typing import Literal

from livekit import rtc

from ..media import AudioStats, VideoStats, collect_audio, collect_video
from ..sessions.base import UTDSession

__all__ = ["hear", "remote_track", "see"]

_KINDS = {"audio": rtc.TrackKind.KIND_AUDIO, "video": rtc.TrackKind.KIND_VIDEO}


async def remote_track(
    session: UTDSession,
    identity: str,
    kind: Literal["audio", "video"] = "audio",
    *,
    timeout: float = 15.0,
) -> rtc.Track:
    """Wait until ``session`` is subscribed to a ``kind`` track of ``identity`` and return it."""
    wanted = _KINDS[kind]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        room = session.room.rtc_room
        participant = room.remote_participants.get(identity) if room is not None else None
        if participant is not None:
            for publication in participant.track_publications.values():
                track = publication.track
                if track is not None and publication.kind == wanted and publication.subscribed:
                    return track
        if loop.time() >= deadline:
            raise TimeoutError(f"no subscribed {kind} track from {identity!r} within {timeout}s")
        await asyncio.sleep(0.05)


async def hear(
    session: UTDSession, identity: str, seconds: float = 0.5, *, timeout: float = 15.0
) -> AudioStats:
    """Measure ``seconds`` of the audio ``session`` receives from ``identity``."""
    track = await remote_track(session, identity, "audio", timeout=timeout)
    return await collect_audio(track, seconds, timeout=timeout)


async def see(
    session: UTDSession, identity: str, frames: int = 5, *, timeout: float = 15.0
) -> VideoStats:
    """Read ``frames`` video frames ``session`` receives from ``identity``."""
    track = await remote_track(session, identity, "video", timeout=timeout)
    return await collect_video(track, frames, timeout=timeout)
