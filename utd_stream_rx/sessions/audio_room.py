"""Audio rooms: a grid of seats; holding a seat is what lets a participant speak."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._validate import (
    MAX_SEATS,
    check_int,
    check_name,
    check_optional_seat_index,
    check_optional_seat_mode,
    check_reason,
    check_seat_index,
)
from ..error_codes import ErrorCode
from ..errors import UTDStreamException
from ..models import (
    UTDRoomState,
    UTDSeatGrid,
    UTDSeatMode,
    UTDSeatStatus,
    UTDStreamType,
)
from ..state.events import RoomStateReceived
from ..state.session_view import session_view
from ..state.view_specs import INVITATIONS, SEAT_STATUS, SEATS, SPEAK_REQUESTS
from ._following import publish_on_answer
from ._moderation import ModerationMixin
from .base import UTDSession

if TYPE_CHECKING:
    from ..api import UTDApiClient

__all__ = ["UTDAudioRoomSession"]


class UTDAudioRoomSession(ModerationMixin, UTDSession):
    """A seat-based audio room: speakers hold seats and publish audio, listeners listen.

    Publishing is seat occupancy, granted by the engine: whenever this participant is seated
    (by taking a seat, by the host approving a request, by accepting an invitation) the grant
    arrives as a LiveKit event and the microphone starts; when the seat is left or the host
    kicks, the grant is revoked and the microphone stops. Audio only. Join with
    ``UTDStreamClient.join_audio_room``.
    """

    def __init__(
        self, api: UTDApiClient, room_name: str, *, is_host: bool, **kwargs: Any
    ) -> None:
        super().__init__(api, UTDStreamType.AUDIO_ROOM, **kwargs)
        self.room_name = room_name
        self.is_host = is_host
        self._follow_grant(camera=False, place=self.seat_status, holds=_is_seated)
        if is_host:
            self._follow_requests(self._fetch_seats)

    seats = session_view(SEATS)
    speak_requests = session_view(SPEAK_REQUESTS)
    invitations = session_view(INVITATIONS)
    seat_status = session_view(SEAT_STATUS)

    async def setup_seats(
        self,
        seat_count: int | None = None,
        seat_mode: UTDSeatMode | str | None = None,
        mode_id: str | None = None,
    ) -> UTDSeatGrid:
        """Host: configure the grid (count 1-64, ``free`` or ``request`` mode)."""
        if seat_count is not None:
            check_int(seat_count, "seat_count", low=1, high=MAX_SEATS)
        mode = check_optional_seat_mode(seat_mode)
        setup = functools.partial(
            self._api.seats.setup_seats,
            self.room_name, seat_count=seat_count, seat_mode=mode, mode_id=mode_id,
        )
        return _grid((await self._command("setup_seats", setup, RoomStateReceived)).seats)

    async def get_seats(self) -> UTDSeatGrid:
        """Fetch the seat grid from the engine."""
        return _grid((await self._command("get_seats", self._fetch_seats, RoomStateReceived)).seats)

    async def take_seat(self, index: int) -> None:
        """Take seat ``index``; returns once seated with the microphone publishing.

        In ``request`` mode this needs the host's approval or an invitation first.
        """
        check_seat_index(index, "index")
        await self._speaking_after("take_seat", self._api.seats.take_seat, index)

    async def accept_invitation(self) -> None:
        """Accept the host's invitation: take the invited seat (or the first free one).

        The engine owns invitations and decides which seat, so this works as soon as the host's
        ``invite_to_speak`` has returned, whether or not :attr:`invitations` shows it yet.
        Returns once seated with the microphone publishing.

        Raises:
            UTDStreamException: ``no_invitation`` without an open invitation; ``seat_taken`` or
                ``seat_locked`` when the seat went meanwhile (the invitation stays).
        """
        await self._speaking_after("accept_invitation", self._api.seats.accept_invitation)

    async def decline_invitation(self) -> None:
        """Decline the host's invitation to speak (``no_invitation`` without one)."""
        await self._seats_command("decline_invitation", self._api.seats.decline_invitation)

    async def leave_seat(self) -> None:
        """Leave the seat and become a listener; the microphone stops."""
        async with self._publish_turn:
            with contextlib.suppress(UTDStreamException):
                await self.room.set_microphone(False)
            await self._seats_command("leave_seat", self._api.seats.leave_seat)

    async def request_to_speak(self, seat_index: int | None = None) -> None:
        """Listener: ask the host for a seat (optionally a particular one).

        :attr:`seat_status` then shows ``requested``; the host answers by approving
        (seated), denying (``SpeakRequestDenied`` on :attr:`events`) or letting it wait until
        the engine's request time-to-live is over (``SpeakRequestExpired``).
        """
        check_optional_seat_index(seat_index)
        answer = await self._seats_command(
            "request_to_speak", self._api.seats.request_to_speak, seat_index
        )
        if answer.requests_omitted:
            # A busy room's answer leaves the request lists out: fetch them once, so that
            # this listener's own request shows in seat_status.
            await self.get_seats()

    async def cancel_speak_request(self) -> None:
        """Listener: withdraw the pending request to speak.

        Raises:
            UTDStreamException: ``no_request`` when none is pending.
        """
        await self._seats_command("cancel_speak_request", self._api.seats.cancel_speak_request)

    async def deny_speaker(self, request_id: int, reason: str | None = None) -> None:
        """Host: turn a pending request down; the requester gets ``SpeakRequestDenied`` with
        ``reason`` (1-64 characters) if given.

        Raises:
            UTDStreamException: ``no_request`` when no such request is pending; ``forbidden``
                unless this participant is the host.
        """
        check_int(request_id, "request_id", low=0)
        check_reason(reason)
        await self._seats_command(
            "deny_speaker", self._api.seats.deny_speaker, request_id, reason
        )

    async def approve_speaker(self, request_id: int, seat_index: int | None = None) -> None:
        """Host: approve a pending request; the engine seats the requester (``no_request``
        when no such request is pending)."""
        check_int(request_id, "request_id", low=0)
        check_optional_seat_index(seat_index)
        await self._seats_command(
            "approve_speaker", self._api.seats.approve_speaker, request_id, seat_index
        )

    async def invite_to_speak(self, identity: str, seat_index: int | None = None) -> None:
        """Host: invite a listener to take a seat (``seat_index`` or any free one)."""
        check_name(identity, "identity")
        check_optional_seat_index(seat_index)
        await self._seats_command(
            "invite_to_speak", self._api.seats.invite_to_speak, identity, seat_index
        )

    async def lock_seat(self, index: int) -> None:
        """Host: refuse new takers for seat ``index`` (its holder stays)."""
        check_seat_index(index, "index")
        await self._seats_command("lock_seat", self._api.seats.lock_seat, index, True)

    async def unlock_seat(self, index: int) -> None:
        """Host: open seat ``index`` again."""
        check_seat_index(index, "index")
        await self._seats_command("unlock_seat", self._api.seats.lock_seat, index, False)

    async def mute_seat(self, index: int, muted: bool = True) -> None:
        """Host: mute (or unmute) the microphone of the holder of seat ``index``."""
        check_seat_index(index, "index")
        await self._seats_command("mute_seat", self._api.seats.mute_seat, index, muted)

    async def kick_from_seat(self, index: int) -> None:
        """Host: free seat ``index``; its holder loses publishing."""
        check_seat_index(index, "index")
        await self._seats_command("kick_from_seat", self._api.seats.kick_from_seat, index)

    async def _seats_command(
        self,
        name: str,
        endpoint: Callable[..., Awaitable[UTDRoomState]],
        *args: object,
    ) -> UTDRoomState:
        """Run ``endpoint(room_name, *args)`` as the room command ``name``."""
        request = functools.partial(endpoint, self.room_name, *args)
        return await self._command(name, request, RoomStateReceived)

    def _fetch_seats(self) -> Awaitable[UTDRoomState]:
        return self._api.seats.get_seats(self.room_name)

    async def _resync(self) -> None:
        await self.get_seats()

    async def _speaking_after(
        self, name: str, endpoint: Callable[..., Awaitable[UTDRoomState]], *args: object
    ) -> None:
        """Run the seat command ``name`` and publish the microphone once granted: its source
        starts while the engine decides, as a raw client would have it ready."""
        async with self._publish_turn:
            try:
                await self.room.prepare_microphone(self.audio_source)
                answer = await self._seats_command(name, endpoint, *args)
                await publish_on_answer(answer, self._publish_microphone, self._wait_until_seated)
            finally:
                await self.room.discard_prepared()

    async def _publish_microphone(self) -> None:
        await self.room.set_microphone(True, self.audio_source)

    async def _wait_until_seated(self) -> None:
        await self._wait_for_grant("seated")


def _is_seated(status: UTDSeatStatus) -> bool:
    return status.is_seated


def _grid(seats: UTDSeatGrid | None) -> UTDSeatGrid:
    if seats is None:
        raise UTDStreamException("this room has no seat grid yet", code=ErrorCode.NOT_FOUND)
    return seats

