"""Audio-room seats: the grid, taking and leaving seats, requests, invitations, host tools."""

from __future__ import annotations

from .._validate import (
    MAX_SEATS,
    check_bool,
    check_int,
    check_name,
    check_optional_seat_index,
    check_optional_str,
    check_reason,
    check_seat_index,
    check_seat_mode,
)
from ..models import UTDRoomState, UTDSeatMode
from ._caller import Caller, body_of, room_segment

__all__ = ["SeatsService"]


def _seats_path(room_name: str, tail: str) -> str:
    return f"/api/v1/audio-rooms/{room_segment(room_name)}/seats{tail}"


class SeatsService:
    """``api.seats``: an audio room's seat grid and everything done with it."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    async def setup_seats(
        self,
        room_name: str,
        *,
        seat_count: int | None = None,
        seat_mode: UTDSeatMode | str | None = None,
        mode_id: str | None = None,
    ) -> UTDRoomState:
        """Host: size the seat grid (1-64 seats) and choose ``free`` or ``request`` mode.

        Omitted settings keep the engine's current value or default (8 seats, ``free``).
        """
        path = _seats_path(room_name, "/setup")
        body = body_of(
            seat_count=None if seat_count is None
            else check_int(seat_count, "seat_count", low=1, high=MAX_SEATS),
            seat_mode=None if seat_mode is None else check_seat_mode(seat_mode).value,
            mode_id=check_optional_str(mode_id, "mode_id"),
        )
        return await self._caller.room("POST", path, body)

    async def get_seats(self, room_name: str) -> UTDRoomState:
        """The audio room's state with its seat grid."""
        return await self._caller.room("GET", _seats_path(room_name, ""))

    async def take_seat(self, room_name: str, seat_index: int) -> UTDRoomState:
        """Sit on ``seat_index`` (free mode, or with an approval or invitation)."""
        path = _seats_path(room_name, "/take")
        return await self._caller.room("POST", path, {"seat_index": check_seat_index(seat_index)})

    async def leave_seat(self, room_name: str) -> UTDRoomState:
        """Leave the seat the bearer holds."""
        return await self._caller.room("POST", _seats_path(room_name, "/leave"), {})

    async def request_to_speak(
        self, room_name: str, seat_index: int | None = None
    ) -> UTDRoomState:
        """Ask the host for a seat (``seat_index`` or any); idempotent per identity."""
        path = _seats_path(room_name, "/request")
        body = body_of(seat_index=check_optional_seat_index(seat_index))
        return await self._caller.room("POST", path, body)

    async def cancel_speak_request(self, room_name: str) -> UTDRoomState:
        """Withdraw the bearer's pending request to speak (``no_request`` without one)."""
        return await self._caller.room("POST", _seats_path(room_name, "/request/cancel"), {})

    async def list_speak_requests(self, room_name: str) -> UTDRoomState:
        """Host: the room state whose ``speak_requests`` lists pending requests."""
        return await self._caller.room("GET", _seats_path(room_name, "/requests"))

    async def approve_speaker(
        self, room_name: str, request_id: int, seat_index: int | None = None
    ) -> UTDRoomState:
        """Host: seat the requester (requested seat, else ``seat_index``, else the first free);
        ``no_request`` when no such request is pending."""
        room = room_segment(room_name)
        request = check_int(request_id, "request_id", low=0)
        body = body_of(seat_index=check_optional_seat_index(seat_index))
        path = f"/api/v1/audio-rooms/{room}/seats/requests/{request}/approve"
        return await self._caller.room("POST", path, body)

    async def deny_speaker(
        self, room_name: str, request_id: int, reason: str | None = None
    ) -> UTDRoomState:
        """Host: turn a pending request down; the requester is told, with ``reason`` (1-64
        characters) if given. ``no_request`` when no such request is pending."""
        room = room_segment(room_name)
        request = check_int(request_id, "request_id", low=0)
        body = body_of(reason=check_reason(reason))
        path = f"/api/v1/audio-rooms/{room}/seats/requests/{request}/deny"
        return await self._caller.room("POST", path, body)

    async def invite_to_speak(
        self, room_name: str, identity: str, seat_index: int | None = None
    ) -> UTDRoomState:
        """Host: invite ``identity`` to ``seat_index`` or any seat; they accept or decline."""
        path = _seats_path(room_name, "/invite")
        body = body_of(
            identity=check_name(identity, "identity"),
            seat_index=check_optional_seat_index(seat_index),
        )
        return await self._caller.room("POST", path, body)

    async def accept_invitation(self, room_name: str) -> UTDRoomState:
        """Invitee: take the seat the host invited you to; the engine picks it from its record
        (``no_invitation`` without one)."""
        return await self._caller.room("POST", _seats_path(room_name, "/invitation/accept"), {})

    async def decline_invitation(self, room_name: str) -> UTDRoomState:
        """Invitee: decline the host's seat invitation (``no_invitation`` without one)."""
        return await self._caller.room("POST", _seats_path(room_name, "/invitation/decline"), {})

    async def lock_seat(self, room_name: str, index: int, locked: bool = True) -> UTDRoomState:
        """Host: lock (or unlock) seat ``index``; a holder stays, new takers are refused."""
        path = _seats_path(room_name, f"/{check_seat_index(index, 'index')}/lock")
        return await self._caller.room("POST", path, {"locked": check_bool(locked, "locked")})

    async def mute_seat(self, room_name: str, index: int, muted: bool = True) -> UTDRoomState:
        """Host: mute (or unmute) the microphone of seat ``index``'s holder."""
        path = _seats_path(room_name, f"/{check_seat_index(index, 'index')}/mute")
        return await self._caller.room("POST", path, {"muted": check_bool(muted, "muted")})

    async def kick_from_seat(self, room_name: str, index: int) -> UTDRoomState:
        """Host: free seat ``index`` and revoke its holder's publishing."""
        path = _seats_path(room_name, f"/{check_seat_index(index, 'index')}/kick")
        return await self._caller.room("POST", path, {})
