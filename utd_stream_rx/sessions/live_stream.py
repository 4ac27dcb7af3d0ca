"""Live streams: one host, unlimited viewers, and a stage of co-publishers with no cap."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from ..errors import UTDStreamException
from ..models import UTDRoomState, UTDStreamType
from ..state.session_view import session_view
from ..state.view_specs import STAGE, STAGE_REQUESTS
from .base import UTDSession
from .call import _require_identity

if TYPE_CHECKING:
    from ..api import UTDApiClient

__all__ = ["UTDLiveStreamSession"]


class UTDLiveStreamSession(UTDSession):
    """A live stream. The host publishes with :meth:`go_live`; viewers watch.

    Stage control is server-authoritative: the host invites a viewer, the engine grants them
    publishing through LiveKit, and the viewer's session starts its camera and microphone when
    the grant arrives (and stops them when it is revoked). Join with
    ``UTDStreamClient.join_live_stream``.
    """

    def __init__(
        self, api: UTDApiClient, room_name: str, *, is_host: bool, **kwargs: Any
    ) -> None:
        super().__init__(api, UTDStreamType.LIVE_STREAM, **kwargs)
        self.room_name = room_name
        self.is_host = is_host
        if is_host:
            self._follow_requests(self._fetch_stage)
        else:
            self._follow_grant(camera=True)

    stage = session_view(STAGE)
    stage_requests = session_view(STAGE_REQUESTS)

    async def go_live(self, with_video: bool = True) -> None:
        """Host: start broadcasting the microphone and, by default, the camera.

        The engine grants the host publishing once LiveKit reports them in the room (no
        token carries that right); this waits for the grant, up to ``connect_timeout``.
        """
        if not isinstance(with_video, bool):
            raise TypeError("with_video must be a bool")
        self._require_host("go live")
        self._require_in_room()
        await self._wait_for_grant("the host")
        await self.set_microphone(True)
        if with_video:
            await self.set_camera(True)

    def _fetch_stage(self) -> Awaitable[UTDRoomState]:
        return self._api.get_stage(self.room_name)

    async def _resync(self) -> None:
        await self.refresh_stage()

    async def refresh_stage(self) -> None:
        """Fetch the stage roster (and pending requests) from the engine."""
        await self._command("refresh_stage", lambda: self._api.get_stage(self.room_name))

    async def invite_to_stage(self, identity: str) -> None:
        """Host: put a viewer on stage; the engine grants them camera and microphone."""
        _require_identity(identity, "identity")
        self._require_host("invite to the stage")
        await self._command(
            "invite_to_stage", lambda: self._api.stage_invite(self.room_name, identity)
        )

    async def remove_from_stage(self, identity: str) -> None:
        """Host: take a co-publisher off stage; the engine revokes publishing."""
        _require_identity(identity, "identity")
        self._require_host("remove from the stage")
        await self._command(
            "remove_from_stage", lambda: self._api.stage_remove(self.room_name, identity)
        )

    async def request_stage(self) -> None:
        """Viewer: raise a hand; the host sees it in ``stage_requests``."""
        await self._command("request_stage", lambda: self._api.stage_request(self.room_name))

    async def leave_stage(self) -> None:
        """Co-publisher: step down to a viewer, stopping camera and microphone."""
        with contextlib.suppress(UTDStreamException):
            await self.room.set_camera(False)
        with contextlib.suppress(UTDStreamException):
            await self.room.set_microphone(False)
        await self._command("leave_stage", lambda: self._api.stage_leave(self.room_name))

    def _require_host(self, what: str) -> None:
        if not self.is_host:
            raise UTDStreamException(f"only the host may {what}", status_code=403, code="forbidden")
