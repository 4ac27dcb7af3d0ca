"""The live stream's stage: who co-publishes with the host, and who asks to."""

from __future__ import annotations

from .._validate import check_name
from ..models import UTDRoomState
from ._caller import Caller, room_segment

__all__ = ["StageService"]


class StageService:
    """``api.stage``: read and change a live stream's stage."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    async def get_stage(self, room_name: str) -> UTDRoomState:
        """The live stream's state, with its stage and stage requests."""
        return await self._caller.room("GET", f"/api/v1/live/{room_segment(room_name)}/stage")

    async def invite_to_stage(self, room_name: str, identity: str) -> UTDRoomState:
        """Host: put ``identity`` on stage and let them publish camera and microphone."""
        path = f"/api/v1/live/{room_segment(room_name)}/stage/invite"
        return await self._caller.room("POST", path, {"identity": check_name(identity, "identity")})

    async def remove_from_stage(self, room_name: str, identity: str) -> UTDRoomState:
        """Host: take ``identity`` off stage and revoke their publishing."""
        path = f"/api/v1/live/{room_segment(room_name)}/stage/remove"
        return await self._caller.room("POST", path, {"identity": check_name(identity, "identity")})

    async def request_stage(self, room_name: str) -> UTDRoomState:
        """Viewer: raise a hand to be invited on stage (idempotent)."""
        path = f"/api/v1/live/{room_segment(room_name)}/stage/request"
        return await self._caller.room("POST", path, {})

    async def leave_stage(self, room_name: str) -> UTDRoomState:
        """Co-publisher: step off the stage."""
        path = f"/api/v1/live/{room_segment(room_name)}/stage/leave"
        return await self._caller.room("POST", path, {})
