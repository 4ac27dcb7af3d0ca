"""Rooms: the engine's state of any room, and its host's moderation."""

from __future__ import annotations

from .._http import quote_segment
from .._validate import check_name, check_reason
from ..models import UTDRoomState
from ._caller import Caller, body_of, room_segment

__all__ = ["RoomsService"]


class RoomsService:
    """``api.rooms``: read any room's state; as its host, remove, ban, unban and end."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    async def get_room(self, room_name: str) -> UTDRoomState:
        """The engine's state of ``room_name`` (any room type)."""
        return await self._caller.room("GET", f"/api/v1/rooms/{room_segment(room_name)}")

    async def remove_participant(self, room_name: str, identity: str) -> UTDRoomState:
        """Host: remove ``identity`` from a live stream or audio room.

        What it holds is freed, it gets the ``utd.participant.removed`` notice, then LiveKit
        disconnects it; a token it minted before cannot bring it back (a fresh one can).
        """
        path = f"/api/v1/rooms/{room_segment(room_name)}/participants/remove"
        return await self._caller.room("POST", path, {"identity": check_name(identity, "identity")})

    async def ban_from_room(self, room_name: str, identity: str) -> UTDRoomState:
        """Host: ban ``identity`` from the room (removed as by :meth:`remove_participant`;
        its tokens and commands for the room answer ``banned`` until unbanned). Idempotent."""
        path = f"/api/v1/rooms/{room_segment(room_name)}/bans"
        return await self._caller.room("POST", path, {"identity": check_name(identity, "identity")})

    async def unban_from_room(self, room_name: str, identity: str) -> UTDRoomState:
        """Host: lift the room ban of ``identity`` (idempotent; also in an ended room)."""
        who = quote_segment(check_name(identity, "identity"))
        path = f"/api/v1/rooms/{room_segment(room_name)}/bans/{who}"
        return await self._caller.room("DELETE", path)

    async def end_room(self, room_name: str, reason: str | None = None) -> UTDRoomState:
        """Host: end the room for everyone (``reason``: optional, 1-64 characters).

        Everyone gets the ``utd.room.ended`` notice and is disconnected; until a host mints a
        token for it again, tokens and commands for the room answer ``room_ended``.
        """
        path = f"/api/v1/rooms/{room_segment(room_name)}/end"
        return await self._caller.room("POST", path, body_of(reason=check_reason(reason)))
