"""Audio rooms: a grid of seats; holding a seat is what lets a participant speak."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from ..errors import UTDStreamException
from ..models import UTDRoomState, UTDSeatGrid, UTDSeatMode, UTDStreamType
from ..state.session_view import session_view
from ..state.view_specs import INVITATIONS, SEATS, SPEAK_REQUESTS
from .base import UTDSession
from .call import _require_identity

if TYPE_CHECKING:
    from ..api import UTDApiClient

__all__ = ["UTDAudioRoomSession"]


class UTDAudioRoomSession(UTDSession):
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
        self._follow_grant(camera=False)
        if is_host:
            self._follow_requests(self._fetch_seats)

    seats = session_view(SEATS)
    speak_requests = session_view(SPEAK_REQUESTS)
    invitations = session_view(INVITATIONS)

    async def setup_seats(
        self,
        seat_count: int | None = None,
        seat_mode: UTDSeatMode | str | None = None,
        mode_id: str | None = None,
    ) -> UTDSeatGrid:
        """Host: configure the grid (count 1-64, ``free`` or ``request`` mode)."""
        if seat_count is not None and (
            isinstance(seat_count, bool) or not isinstance(seat_count, int)
        ):
            raise TypeError("seat_count must be an int")
        mode = _seat_mode(seat_mode)
        state = await self._command(
            "setup_seats",
            lambda: self._api.seats_setup(
                self.room_name, seat_count=seat_count, seat_mode=mode, mode_id=mode_id
            ),
        )
        return _grid(state.seats)

    async def get_seats(self) -> UTDSeatGrid:
        """Fetch the seat grid from the engine."""
        state = await self._command("get_seats", lambda: self._api.get_seats(self.room_name))
        return _grid(state.seats)

    async def take_seat(self, index: int) -> None:
        """Take seat ``index``; returns once seated with the microphone publishing.

        In ``request`` mode this needs the host's approval or an invitation first.
        """
        _require_index(index)
        await self._command("take_seat", lambda: self._api.seat_take(self.room_name, index))
        await self._start_speaking()

    async def accept_invitation(self) -> None:
        """Accept the host's invitation: take the invited seat (or the first free one).

        The engine owns invitations and decides which seat, so this works as soon as the host's
        ``invite_to_speak`` has returned, whether or not :attr:`invitations` shows it yet.
        Returns once seated with the microphone publishing.

        Raises:
            UTDStreamException: ``not_found`` without an open invitation; ``seat_taken`` or
                ``seat_locked`` when the seat went meanwhile (the invitation stays).
        """
        await self._command(
            "accept_invitation", lambda: self._api.accept_invitation(self.room_name)
        )
        await self._start_speaking()

    async def decline_invitation(self) -> None:
        """Decline the host's invitation to speak."""
        await self._command(
            "decline_invitation", lambda: self._api.decline_invitation(self.room_name)
        )

    async def leave_seat(self) -> None:
        """Leave the seat and become a listener; the microphone stops."""
        with contextlib.suppress(UTDStreamException):
            await self.room.set_microphone(False)
        await self._command("leave_seat", lambda: self._api.seat_leave(self.room_name))

    async def request_to_speak(self, seat_index: int | None = None) -> None:
        """Listener: ask the host for a seat (optionally a particular one)."""
        if seat_index is not None:
            _require_index(seat_index)
        await self._command(
            "request_to_speak", lambda: self._api.seat_request(self.room_name, seat_index)
        )

    async def approve_speaker(self, request_id: int, seat_index: int | None = None) -> None:
        """Host: approve a pending request; the engine seats the requester."""
        if isinstance(request_id, bool) or not isinstance(request_id, int):
            raise TypeError("request_id must be an int")
        if seat_index is not None:
            _require_index(seat_index)
        await self._command(
            "approve_speaker",
            lambda: self._api.approve_speak_request(self.room_name, request_id, seat_index),
        )

    async def invite_to_speak(self, identity: str, seat_index: int | None = None) -> None:
        """Host: invite a listener to take a seat (``seat_index`` or any free one)."""
        _require_identity(identity, "identity")
        if seat_index is not None:
            _require_index(seat_index)
        await self._command(
            "invite_to_speak", lambda: self._api.seat_invite(self.room_name, identity, seat_index)
        )

    async def lock_seat(self, index: int) -> None:
        """Host: refuse new takers for seat ``index`` (its holder stays)."""
        _require_index(index)
        await self._command("lock_seat", lambda: self._api.seat_lock(self.room_name, index, True))

    async def unlock_seat(self, index: int) -> None:
        """Host: open seat ``index`` again."""
        _require_index(index)
        await self._command(
            "unlock_seat", lambda: self._api.seat_lock(self.room_name, index, False)
        )

    async def mute_seat(self, index: int, muted: bool = True) -> None:
        """Host: mute (or unmute) the microphone of the holder of seat ``index``."""
        _require_index(index)
        await self._command(
            "mute_seat", lambda: self._api.seat_mute(self.room_name, index, muted)
        )

    async def kick_from_seat(self, index: int) -> None:
        """Host: free seat ``index``; its holder loses publishing."""
        _require_index(index)
        await self._command("kick_from_seat", lambda: self._api.seat_kick(self.room_name, index))

    def _fetch_seats(self) -> Awaitable[UTDRoomState]:
        return self._api.get_seats(self.room_name)

    async def _resync(self) -> None:
        await self.get_seats()

    async def _start_speaking(self) -> None:
        await self._wait_for_grant("seated")
        await self.room.set_microphone(True, self.audio_source)


def _grid(seats: UTDSeatGrid | None) -> UTDSeatGrid:
    if seats is None:
        raise UTDStreamException("this room has no seat grid yet", code="not_found")
    return seats


def _require_index(index: object) -> None:
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"a seat index must be an int, not {type(index).__name__}")
    if index < 0:
        raise ValueError("a seat index cannot be negative")


def _seat_mode(mode: UTDSeatMode | str | None) -> UTDSeatMode | None:
    if mode is None or isinstance(mode, UTDSeatMode):
        return mode
    if isinstance(mode, str):
        try:
            return UTDSeatMode(mode)
        except ValueError:
            raise ValueError(f"seat_mode must be 'free' or 'request', not {mode!r}") from None
    raise TypeError("seat_mode must be a UTDSeatMode or a str")
