"""The live stream's stage: who co-publishes with the host, and who asks to."""

from __future__ import annotations

from .._validate import check_bool, check_name, check_reason
from ..models import UTDRoomState
from ._caller import Caller, body_of, room_segment

__all__ = ["StageService"]


def _stage_path(room_name: str, tail: str) -> str:
    return f"/api/v1/live/{room_segment(room_name)}/stage{tail}"


class StageService:
    """``api.stage``: read and change a live stream's stage."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    async def get_stage(self, room_name: str) -> UTDRoomState:
        """The live stream's state, with its stage and stage requests."""
        return await self._caller.room("GET", _stage_path(room_name, ""))

    async def invite_to_stage(
        self, room_name: str, identity: str, *, direct: bool = False
    ) -> UTDRoomState:
        """Host: invite ``identity`` to the stage.

        The invitee answers with :meth:`accept_stage_invitation` or
        :meth:`decline_stage_invitation`. With ``direct`` (or when ``identity`` asked to come
        on stage) they are on stage at once, allowed to publish camera and microphone.
        """
        path = _stage_path(room_name, "/invite")
        body: dict[str, object] = {"identity": check_name(identity, "identity")}
        if check_bool(direct, "direct"):
            body["direct"] = True
        return await self._caller.room("POST", path, body)

    async def accept_stage_invitation(self, room_name: str) -> UTDRoomState:
        """Invitee: accept the host's invitation and go on stage."""
        return await self._caller.room("POST", _stage_path(room_name, "/invitation/accept"), {})

    async def decline_stage_invitation(self, room_name: str) -> UTDRoomState:
        """Invitee: decline the host's invitation."""
        return await self._caller.room("POST", _stage_path(room_name, "/invitation/decline"), {})

    async def remove_from_stage(self, room_name: str, identity: str) -> UTDRoomState:
        """Host: take ``identity`` off stage and revoke their publishing."""
        path = _stage_path(room_name, "/remove")
        return await self._caller.room("POST", path, {"identity": check_name(identity, "identity")})

    async def request_stage(self, room_name: str) -> UTDRoomState:
        """Viewer: raise a hand to be invited on stage (idempotent)."""
        return await self._caller.room("POST", _stage_path(room_name, "/request"), {})

    async def cancel_stage_request(self, room_name: str) -> UTDRoomState:
        """Viewer: take back the raised hand."""
        return await self._caller.room("POST", _stage_path(room_name, "/request/cancel"), {})

    async def deny_stage_request(
        self, room_name: str, identity: str, reason: str | None = None
    ) -> UTDRoomState:
        """Host: say no to the request of ``identity``, optionally with a reason (1-64
        characters) the requester is told."""
        path = _stage_path(room_name, "/deny")
        body = body_of(identity=check_name(identity, "identity"), reason=check_reason(reason))
        return await self._caller.room("POST", path, body)

    async def leave_stage(self, room_name: str) -> UTDRoomState:
        """Co-publisher: step off the stage."""
        return await self._caller.room("POST", _stage_path(room_name, "/leave"), {})
