"""Live streams: one host, unlimited viewers, and a stage of co-publishers with no cap."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._validate import check_bool, check_name
from ..error_codes import ErrorCode
from ..errors import UTDStreamException
from ..models import UTDRoomState, UTDStreamType
from ..state.events import RoomStateReceived
from ..state.session_view import session_view
from ..state.view_specs import STAGE, STAGE_INVITATIONS, STAGE_REQUESTS, STAGE_STATUS
from ._moderation import ModerationMixin
from .base import UTDSession

if TYPE_CHECKING:
    from ..api import UTDApiClient

__all__ = ["UTDLiveStreamSession"]


class UTDLiveStreamSession(ModerationMixin, UTDSession):
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
    stage_invitations = session_view(STAGE_INVITATIONS)
    stage_status = session_view(STAGE_STATUS)

    async def go_live(self, with_video: bool = True) -> None:
        """Host: start broadcasting the microphone and, by default, the camera.

        The engine grants the host publishing once LiveKit reports them in the room (no
        token carries that right); this waits for the grant, up to ``connect_timeout``.
        """
        check_bool(with_video, "with_video")
        self._require_host("go live")
        self._require_in_room()
        await self._wait_for_grant("the host")
        await self.set_microphone(True)
        if with_video:
            await self.set_camera(True)

    def _fetch_stage(self) -> Awaitable[UTDRoomState]:
        return self._api.stage.get_stage(self.room_name)

    async def _resync(self) -> None:
        await self.refresh_stage()

    async def refresh_stage(self) -> None:
        """Fetch the stage roster (and pending requests) from the engine."""
        await self._command("refresh_stage", self._fetch_stage, RoomStateReceived)

    async def invite_to_stage(self, identity: str) -> None:
        """Host: put a viewer on stage; the engine grants them camera and microphone."""
        check_name(identity, "identity")
        self._require_host("invite to the stage")
        await self._stage_command("invite_to_stage", self._api.stage.invite_to_stage, identity)

    async def remove_from_stage(self, identity: str) -> None:
        """Host: take a co-publisher off stage; the engine revokes publishing."""
        check_name(identity, "identity")
        self._require_host("remove from the stage")
        await self._stage_command(
            "remove_from_stage", self._api.stage.remove_from_stage, identity
        )

    async def request_stage(self) -> None:
        """Viewer: raise a hand; the host sees it in ``stage_requests``."""
        await self._stage_command("request_stage", self._api.stage.request_stage)

    async def leave_stage(self) -> None:
        """Co-publisher: step down to a viewer, stopping camera and microphone."""
        with contextlib.suppress(UTDStreamException):
            await self.room.set_camera(False)
        with contextlib.suppress(UTDStreamException):
            await self.room.set_microphone(False)
        await self._stage_command("leave_stage", self._api.stage.leave_stage)

    async def _stage_command(
        self, name: str, endpoint: Callable[..., Awaitable[UTDRoomState]], *args: object
    ) -> None:
        """Run ``endpoint(room_name, *args)`` as the room command ``name``."""
        request = functools.partial(endpoint, self.room_name, *args)
        await self._command(name, request, RoomStateReceived)

    def _require_host(self, what: str) -> None:
        if not self.is_host:
            raise UTDStreamException(f"only the host may {what}", status_code=403,
                                     code=ErrorCode.FORBIDDEN)
