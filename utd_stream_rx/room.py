"""UTDRoom: a ``livekit.rtc.Room`` whose callbacks become typed events in a :class:`Store`.

The LiveKit callbacks are converted by :mod:`utd_stream_rx._livekit_events` (one converter per
LiveKit event, walked from one table) into events of plain data (identities, snapshots) and
dispatched to the store; nothing else in the SDK listens to the ``rtc.Room``. Media toggles
publish synthetic or device sources from :mod:`utd_stream_rx.media` through
:class:`~utd_stream_rx._local_media.LocalMediaPublisher`, which refuses, without asking
LiveKit, when the engine has not granted publishing: the room never elevates its own
permissions.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Coroutine, Sequence
from typing import Any

from livekit import rtc
from reactivex import Observable

from ._background import BackgroundTasks
from ._livekit_events import RoomEventSubscription, connected_event
from ._local_media import LocalMediaPublisher, require_connected
from ._reprs import fields_repr
from .error_codes import ErrorCode
from .errors import UTDStreamException
from .media import AudioSourceSpec, VideoSourceSpec, test_pattern, tone
from .state import events as ev
from .state.events import PermissionSnapshot
from .state.notices import decode_notice
from .state.reducers import ConnectionState
from .state.store import Store

__all__ = ["UTDRoom"]

log = logging.getLogger(__name__)


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
        # One per rtc.Room still listened to: a room LiveKit ended may still be detaching
        # while the next one connects.
        self._subscriptions: dict[rtc.Room, RoomEventSubscription] = {}
        self._publisher = LocalMediaPublisher(self._current_room, self._permissions)
        self._tasks = BackgroundTasks(log)

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

    def __repr__(self) -> str:
        room, state = self._room, self.store.state
        return fields_repr(
            "UTDRoom", room=None if room is None else room.name,
            identity=state.local_identity, connection=state.connection_state,
        )

    def _current_room(self) -> rtc.Room | None:
        return self._room

    def _permissions(self) -> PermissionSnapshot:
        return self.store.state.publish_permission

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
                "this room is already connected; disconnect first",
                code=ErrorCode.ALREADY_CONNECTED,
            )
        self._connecting = True
        try:
            if self._teardown is not None:
                # A previous room is still leaving; its listeners must be gone first.
                await asyncio.shield(self._teardown)
            room = rtc.Room(loop=asyncio.get_running_loop())
            self._listen(room)
            self.store.dispatch(ev.Connecting(url))
            options = rtc.RoomOptions(
                auto_subscribe=auto_subscribe,
                dynacast=self.dynacast,
                connect_timeout=connect_timeout,
            )
            await self._await_connect(room, room.connect(url, token, options), url)
            self._room = room
            self.store.dispatch(connected_event(room))
        finally:
            self._connecting = False

    async def _await_connect(
        self, room: rtc.Room, connect: Coroutine[Any, Any, None], url: str
    ) -> None:
        attempt = asyncio.get_running_loop().create_task(connect)
        try:
            await asyncio.shield(attempt)
        except asyncio.CancelledError:
            self._detach(room)
            attempt.add_done_callback(functools.partial(self._abandon, room))
            self._tasks.keep(attempt)
            self.store.dispatch(ev.Disconnected("cancelled"))
            raise
        except Exception as exc:
            self._detach(room)
            self.store.dispatch(ev.Disconnected("connect_failed"))
            raise UTDStreamException(
                f"could not connect to {url}: {exc}", code=ErrorCode.CONNECT_FAILED
            ) from exc

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
        await self._publisher.release_every_source(room)
        self._detach(room)
        try:
            await room.disconnect()
        except Exception:
            log.warning("LiveKit failed while disconnecting", exc_info=True)
        await self._tasks.settle()
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
        await self._publisher.set_microphone(enabled, source if source is not None else tone())

    async def prepare_microphone(self, source: AudioSourceSpec) -> None:
        """Start ``source``'s media in the background for a microphone publish expected soon
        (a seat being taken), so that the publish need not wait for it. A later
        :meth:`set_microphone` with the same source uses it; :meth:`discard_prepared` (or
        leaving) closes it when unused."""
        await self._publisher.prepare_microphone(source)

    async def discard_prepared(self) -> None:
        """Close the media :meth:`prepare_microphone` started and nothing published."""
        await self._publisher.discard_prepared()

    async def set_camera(self, enabled: bool, source: VideoSourceSpec | None = None) -> None:
        """Publish (``True``) or stop (``False``) the camera track (default: a test pattern).

        Raises the same errors as :meth:`set_microphone`.
        """
        await self._publisher.set_camera(
            enabled, source if source is not None else test_pattern()
        )

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
        room = require_connected(self._room)
        if not self.store.state.permissions.can_publish_data:
            raise UTDStreamException("not permitted to send data", code=ErrorCode.NOT_PERMITTED)
        try:
            await room.local_participant.publish_data(
                bytes(data),
                reliable=reliable,
                destination_identities=list(destination_identities or []),
                topic=topic or "",
            )
        except Exception as exc:
            raise UTDStreamException(
                f"could not send data: {exc}", code=ErrorCode.SEND_FAILED
            ) from exc

    # -- tasks ----------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> None:
        # Held until done and awaited by a teardown; their outcome is the teardown's to see.
        self._tasks.keep(asyncio.ensure_future(coro))

    # -- LiveKit events -------------------------------------------------------------------

    def _listen(self, room: rtc.Room) -> None:
        self._subscriptions[room] = RoomEventSubscription(
            room, functools.partial(self._on_livekit_event, room)
        )

    def _detach(self, room: rtc.Room) -> None:
        subscription = self._subscriptions.pop(room, None)
        if subscription is not None:
            subscription.dispose()

    def _on_livekit_event(self, room: rtc.Room, event: ev.Event) -> None:
        self.store.dispatch(event)
        if isinstance(event, ev.DataReceived):
            notice = decode_notice(event)
            if notice is not None:
                self.store.dispatch(notice)
        elif isinstance(event, ev.LocalTrackUnpublished):
            # LiveKit dropped our track (e.g. the grant was revoked): free the source.
            for source in self._publisher.sources_published_as(event.sid):
                self._spawn(self._publisher.release(source, None))
        elif isinstance(event, ev.Disconnected) and self._room is room:
            # Only reached when LiveKit ended the session (kicked, room deleted, network):
            # our own disconnect() stops listening first.
            self._spawn(self._after_remote_disconnect(room))

    async def _after_remote_disconnect(self, room: rtc.Room) -> None:
        if self._room is not room:
            return
        self._room = None
        await self._publisher.release_published(None)
        self._detach(room)
