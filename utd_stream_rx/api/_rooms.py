"""Rooms: the engine's state of any room."""

from __future__ import annotations

from ..models import UTDRoomState
from ._caller import Caller, room_segment

__all__ = ["RoomsService"]


class RoomsService:
    """``api.rooms``: read any room's state."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    async def get_room(self, room_name: str) -> UTDRoomState:
        """The engine's state of ``room_name`` (any room type)."""
        return await self._caller.room("GET", f"/api/v1/rooms/{room_segment(room_name)}")
