"""The shared base of every session: a room, its store, read-only views and media commands.

A session is a thin command object. Each command asks the engine, then feeds the answer into
the store (``dispatch``); views change only through the reducers, never by a direct write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import reactivex
from livekit import rtc

from .._background import BackgroundTasks, running_loop
from .._closing import ClosesOnExit
from .._reprs import fields_repr
from .._validate import check_bool
from ..error_codes import ErrorCode
from ..errors import UTDStreamException
from ..media import AudioSourceSpec, VideoSourceSpec, test_pattern, tone
from ..models import UTDRoomState, UTDStreamType, UTDTokenResponse
from ..room import UTDRoom
from ..state.events import CommandFailed, DataReceived, Event
from ..state.reducers import ConnectionState
from ..state.session_view import session_view
from ..state.view_specs import (
    ACTIVE_SPEAKERS,
    CAN_PUBLISH,
    CONNECTED,
    CONNECTION_QUALITY,
    CONNECTION_STATE,
    DISCONNECT_REASON,
    REMOTE_PARTICIPANTS,
    ROOM_STATE,
)
from ..state.views import View
from ._following import GrantFollower, PlaceCheck, RequestsFollower

if TYPE_CHECKING:
    from ..api import UTDApiClient

__all__ = ["UTDSession"]

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")
P = TypeVar("P")

TokenSource = Callable[[], Awaitable[UTDTokenResponse]]
"""Mints a fresh room token for the same place in the same room (a room session's rejoin)."""


class UTDSession(ClosesOnExit):
    """Base of every session kind: the media room, its state views and media controls.

    State is read-only: every view has ``.value`` and can be subscribed to, piped, awaited
    (``await view.wait_for(pred)``) or iterated (``async for v in view``).

    Every room command (seats, stage, media) raises ``UTDStreamException`` before any request
    with code ``not_connected`` while the session is out of its room (after :meth:`leave` or a
    lost connection; :meth:`rejoin` first) and ``closed`` after :meth:`aclose`. A session
    lives on the event loop it was made on (or first used on): from another one (a later
    ``asyncio.run``) every command raises ``wrong_loop``; make a new session there.

    Args:
        api: The REST client acting as this session's user (shared HTTP pool).
        type: The session kind.
        audio_source: What the microphone plays (default: a quiet 440 Hz tone, so sessions
            work on machines without devices; use ``media.microphone()`` for a real one).
        video_source: What the camera shows (default: a moving test pattern).
        connect_timeout: Seconds LiveKit may take to connect.
        token_source: Mints a fresh token for the same place in the room (room sessions;
            without one, :meth:`rejoin` is not supported).
    """

    def __init__(
        self,
        api: UTDApiClient,
        type: UTDStreamType,
        *,
        audio_source: AudioSourceSpec | None = None,
        video_source: VideoSourceSpec | None = None,
        connect_timeout: float = 10.0,
        token_source: TokenSource | None = None,
    ) -> None:
        if not isinstance(type, UTDStreamType):
            raise TypeError(f"type must be a UTDStreamType, not {type!r}")
        self._api = api
        self.type = type
        self.audio_source = audio_source or tone()
        self.video_source = video_source or test_pattern()
        self.connect_timeout = connect_timeout
        self.room = UTDRoom()
        self._tasks = BackgroundTasks(log)
        # Commands that take or leave a place that publishes, and the grant follower, take
        # turns: a grant event arriving during a leave must not publish again behind it.
        self._publish_turn = asyncio.Lock()
        self._closed = False
        # The loop the session lives on (its room's callbacks, its tasks): the one it was made
        # on, or the first one that uses it.
        self._loop = running_loop()
        self._grant_follower: GrantFollower | None = None
        self._requests_follower: RequestsFollower | None = None
        self._token_source = token_source

    # -- state -----------------------------------------------------------------------------

    connected = session_view(CONNECTED)
    can_publish = session_view(CAN_PUBLISH)
    remote_participants = session_view(REMOTE_PARTICIPANTS)
    active_speakers = session_view(ACTIVE_SPEAKERS)
    room_state = session_view(ROOM_STATE)
    connection_quality = session_view(CONNECTION_QUALITY)
    disconnect_reason = session_view(DISCONNECT_REASON)

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
        check_bool(enabled, "enabled")
        self._require_open()
        await self.room.set_microphone(enabled, self.audio_source)

    async def set_camera(self, enabled: bool) -> None:
        """Publish (or stop) the camera; only for kinds with video."""
        check_bool(enabled, "enabled")
        self._require_open()
        if enabled and not self.type.has_video:
            raise UTDStreamException(
                f"a {self.type.value} session is audio only; it cannot publish a camera",
                code=ErrorCode.VIDEO_NOT_SUPPORTED,
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

    async def enter_room(self, token: UTDTokenResponse) -> None:
        """Connect the media room with ``token`` (the client's join, a rejoin, a call)."""
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
                code=ErrorCode.NOT_SUPPORTED,
            )
        if self.connected.value:
            return
        await self.room.disconnect()  # a lost connection may still hold its LiveKit room
        await self.enter_room(await self._token_source())
        await self._resync()

    async def _resync(self) -> None:
        """Fetch what the engine owns after (re)joining; subclasses override."""

    async def leave(self) -> None:
        """Leave the media room; the session stays usable (:meth:`rejoin` joins again)."""
        self._require_own_loop()
        await self._tasks.cancel()
        await self.room.disconnect()

    def __repr__(self) -> str:
        state = self.room.store.state
        return fields_repr(
            type(self).__name__, type=self.type, **self._whereabouts(),
            identity=state.local_identity, connection=state.connection_state, closed=self._closed,
        )

    def _whereabouts(self) -> dict[str, object]:
        """Where the session is, for its repr: the room the engine reported (subclasses say
        more). Read from what is held already: a repr never awaits."""
        room_state = self.room.store.state.room_state
        return {"room": None if room_state is None else room_state.room_name}

    async def aclose(self) -> None:
        """Leave and release everything the session holds; views complete. Safe to call twice."""
        if self._closed:
            return
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            self._close_elsewhere()
            return
        self._closed = True
        for follower in (self._grant_follower, self._requests_follower):
            if follower is not None:
                follower.dispose()
        try:
            await self.leave()
        finally:
            # Views keep their last value; subscribers and ``async for`` loops see completion.
            self.room.store.dispose()

    # -- following the engine ------------------------------------------------------------------

    async def _wait_for_grant(self, who: str) -> None:
        """Wait (up to ``connect_timeout``) until the engine's grant to publish arrived."""
        try:
            await self.can_publish.wait_for(_is_true, timeout=self.connect_timeout)
        except (TimeoutError, UTDStreamException) as exc:
            raise UTDStreamException(
                f"{who}, but the publish grant did not arrive in time", code=ErrorCode.TIMEOUT
            ) from exc

    def _follow_grant(self, *, camera: bool, place: View[P], holds: Callable[[P], bool]) -> None:
        """Publish when the engine grants publishing and stop when it revokes it, for as long
        as ``holds(place.value)``: the engine's state gives the place a grant is for (a seat,
        the stage; see :class:`~._following.PlaceCheck`)."""
        self._grant_follower = GrantFollower(
            self,
            self._tasks.spawn,
            camera=camera,
            turn=self._publish_turn,
            place=PlaceCheck(place, holds, lambda: self.connect_timeout),
        )

    def _follow_requests(self, fetch: Callable[[], Awaitable[UTDRoomState]]) -> None:
        """Keep the request lists current (host): ``fetch`` the room when they are outdated."""
        self._requests_follower = RequestsFollower(self, self._tasks.spawn, fetch)

    # -- helpers for subclasses --------------------------------------------------------------

    def _close_elsewhere(self) -> None:
        """Close from a loop that is not the session's: what needs no loop is released; a
        LiveKit room still held can only be closed on the loop it was made on."""
        self._closed = True
        if self._grant_follower is not None:
            self._grant_follower.dispose()
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
            raise UTDStreamException("this session is closed", code=ErrorCode.CLOSED)
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
                "this session is not in its room; rejoin() first", code=ErrorCode.NOT_CONNECTED
            )

    async def _command(
        self,
        name: str,
        request: Callable[[], Awaitable[A]],
        received: Callable[[A], Event],
        *,
        in_room: bool = True,
    ) -> A:
        """Run an engine command and feed its answer (as ``received(answer)``) or its failure
        into the store.

        Refused before any request when the session is closed, or (``in_room``) out of its
        room.
        """
        if in_room:
            self._require_in_room()
        else:
            self._require_open()
        try:
            answer = await request()
        except UTDStreamException as exc:
            self.room.store.dispatch(CommandFailed(name, exc))
            raise
        self.room.store.dispatch(received(answer))
        return answer


def _wrong_loop(advice: str) -> UTDStreamException:
    return UTDStreamException(
        f"this session belongs to another event loop (one that may have ended); {advice}",
        code=ErrorCode.WRONG_LOOP,
    )


def _is_true(value: bool) -> bool:
    return value

