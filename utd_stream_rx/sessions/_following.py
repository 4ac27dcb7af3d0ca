"""What a session follows on its own: the engine's grant to publish, and (for a host) the
request lists the engine leaves out of its snapshots."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from reactivex import operators as ops

from ..errors import UTDStreamException
from ..media import AudioSourceSpec, VideoSourceSpec
from ..models import UTDRoomState
from ..room import UTDRoom
from ..state.events import RoomStateReceived
from ..state.reducers import select_requests_outdated
from ..state.view_specs import ROOM_STATE
from ..state.views import View

__all__ = [
    "FollowedSession",
    "GrantFollower",
    "PlaceCheck",
    "RequestsFollower",
    "Spawn",
    "publish_on_answer",
]

P = TypeVar("P")

log = logging.getLogger(__name__)

Spawn = Callable[[Awaitable[Any], str], None]
"""Runs a step in the background, as one of the session's tasks."""


class FollowedSession(Protocol):
    """What the followers need of a session."""

    @property
    def room(self) -> UTDRoom:
        """The session's room."""
        ...

    @property
    def connected(self) -> View[bool]:
        """Whether the room is connected."""
        ...

    @property
    def can_publish(self) -> View[bool]:
        """Whether the engine granted publishing."""
        ...

    @property
    def audio_source(self) -> AudioSourceSpec:
        """What the microphone plays."""
        ...

    @property
    def video_source(self) -> VideoSourceSpec:
        """What the camera shows."""
        ...


class PlaceCheck(Generic[P]):
    """Whether the engine's state gives this participant the place a grant is for: a seat,
    the stage (``holds(view.value)``).

    LiveKit may deliver a grant before the engine's state that explains it, and a grant
    may arrive after the participant left the place it was for: :meth:`shows` waits for the
    place (up to ``timeout()`` seconds), :meth:`held` says whether it is still held.
    """

    def __init__(
        self, view: View[P], holds: Callable[[P], bool], timeout: Callable[[], float]
    ) -> None:
        self._view = view
        self._holds = holds
        self._timeout = timeout

    def held(self) -> bool:
        """True while the engine's state gives the place."""
        return self._holds(self._view.value)

    async def shows(self) -> bool:
        """True once the engine's state gives the place; False when it does not in time (or
        the session closed)."""
        try:
            await self._view.wait_for(self._holds, timeout=self._timeout())
        except UTDStreamException:  # a timeout, or the store disposed
            return False
        return True


class GrantFollower:
    """Publish when the engine grants publishing and stop when it revokes it.

    The grant arrives as a LiveKit permission event (a seat taken, a stage invite, an approval
    by the host); only changes after the current value count, so a grant held since joining
    does not publish by itself. It publishes only while the engine's state gives the place
    that grant is for (``place``), and takes turns (``turn``) with the session's own
    commands that take or leave that place.
    """

    def __init__(
        self,
        session: FollowedSession,
        spawn: Spawn,
        *,
        camera: bool,
        turn: asyncio.Lock,
        place: PlaceCheck[Any],
    ) -> None:
        self._session = session
        self._spawn = spawn
        self._camera = camera
        self._turn = turn
        self._place = place
        # The view is distinct already: every value after the current one is a change.
        self._subscription = session.can_publish.pipe(ops.skip(1)).subscribe(self._on_change)

    def dispose(self) -> None:
        """Stop following."""
        self._subscription.dispose()

    def _on_change(self, granted: bool) -> None:
        self._spawn(self._apply(granted), "apply grant")

    async def _apply(self, granted: bool) -> None:
        # LiveKit may deliver a grant before the engine's state that explains it (a seat, the
        # stage): wait for that state, and publish nothing for a place left meanwhile.
        if granted and not await self._place.shows():
            return
        async with self._turn:
            await self._apply_in_turn(granted)

    async def _apply_in_turn(self, granted: bool) -> None:
        session = self._session
        if not session.connected.value:
            return
        room = session.room
        if granted:
            if not session.can_publish.value or not self._place.held():
                return  # left (or revoked) since this grant: publishing now would be refused
            await room.set_microphone(True, session.audio_source)
            if self._camera:
                await room.set_camera(True, session.video_source)
        else:
            # LiveKit already unpublished our tracks; release the local sources too.
            with contextlib.suppress(UTDStreamException):
                await room.set_microphone(False)
            with contextlib.suppress(UTDStreamException):
                await room.set_camera(False)


async def publish_on_answer(
    answer: UTDRoomState,
    publish: Callable[[], Awaitable[None]],
    wait_for_grant: Callable[[], Awaitable[None]],
) -> None:
    """Publish as soon as the engine's ``answer`` says LiveKit holds the new grant
    (``grant_applied``); otherwise once the grant's permission event arrived.

    The answer comes several milliseconds before LiveKit tells the participant itself. If the
    grant was taken back in between, LiveKit refuses that first publish (or the engine's newer
    word has superseded the answer): the session then waits for the permission event as it
    would have without the answer, and publishes once it comes (``timeout`` if it never does).
    """
    if answer.grant_applied:
        try:
            await publish()
            return
        except UTDStreamException as exc:
            log.info("publishing on the engine's answer failed (%s); waiting for the grant", exc)
    await wait_for_grant()
    await publish()


class RequestsFollower:
    """Keep the request lists current where the engine leaves them out of its snapshots (a
    room with many pending requests): ``fetch`` the room whenever they are outdated."""

    def __init__(
        self,
        session: FollowedSession,
        spawn: Spawn,
        fetch: Callable[[], Awaitable[UTDRoomState]],
    ) -> None:
        self._session = session
        self._spawn = spawn
        self._fetch = fetch
        self._refreshing = False
        self._subscription = session.room.store.view(ROOM_STATE).subscribe(self._on_room_state)

    def dispose(self) -> None:
        """Stop following."""
        self._subscription.dispose()

    def _on_room_state(self, _: UTDRoomState | None) -> None:
        outdated = select_requests_outdated(self._session.room.store.state)
        if outdated and not self._refreshing and self._session.connected.value:
            # One fetch at a time; it fetches again if the lists moved on meanwhile.
            self._refreshing = True
            self._spawn(self._refresh(), "refresh requests")

    async def _refresh(self) -> None:
        store = self._session.room.store
        try:
            while select_requests_outdated(store.state) and self._session.connected.value:
                store.dispatch(RoomStateReceived(await self._fetch()))
        finally:
            self._refreshing = False
