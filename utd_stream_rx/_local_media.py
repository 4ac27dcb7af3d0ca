"""The tracks a room publishes: one per source (microphone, camera), toggled under a lock.

Publishing refuses, without asking LiveKit, when the engine has not granted the source: the
room never elevates its own permissions. Every media source started here is closed again,
whether its publish failed, was cancelled, replaced, turned off or dropped by LiveKit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable

import attrs
from livekit import rtc

from .error_codes import ErrorCode
from .errors import UTDStreamException
from .media import AudioSourceSpec, PublishedMedia, VideoSourceSpec, start_audio, start_video
from .state.events import PermissionSnapshot

__all__ = ["LocalMediaPublisher", "PublishedSource", "require_connected"]

SourceSpec = AudioSourceSpec | VideoSourceSpec


def require_connected(room: rtc.Room | None) -> rtc.Room:
    """``room`` if it is connected.

    Raises:
        UTDStreamException: ``not_connected`` otherwise.
    """
    if room is None or not room.isconnected():
        raise UTDStreamException("the room is not connected", code=ErrorCode.NOT_CONNECTED)
    return room


@attrs.frozen
class PublishedSource:
    """One published source: the media feeding it, LiveKit's publication sid, what plays."""

    media: PublishedMedia
    sid: str
    spec: SourceSpec


class LocalMediaPublisher:
    """Publishes and releases the local sources of one :class:`~utd_stream_rx.room.UTDRoom`.

    Args:
        current_room: The room's LiveKit room now (``None`` when not connected); read once the
            source's lock is held, so a toggle waiting behind a leave sees the room gone.
        permissions: The local participant's permission now.
    """

    def __init__(
        self,
        current_room: Callable[[], rtc.Room | None],
        permissions: Callable[[], PermissionSnapshot],
    ) -> None:
        self._current_room = current_room
        self._permissions = permissions
        self._published: dict[str, PublishedSource] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._prepared: dict[str, tuple[SourceSpec, asyncio.Task[PublishedMedia]]] = {}

    async def set_microphone(self, enabled: bool, spec: AudioSourceSpec) -> None:
        """Publish ``spec`` as the microphone, or stop it (see ``UTDRoom.set_microphone``)."""
        start = self._prepared_or(
            "microphone", spec, functools.partial(start_audio, spec), enabled=enabled
        )
        await self._set("microphone", enabled, spec, start, rtc.TrackSource.SOURCE_MICROPHONE)

    async def prepare_microphone(self, spec: AudioSourceSpec) -> None:
        """Start ``spec``'s media in the background, for a microphone publish expected soon
        (a seat being taken): the publish then need not wait for the source to start. What
        is not published is closed by :meth:`discard_prepared`."""
        earlier = self._prepared.pop("microphone", None)
        if earlier is not None:
            await _close_prepared(earlier[1])
        self._prepared["microphone"] = (spec, asyncio.ensure_future(start_audio(spec)))

    async def discard_prepared(self) -> None:
        """Close the media of every source prepared and not published since."""
        for source in list(self._prepared):
            await _close_prepared(self._prepared.pop(source)[1])

    def _prepared_or(
        self,
        source: str,
        spec: SourceSpec,
        start: Callable[[], Awaitable[PublishedMedia]],
        *,
        enabled: bool,
    ) -> Callable[[], Awaitable[PublishedMedia]]:
        """``start``, or the media prepared for ``spec`` (taken once the publish starts)."""
        prepared = self._prepared.get(source)
        if not enabled or prepared is None or prepared[0] != spec:
            return start

        def take() -> Awaitable[PublishedMedia]:
            kept = self._prepared.get(source)
            if kept is None or kept[1] is not prepared[1]:
                return start()  # discarded (or prepared anew) meanwhile
            del self._prepared[source]
            return kept[1]

        return take

    async def set_camera(self, enabled: bool, spec: VideoSourceSpec) -> None:
        """Publish ``spec`` as the camera, or stop it (see ``UTDRoom.set_camera``)."""

        def start() -> Awaitable[PublishedMedia]:
            return start_video(spec)

        await self._set("camera", enabled, spec, start, rtc.TrackSource.SOURCE_CAMERA)

    def sources_published_as(self, sid: str) -> list[str]:
        """The sources whose publication is ``sid`` (LiveKit may drop one on its own)."""
        return [source for source, entry in self._published.items() if entry.sid == sid]

    async def release(self, source: str, room: rtc.Room | None) -> None:
        """Unpublish (if ``room`` is connected) and close ``source``, once its lock is free."""
        async with self._lock(source):
            await self._release_locked(source, room)

    async def release_every_source(self, room: rtc.Room | None) -> None:
        """Release every source ever toggled, not only the published ones: taking each lock
        waits for a publish still in flight, whose media is then released too."""
        for source in list(self._locks):
            await self.release(source, room)
        await self.discard_prepared()

    async def release_published(self, room: rtc.Room | None) -> None:
        """Release the sources published now."""
        for source in list(self._published):
            await self.release(source, room)

    def _lock(self, source: str) -> asyncio.Lock:
        return self._locks.setdefault(source, asyncio.Lock())

    async def _set(
        self,
        source: str,
        enabled: bool,
        spec: SourceSpec,
        start: Callable[[], Awaitable[PublishedMedia]],
        rtc_source: rtc.TrackSource.ValueType,
    ) -> None:
        async with self._lock(source):
            current = self._published.get(source)
            if not enabled:
                if current is not None:
                    await self._release_locked(source, self._current_room())
                return
            room = require_connected(self._current_room())
            if not self._permissions().allows(source):
                raise UTDStreamException(
                    f"not permitted to publish the {source}: the engine has not granted it",
                    code=ErrorCode.NOT_PERMITTED,
                )
            if current is not None:
                if current.spec == spec:
                    return
                await self._release_locked(source, room)
            self._published[source] = await _publish(room, source, spec, start, rtc_source)

    async def _release_locked(self, source: str, room: rtc.Room | None) -> None:
        entry = self._published.pop(source, None)
        if entry is None:
            return
        if room is not None and room.isconnected():
            # LiveKit may have unpublished it already (a revoked grant): nothing to undo then.
            with contextlib.suppress(Exception):
                await room.local_participant.unpublish_track(entry.sid)
        await entry.media.aclose()


async def _close_prepared(task: asyncio.Task[PublishedMedia]) -> None:
    """Stop a preparation and close the media it started, if it got that far."""
    task.cancel()  # start_audio holds nothing until its last step: a cancel leaks nothing
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is None:
        await task.result().aclose()


async def _publish(
    room: rtc.Room,
    source: str,
    spec: SourceSpec,
    start: Callable[[], Awaitable[PublishedMedia]],
    rtc_source: rtc.TrackSource.ValueType,
) -> PublishedSource:
    media = await start()
    try:
        publication = await room.local_participant.publish_track(
            media.track, rtc.TrackPublishOptions(source=rtc_source)
        )
    except BaseException as exc:
        # Cancelled (a leave) included: the source's feeding task must not outlive it.
        await media.aclose()
        if isinstance(exc, Exception):
            raise UTDStreamException(
                f"could not publish the {source}: {exc}", code=ErrorCode.PUBLISH_FAILED
            ) from exc
        raise
    return PublishedSource(media, publication.sid, spec)
