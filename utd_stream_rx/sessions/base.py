"""The shared base of every session: a room, its store, read-only views and media commands.

A session is a thin command object. Each command asks the engine, then feeds the answer into
the store (``dispatch``); views change only through the reducers, never by a direct write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import reactivex
from livekit import rtc

from ..errors import UTDStreamException
from ..media import AudioSourceSpec, VideoSourceSpec, test_pattern, tone
from ..models import UTDRoomState, UTDStreamType, UTDTokenResponse
from ..room import UTDRoom
from ..state.events import CommandFailed, DataReceived, Event, RoomStateReceived
from ..state.reducers import ConnectionState, select_requests_outdated
from ..state.session_view import session_view
from ..state.view_specs import (
    ACTIVE_SPEAKERS,
    CAN_PUBLISH,
    CONNECTED,
    CONNECTION_STATE,
    REMOTE_PARTICIPANTS,
    ROOM_STATE,
)

if TYPE_CHECKING:
    from ..api import UTDApiClient

__all__ = ["UTDSession"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class UTDSession:
    """Base of every session kind: the media room, its state views and media controls.

    State is read-only: every view has ``.value`` and can be subscribed to, piped, awaited
    (``await view.wait_for(pred)``) or iterated (``async for v in view``).

    Every room command (seats, stage, media) raises ``UTDStreamException`` before any request
    with code ``not_connected`` while the session is out of its room (after :meth:`leave` or a
    lost connection; :meth:`rejoin` first) and ``closed`` after :meth:`aclose`. A session
    lives on the event loop it was made on (or first used on): from another one (a later
    ``asyncio.run``) every command raises ``wrong_loop``; make a new session there.

    Args:
        api: The client's REST facade (shared HTTP pool).
        type: The session kind.
        audio_source: What the microphone plays (default: a quiet 440 Hz tone, so sessions
            work on machines without devices; use ``media.microphone()`` for a real one).
        video_source: What the camera shows (default: a moving test pattern).
        connect_timeout: Seconds LiveKit may take to connect.
    """

    def __init__(
        self,
        api: UTDApiClient,
        type: UTDStreamType,
        *,
        audio_source: AudioSourceSpec | None = None,
        video_source: VideoSourceSpec | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        if not isinstance(type, UTDStreamType):
            raise TypeError(f"type must be a UTDStreamType, not {type!r}")
        self._api = api
        self.type = type
        self.audio_source = audio_source or tone()
        self.video_source = video_source or test_pattern()
        self.connect_timeout = connect_timeout
        self.room = UTDRoom()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        # The loop the session lives on (its room's callbacks, its tasks): the one it was made
        # on, or the first one that uses it.
        self._loop = _running_loop()
        self._publish_camera_on_grant = False
        self._last_grant = False
        self._grant_subscription: reactivex.abc.DisposableBase | None = None
        self._requests_subscription: reactivex.abc.DisposableBase | None = None
        self._refreshing_requests = False
        # Set by the client for room sessions: mints a fresh token for the same seat in the room.
        self._token_source: Callable[[], Awaitable[UTDTokenResponse]] | None = None

    # -- state -----------------------------------------------------------------------------

    connected = session_view(CONNECTED)
    can_publish = session_view(CAN_PUBLISH)
    remote_participants = session_view(REMOTE_PARTICIPANTS)
    active_speakers = session_view(ACTIVE_SPEAKERS)
    room_state = session_view(ROOM_STATE)

    @property
    def events(self) -> reactivex.Observable[Event]:
        """The raw, typed firehose: every room event, REST result and intent, in order."""
        return self.room.store.events

    @property
    def data(self) -> reactivex.Observable[DataReceived]:
        """Data messages received in the room (from participants or the engine)."""
        return self.room.store.data

    @property
    def local_participant(self) -> rtc.LocalParticipant | None:
        """The local LiveKit participant while connected, else ``None``."""
        return self.room.local_participant

    @property
    def identity(self) -> str | None:
        """This participant's identity once connected."""
        return self.room.store.state.local_identity

    # -- media -----------------------------------------------------------------------------

    async def set_microphone(self, enabled: bool) -> None:
        """Publish (or stop) the microphone. Refused unless the engine granted publishing."""
        _check_bool(enabled, "enabled")
        self._require_open()
        await self.room.set_microphone(enabled, self.audio_source)

    async def set_camera(self, enabled: bool) -> None:
        """Publish (or stop) the camera; only for kinds with video."""
        _check_bool(enabled, "enabled")
        self._require_open()
        if enabled and not self.type.has_video:
            raise UTDStreamException(
                f"a {self.type.value} session is audio only; it cannot publish a camera",
                code="video_not_supported",
            )
        await self.room.set_camera(enabled, self.video_source)

    async def send_data(
        self,
        data: bytes,
        reliable: bool = True,
        to: Sequence[str] | None = None,
        topic: str | None = None,
    ) -> None:
        """Send ``data`` to everyone, or to the identities in ``to``, optionally on ``topic``."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("data must be bytes")
        if to is not None and (isinstance(to, str) or not all(isinstance(i, str) for i in to)):
            raise TypeError("to must be a sequence of identities")
        self._require_open()
        await self.room.send_data(
            bytes(data),
            reliable=reliable,
            destination_identities=list(to) if to is not None else None,
            topic=topic,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def _connect(self, token: UTDTokenResponse) -> None:
        await self.room.connect(
            token.connect_url, token.token, connect_timeout=self.connect_timeout
        )

    async def rejoin(self) -> None:
        """Join the room again after :meth:`leave` or a lost connection.

        Mints a fresh token from the engine (which grants publishing again if this participant
        still holds a seat or a stage place), connects, and re-syncs the engine's room state.
        Does nothing while connected.

        Raises:
            UTDStreamException: ``closed`` after :meth:`aclose`; ``wrong_loop`` from another
                event loop; ``not_supported`` for a call (start or accept a new one); engine
                and ``connect_failed`` errors as usual.
        """
        self._require_open()
        if self._token_source is None:
            raise UTDStreamException(
                f"a {self.type.value} session cannot rejoin; start or accept a new call",
                code="not_supported",
            )
        if self.connected.value:
            return
        await self.room.disconnect()  # a lost connection may still hold its LiveKit room
        await self._connect(await self._token_source())
        await self._resync()

    async def _resync(self) -> None:
        """Fetch what the engine owns after (re)joining; subclasses override."""

    async def leave(self) -> None:
        """Leave the media room; the session stays usable (:meth:`rejoin` joins again)."""
        self._require_own_loop()
        await self._cancel_tasks()
        await self.room.disconnect()

    async def aclose(self) -> None:
        """Leave and release everything the session holds; views complete. Safe to call twice."""
        if self._closed:
            return
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            self._close_elsewhere()
            return
        self._closed = True
        for subscription in (self._grant_subscription, self._requests_subscription):
            if subscription is not None:
                subscription.dispose()
        try:
            await self.leave()
        finally:
            # Views keep their last value; subscribers and ``async for`` loops see completion.
            self.room.store.dispose()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- following the engine's grant ------------------------------------------------------------

    async def _wait_for_grant(self, who: str) -> None:
        """Wait (up to ``connect_timeout``) until the engine's grant to publish arrived."""
        try:
            await self.can_publish.wait_for(_is_true, timeout=self.connect_timeout)
        except (TimeoutError, UTDStreamException) as exc:
            raise UTDStreamException(
                f"{who}, but the publish grant did not arrive in time", code="timeout"
            ) from exc

    def _follow_grant(self, *, camera: bool) -> None:
        """Publish when the engine grants publishing and stop when it revokes it.

        The grant arrives as a LiveKit permission event (a seat taken, a stage invite, an
        approval by the host); only transitions count, so a grant held since joining does not
        publish by itself.
        """
        self._publish_camera_on_grant = camera
        self._last_grant = self.can_publish.value
        self._grant_subscription = self.can_publish.subscribe(self._on_grant_changed)

    def _on_grant_changed(self, granted: bool) -> None:
        previous, self._last_grant = self._last_grant, granted
        if granted != previous:
            self._spawn(self._apply_grant(granted), "apply grant")

    async def _apply_grant(self, granted: bool) -> None:
        if not self.connected.value:
            return
        if granted:
            await self.room.set_microphone(True, self.audio_source)
            if self._publish_camera_on_grant:
                await self.room.set_camera(True, self.video_source)
        else:
            # LiveKit already unpublished our tracks; release the local sources too.
            with contextlib.suppress(UTDStreamException):
                await self.room.set_microphone(False)
            with contextlib.suppress(UTDStreamException):
                await self.room.set_camera(False)

    # -- following pending requests (host) ------------------------------------------------------

    def _follow_requests(self, fetch: Callable[[], Awaitable[UTDRoomState]]) -> None:
        """Keep the request lists current where the engine leaves them out of its snapshots
        (a room with many pending requests): ``fetch`` the room whenever they are outdated."""
        self._requests_fetch = fetch
        self._requests_subscription = self.room.store.view(ROOM_STATE).subscribe(
            self._on_room_state_for_requests
        )

    def _on_room_state_for_requests(self, _: UTDRoomState | None) -> None:
        outdated = select_requests_outdated(self.room.store.state)
        if outdated and not self._refreshing_requests and self.connected.value:
            # One fetch at a time; it fetches again if the lists moved on meanwhile.
            self._refreshing_requests = True
            self._spawn(self._refresh_requests(), "refresh requests")

    async def _refresh_requests(self) -> None:
        store = self.room.store
        try:
            while select_requests_outdated(store.state) and self.connected.value:
                store.dispatch(RoomStateReceived(await self._requests_fetch()))
        finally:
            self._refreshing_requests = False

    # -- helpers for subclasses --------------------------------------------------------------

    def _close_elsewhere(self) -> None:
        """Close from a loop that is not the session's: what needs no loop is released; a
        LiveKit room still held can only be closed on the loop it was made on."""
        self._closed = True
        if self._grant_subscription is not None:
            self._grant_subscription.dispose()
        held = self.room.store.view(CONNECTION_STATE).value is not ConnectionState.DISCONNECTED
        self.room.store.dispose()
        if held:
            raise _wrong_loop("its room can only be closed on the loop that joined it")

    def _require_own_loop(self) -> None:
        """Refuse use from another event loop than the session's (code ``wrong_loop``)."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise _wrong_loop("make a new session on this loop")

    def _require_open(self) -> None:
        """Refuse any use of a closed session (``closed``) or from another loop
        (``wrong_loop``)."""
        if self._closed:
            raise UTDStreamException("this session is closed", code="closed")
        self._require_own_loop()

    def _require_in_room(self) -> None:
        """Refuse a room command, before any request, on a session out of its room.

        Joining (connecting) and reconnecting count as in the room; a session that left, lost
        its connection for good or never joined does not: the engine would act for a
        participant LiveKit no longer has (a seat granted to nobody).
        """
        self._require_open()
        if self.room.store.view(CONNECTION_STATE).value is ConnectionState.DISCONNECTED:
            raise UTDStreamException(
                "this session is not in its room; rejoin() first", code="not_connected"
            )

    async def _command(
        self, name: str, call: Callable[[], Awaitable[UTDRoomState]]
    ) -> UTDRoomState:
        """Run an engine command and feed its answer (or its failure) into the store.

        Refused before any request when the session is closed or out of its room.
        """
        self._require_in_room()
        try:
            state = await call()
        except UTDStreamException as exc:
            self.room.store.dispatch(CommandFailed(name, exc))
            raise
        self.room.store.dispatch(RoomStateReceived(state))
        return state

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background step failed: %s", task.exception())

    async def _cancel_tasks(self) -> None:
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # made outside a coroutine: bound by its first use
        return None


def _wrong_loop(advice: str) -> UTDStreamException:
    return UTDStreamException(
        f"this session belongs to another event loop (one that may have ended); {advice}",
        code="wrong_loop",
    )


def _is_true(value: bool) -> bool:
    return value


def _check_bool(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
