"""Host moderation shared by the room sessions (live streams and audio rooms)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from .._validate import check_name, check_reason
from ..error_codes import ErrorCode
from ..errors import UTDStreamException
from ..models import UTDRoomState
from ..state.events import RoomStateReceived
from .base import UTDSession

__all__ = ["ModerationMixin"]


class ModerationMixin(UTDSession):
    """Host commands of any room session: remove, ban, unban, end the room.

    Each is refused before any request, with 403 ``forbidden``, on a session that did not
    join as host; the engine decides all the same (the room's owner or a verified host).
    Their answers are room states, fed to the store like every room command's.
    """

    room_name: str
    is_host: bool

    def _whereabouts(self) -> dict[str, object]:
        return {"room": self.room_name, "host": self.is_host}

    async def remove_participant(self, identity: str) -> None:
        """Host: remove ``identity`` from the room (its seat, stage place, requests and
        invitations are freed; its session ends after a ``ParticipantRemoved`` notice). It
        may come back with a freshly minted token."""
        check_name(identity, "identity")
        await self._moderate("remove_participant", self._api.rooms.remove_participant, identity)

    async def ban(self, identity: str) -> None:
        """Host: ban ``identity`` from the room: removed as by :meth:`remove_participant`
        (with a ``ParticipantBanned`` notice), and refused (``banned``) until :meth:`unban`."""
        check_name(identity, "identity")
        await self._moderate("ban", self._api.rooms.ban_from_room, identity)

    async def unban(self, identity: str) -> None:
        """Host: lift the room ban of ``identity``."""
        check_name(identity, "identity")
        await self._moderate("unban", self._api.rooms.unban_from_room, identity)

    async def end_room(self, reason: str | None = None) -> None:
        """Host: end the room for everyone (``reason``: optional, 1-64 characters).

        Every session in the room, this one included, is disconnected with
        ``disconnect_reason`` ``"ended"`` and ``room_state.ended`` true; until a host joins
        it again, others' joins fail with ``room_ended``.
        """
        check_reason(reason)
        await self._moderate("end_room", self._api.rooms.end_room, reason)

    def _require_host(self, what: str) -> None:
        """Refuse a host command on a session that did not join as host (403 ``forbidden``),
        before any request; the engine decides all the same."""
        if not self.is_host:
            raise UTDStreamException(
                f"only the host may {what}", status_code=403, code=ErrorCode.FORBIDDEN
            )

    async def _moderate(
        self, name: str, endpoint: Callable[..., Awaitable[UTDRoomState]], *args: object
    ) -> None:
        """Run ``endpoint(room_name, *args)`` as the host's room command ``name``."""
        self._require_host(name.replace("_", " "))
        request = functools.partial(endpoint, self.room_name, *args)
        await self._command(name, request, RoomStateReceived)
