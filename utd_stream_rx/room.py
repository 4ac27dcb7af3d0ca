"""UTDRoom: a ``livekit.rtc.Room`` whose callbacks become typed events in a :class:`Store`.

Every LiveKit callback is a plain synchronous function that turns its arguments into an
event of plain data (identities, snapshots) and calls ``store.dispatch``; nothing else in the
SDK listens to the ``rtc.Room``. Media toggles publish synthetic or device sources from
:mod:`utd_stream_rx.media` and refuse, without asking LiveKit, when the engine has not granted
publishing: the room never elevates its own permissions.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
from livekit import rtc
from reactivex import Observable

from .errors import UTDStreamException
from .media import (
    AudioSourceSpec,
    PublishedMedia,
    VideoSourceSpec,
    start_audio,
    start_video,
    test_pattern,
    tone,
)
from .state import events as ev
from .state.events import ParticipantSnapshot, PermissionSnapshot, TrackSnapshot
from .state.reducers import ConnectionState
from .state.store import Store

__all__ = ["UTDRoom"]

log = logging.getLogger(__name__)

_SOURCE_NAMES: dict[int, str] = {
    rtc.TrackSource.SOURCE_UNKNOWN: "unknown",
    rtc.TrackSource.SOURCE_CAMERA: "camera",
    rtc.TrackSource.SOURCE_MICROPHONE: "microphone",
    rtc.TrackSource.SOURCE_SCREENSHARE: "screen_share",
    rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO: "screen_share_audio",
}

_QUALITY_NAMES: dict[int, str] = {
    rtc.ConnectionQuality.QUALITY_EXCELLENT: "excellent",
    rtc.ConnectionQuality.QUALITY_GOOD: "good",
    rtc.ConnectionQuality.QUALITY_POOR: "poor",
    rtc.ConnectionQuality.QUALITY_LOST: "lost",
}


# -- rtc objects -> plain snapshots -------------------------------------------------------------


def _source_name(source: int) -> str:
    return _SOURCE_NAMES.get(source, "unknown")


def _track_snapshot(publication: rtc.TrackPublication) -> TrackSnapshot:
    kind: ev.TrackKindName = "video" if publication.kind == rtc.TrackKind.KIND_VIDEO else "audio"
    subscribed = bool(getattr(publication, "subscribed", False))
    return TrackSnapshot(
        publication.sid, kind, _source_name(publication.source), publication.muted, subscribed
    )


def _permission_snapshot(permission: Any) -> PermissionSnapshot:
    return PermissionSnapshot(
        can_publish=bool(permission.can_publish),
        can_publish_sources=tuple(_source_name(s) for s in permission.can_publish_sources),
        can_subscribe=bool(permission.can_subscribe),
        can_publish_data=bool(permission.can_publish_data),
    )


def _participant_snapshot(participant: rtc.Participant) -> ParticipantSnapshot:
    return ParticipantSnapshot(
        identity=participant.identity,
        name=participant.name,
        metadata=participant.metadata,
        attributes=dict(participant.attributes),
        can_publish=bool(participant.permissions.can_publish),
        tracks=tuple(_track_snapshot(p) for p in participant.track_publications.values()),
    )


def _is_local(participant: rtc.Participant) -> bool:
    return isinstance(participant, rtc.LocalParticipant)


def _reason_name(reason: Any) -> str:
    try:
        return str(rtc.DisconnectReason.Name(reason)).lower()
    except (ValueError, TypeError):
        return str(reason)


@attrs.frozen
class _LocalMedia:
    media: PublishedMedia
    sid: str
    spec: AudioSourceSpec | VideoSourceSpec


class UTDRoom:
    """One LiveKit room connection feeding a :class:`~utd_stream_rx.state.store.Store`.

    Args:
        dynacast: Let LiveKit pause video layers nobody watches (on by default). Browser
            SDKs also offer "adaptive stream" (receivers asking for the size they render);
            the Python SDK has no equivalent, so dynacast is the only bandwidth lever here.
        store: The store to feed (a new one by default).

    Attributes:
        store: The session's store; all room state is read from its views.
    """

    def __init__(self, *, dynacast: bool = True, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()
        self.dynacast = dynacast
        self._room: rtc.Room | None = None
        self._connecting = False
        self._teardown: asyncio.Future[None] | None = None
        self._handlers: list[tuple[str, Callable[..., None]]] = []
        self._media: dict[str, _LocalMedia] = {}
        self._media_locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- accessors ------------------------------------------------------------------------

    @property
    def events(self) -> Observable[ev.Event]:
        """The store's raw firehose of typed events."""
        return self.store.events

    @property
    def rtc_room(self) -> rtc.Room | None:
        """The underlying ``livekit.rtc.Room`` while connected, else ``None``."""
        return self._room

    @property
    def local_participant(self) -> rtc.LocalParticipant | None:
        """The local LiveKit participant while connected, else ``None``."""
        room = self._room
        if room is None or not room.isconnected():
            return None
        participant: rtc.LocalParticipant = room.local_participant
        return participant

    # -- connection -------------------------------------------------------------------------

    async def connect(
        self,
        url: str,
        token: str,
        *,
        auto_subscribe: bool = True,
        connect_timeout: float = 10.0,
    ) -> None:
        """Connect to LiveKit; returns once connected and the store shows it.

        Dispatches ``Connecting`` and then ``Connected`` with snapshots of the local
        permission, the remote participants and the room metadata.

        The timeout is LiveKit's own (``RoomOptions.connect_timeout``): an in-flight connect
        is never cancelled (that can crash the native layer). If the caller is cancelled, the
        attempt finishes in the background and is disconnected at once.

        Raises:
            UTDStreamException: ``already_connected`` when connected or connecting;
                ``connect_failed`` when LiveKit refused or timed out.
        """
        if self._connecting or self._room is not None:
            raise UTDStreamException(
                "this room is already connected; disconnect first", code="already_connected"
            )
        self._connecting = True
        try:
            if self._teardown is not None:
                # A previous room is still leaving; its handlers must be gone first.
                await asyncio.shield(self._teardown)
            loop = asyncio.get_running_loop()
            room = rtc.Room(loop=loop)
            self._attach(room)
            self.store.dispatch(ev.Connecting(url))
            options = rtc.RoomOptions(
                auto_subscribe=auto_subscribe,
                dynacast=self.dynacast,
                connect_timeout=connect_timeout,
            )
            attempt = loop.create_task(room.connect(url, token, options))
            try:
                await asyncio.shield(attempt)
            except asyncio.CancelledError:
                self._detach(room)
                attempt.add_done_callback(functools.partial(self._abandon, room))
                self._keep(attempt)
                self.store.dispatch(ev.Disconnected("cancelled"))
                raise
            except Exception as exc:
                self._detach(room)
                self.store.dispatch(ev.Disconnected("connect_failed"))
                raise UTDStreamException(
                    f"could not connect to {url}: {exc}", code="connect_failed"
                ) from exc
            self._room = room
            self.store.dispatch(_connected(room))
        finally:
            self._connecting = False

    def _abandon(self, room: rtc.Room, attempt: asyncio.Task[None]) -> None:
        # The caller gave up, but the connect may still land: leave at once if it does.
        if attempt.cancelled() or attempt.exception() is not None:
            return
        self._spawn(room.disconnect())

    async def disconnect(self) -> None:
        """Leave the room: unpublish and close the media this room created, stop listening,
        and dispatch ``Disconnected``. Safe to call twice, or when never connected.

        Concurrent callers share one teardown, and cancelling a caller does not cancel it, so
        the room always ends disconnected.
        """
        room, self._room = self._room, None
        if room is not None:
            self._teardown = asyncio.ensure_future(self._teardown_room(room))
        teardown = self._teardown
        if teardown is None:
            return
        await asyncio.shield(teardown)
        if self._teardown is teardown:
            self._teardown = None

    async def _teardown_room(self, room: rtc.Room) -> None:
        self.store.dispatch(ev.LeaveRequested())
        # Every source ever toggled, not only the published ones: taking each lock waits for a
        # publish still in flight, whose media is then released too.
        for source in list(self._media_locks):
            await self._release(source, room)
        self._detach(room)
        try:
            await room.disconnect()
        except Exception:
            log.warning("LiveKit failed while disconnecting", exc_info=True)
        await self._settle_tasks()
        if self.store.state.connection_state is not ConnectionState.DISCONNECTED:
            self.store.dispatch(ev.Disconnected("client_initiated"))

    # -- media ----------------------------------------------------------------------------

    async def set_microphone(self, enabled: bool, source: AudioSourceSpec | None = None) -> None:
        """Publish (``True``) or stop (``False``) the microphone track.

        ``source`` picks what plays (default: a quiet 440 Hz tone). Publishing again with the
        same source is a no-op; with another source the track is replaced.

        Raises:
            UTDStreamException: ``not_connected``; ``not_permitted`` when the engine has not
                granted publishing the microphone (LiveKit is not asked);
                ``publish_failed`` when LiveKit refused.
        """
        spec = source if source is not None else tone()

        def start() -> Awaitable[PublishedMedia]:
            return start_audio(spec)

        await self._set_media(
            "microphone", enabled, spec, start, rtc.TrackSource.SOURCE_MICROPHONE
        )

    async def set_camera(self, enabled: bool, source: VideoSourceSpec | None = None) -> None:
        """Publish (``True``) or stop (``False``) the camera track (default: a test pattern).

        Raises the same errors as :meth:`set_microphone`.
        """
        spec = source if source is not None else test_pattern()

        def start() -> Awaitable[PublishedMedia]:
            return start_video(spec)

        await self._set_media("camera", enabled, spec, start, rtc.TrackSource.SOURCE_CAMERA)

    async def send_data(
        self,
        data: bytes,
        *,
        reliable: bool = True,
        destination_identities: Sequence[str] | None = None,
        topic: str | None = None,
    ) -> None:
        """Send ``data`` to everyone (or to ``destination_identities``) on ``topic``.

        Raises:
            UTDStreamException: ``not_connected``; ``not_permitted`` without the data grant;
                ``send_failed`` when LiveKit refused.
        """
        room = self._require_connected()
        if not self.store.state.permissions.can_publish_data:
            raise UTDStreamException("not permitted to send data", code="not_permitted")
        try:
            await room.local_participant.publish_data(
                bytes(data),
                reliable=reliable,
                destination_identities=list(destination_identities or []),
                topic=topic or "",
            )
        except Exception as exc:
            raise UTDStreamException(f"could not send data: {exc}", code="send_failed") from exc

    async def _set_media(
        self,
        source: str,
        enabled: bool,
        spec: AudioSourceSpec | VideoSourceSpec,
        start: Callable[[], Awaitable[PublishedMedia]],
        rtc_source: Any,
    ) -> None:
        lock = self._media_locks.setdefault(source, asyncio.Lock())
        async with lock:
            current = self._media.get(source)
            if not enabled:
                if current is not None:
                    await self._release_locked(source, self._room)
                return
            room = self._require_connected()
            if not self.store.state.permissions.allows(source):
                raise UTDStreamException(
                    f"not permitted to publish the {source}: the engine has not granted it",
                    code="not_permitted",
                )
            if current is not None:
                if current.spec == spec:
                    return
                await self._release_locked(source, room)
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
                        f"could not publish the {source}: {exc}", code="publish_failed"
                    ) from exc
                raise
            self._media[source] = _LocalMedia(media, publication.sid, spec)

    async def _release(self, source: str, room: rtc.Room | None) -> None:
        lock = self._media_locks.setdefault(source, asyncio.Lock())
        async with lock:
            await self._release_locked(source, room)

    async def _release_locked(self, source: str, room: rtc.Room | None) -> None:
        entry = self._media.pop(source, None)
        if entry is None:
            return
        if room is not None and room.isconnected():
            # LiveKit may have unpublished it already (a revoked grant): nothing to undo then.
            with contextlib.suppress(Exception):
                await room.local_participant.unpublish_track(entry.sid)
        await entry.media.aclose()

    def _require_connected(self) -> rtc.Room:
        room = self._room
        if room is None or not room.isconnected():
            raise UTDStreamException("the room is not connected", code="not_connected")
        return room

    # -- tasks ----------------------------------------------------------------------------

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        self._keep(asyncio.ensure_future(coro))

    async def _settle_tasks(self) -> None:
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    # -- LiveKit callbacks ------------------------------------------------------------------

    def _attach(self, room: rtc.Room) -> None:
        dispatch = self.store.dispatch

        def safely(fn: Callable[..., None]) -> Callable[..., None]:
            def handler(*args: Any) -> None:
                try:
                    fn(*args)
                except Exception:
                    log.exception("could not convert a LiveKit event")

            return handler

        def participant_connected(p: rtc.RemoteParticipant) -> None:
            dispatch(ev.ParticipantJoined(_participant_snapshot(p)))

        def participant_disconnected(p: rtc.RemoteParticipant) -> None:
            dispatch(ev.ParticipantLeft(p.identity))

        def participant_permissions_changed(p: rtc.Participant, permission: Any) -> None:
            perm = _permission_snapshot(permission)
            dispatch(
                ev.PermissionsChanged(
                    p.identity,
                    perm.can_publish,
                    perm.can_publish_sources,
                    perm.can_subscribe,
                    perm.can_publish_data,
                    is_local=_is_local(p),
                )
            )

        def participant_attributes_changed(changed: dict[str, str], p: rtc.Participant) -> None:
            dispatch(
                ev.ParticipantAttributesChanged(
                    p.identity, dict(p.attributes), dict(changed), is_local=_is_local(p)
                )
            )

        def participant_metadata_changed(p: rtc.Participant, old: str, new: str) -> None:
            dispatch(ev.ParticipantMetadataChanged(p.identity, new, is_local=_is_local(p)))

        def participant_name_changed(p: rtc.Participant, old: str, new: str) -> None:
            dispatch(ev.ParticipantNameChanged(p.identity, new, is_local=_is_local(p)))

        def room_metadata_changed(old: str, new: str) -> None:
            dispatch(ev.RoomMetadataChanged(new))

        def track_published(pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
            dispatch(ev.TrackPublished(p.identity, _track_snapshot(pub)))

        def track_unpublished(pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
            dispatch(ev.TrackUnpublished(p.identity, pub.sid))

        def track_subscribed(
            track: rtc.Track, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant
        ) -> None:
            dispatch(ev.TrackSubscribed(p.identity, _track_snapshot(pub)))

        def track_unsubscribed(
            track: rtc.Track, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant
        ) -> None:
            dispatch(ev.TrackUnsubscribed(p.identity, pub.sid))

        def track_muted(p: rtc.Participant, pub: rtc.TrackPublication) -> None:
            dispatch(ev.TrackMuted(p.identity, pub.sid, is_local=_is_local(p)))

        def track_unmuted(p: rtc.Participant, pub: rtc.TrackPublication) -> None:
            dispatch(ev.TrackUnmuted(p.identity, pub.sid, is_local=_is_local(p)))

        def track_subscription_failed(p: rtc.RemoteParticipant, sid: str, error: str) -> None:
            dispatch(ev.TrackSubscriptionFailed(p.identity, sid, str(error)))

        def local_track_published(pub: rtc.LocalTrackPublication, track: rtc.Track) -> None:
            dispatch(ev.LocalTrackPublished(_track_snapshot(pub)))

        def local_track_unpublished(pub: rtc.LocalTrackPublication) -> None:
            dispatch(ev.LocalTrackUnpublished(pub.sid))
            for source, entry in list(self._media.items()):
                if entry.sid == pub.sid:
                    # LiveKit dropped our track (e.g. the grant was revoked): free the source.
                    self._spawn(self._release(source, None))

        def active_speakers_changed(speakers: list[rtc.Participant]) -> None:
            dispatch(ev.ActiveSpeakersChanged(tuple(p.identity for p in speakers)))

        def data_received(packet: rtc.DataPacket) -> None:
            sender = packet.participant.identity if packet.participant is not None else None
            dispatch(
                ev.DataReceived(
                    bytes(packet.data),
                    sender,
                    packet.topic or None,
                    packet.kind == rtc.DataPacketKind.KIND_RELIABLE,
                )
            )

        def connection_quality_changed(p: rtc.Participant | None, quality: int) -> None:
            if p is not None:
                name = _QUALITY_NAMES.get(int(quality), "unknown")
                dispatch(ev.ConnectionQualityChanged(p.identity, name, is_local=_is_local(p)))

        def reconnecting() -> None:
            dispatch(ev.Reconnecting())

        def reconnected() -> None:
            lp = room.local_participant
            dispatch(
                ev.Reconnected(
                    participants=tuple(
                        _participant_snapshot(p) for p in room.remote_participants.values()
                    ),
                    metadata=room.metadata,
                    permissions=_permission_snapshot(lp.permissions),
                    local=_participant_snapshot(lp),
                )
            )

        def disconnected(reason: Any) -> None:
            # Only reached when LiveKit ended the session (kicked, room deleted, network):
            # our own disconnect() stops listening first.
            dispatch(ev.Disconnected(_reason_name(reason)))
            if self._room is room:
                self._spawn(self._after_remote_disconnect(room))

        handlers: dict[str, Callable[..., None]] = {
            "participant_connected": participant_connected,
            "participant_disconnected": participant_disconnected,
            "participant_permissions_changed": participant_permissions_changed,
            "participant_attributes_changed": participant_attributes_changed,
            "participant_metadata_changed": participant_metadata_changed,
            "participant_name_changed": participant_name_changed,
            "room_metadata_changed": room_metadata_changed,
            "track_published": track_published,
            "track_unpublished": track_unpublished,
            "track_subscribed": track_subscribed,
            "track_unsubscribed": track_unsubscribed,
            "track_muted": track_muted,
            "track_unmuted": track_unmuted,
            "track_subscription_failed": track_subscription_failed,
            "local_track_published": local_track_published,
            "local_track_unpublished": local_track_unpublished,
            "active_speakers_changed": active_speakers_changed,
            "data_received": data_received,
            "connection_quality_changed": connection_quality_changed,
            "reconnecting": reconnecting,
            "reconnected": reconnected,
            "disconnected": disconnected,
        }
        for name, fn in handlers.items():
            wrapped = safely(fn)
            room.on(name, wrapped)  # type: ignore[arg-type]
            self._handlers.append((name, wrapped))

    def _detach(self, room: rtc.Room) -> None:
        for name, fn in self._handlers:
            with contextlib.suppress(Exception):
                room.off(name, fn)  # type: ignore[arg-type]
        self._handlers.clear()

    async def _after_remote_disconnect(self, room: rtc.Room) -> None:
        if self._room is not room:
            return
        self._room = None
        for source in list(self._media):
            await self._release(source, None)
        self._detach(room)


def _connected(room: rtc.Room) -> ev.Connected:
    local = room.local_participant
    return ev.Connected(
        local_identity=local.identity,
        permissions=_permission_snapshot(local.permissions),
        participants=tuple(_participant_snapshot(p) for p in room.remote_participants.values()),
        metadata=room.metadata,
        local=_participant_snapshot(local),
    )
