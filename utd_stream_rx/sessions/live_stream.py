"""Live streams: one host, unlimited viewers, and a stage of co-publishers with no cap."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._validate import check_bool, check_name, check_reason
from ..errors import UTDStreamException
from ..models import UTDRoomState, UTDStageStatus, UTDStreamType
from ..state.events import RoomStateReceived
from ..state.session_view import session_view
from ..state.view_specs import STAGE, STAGE_INVITATIONS, STAGE_REQUESTS, STAGE_STATUS
from ._following import publish_on_answer
from ._moderation import ModerationMixin
from .base import UTDSession

if TYPE_CHECKING:
    from ..api import UTDApiClient

__all__ = ["UTDLiveStreamSession"]


class UTDLiveStreamSession(ModerationMixin, UTDSession):
    """A live stream. The host publishes with :meth:`go_live`; viewers watch.

    Stage control is server-authoritative: the host invites a viewer (who accepts or
    declines), or puts them on stage directly; the engine grants them publishing through
    LiveKit, and the viewer's session starts its camera and microphone when the grant arrives
    (and stops them when it is revoked). ``stage_status`` tells each participant where they
    are in that flow. Join with
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
            self._follow_grant(camera=True, place=self.stage_status, holds=_is_on_stage)

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

    async def invite_to_stage(self, identity: str, direct: bool = False) -> None:
        """Host: invite a viewer to the stage.

        The viewer sees ``stage_status`` ``invited`` and a ``StageInvitationReceived`` event, and
        answers with :meth:`accept_stage_invitation` or :meth:`decline_stage_invitation`. With
        ``direct`` (or when the viewer asked to come on stage) the engine puts them on stage at
        once and grants them camera and microphone.
        """
        check_name(identity, "identity")
        check_bool(direct, "direct")
        self._require_host("invite to the stage")
        invite = functools.partial(self._api.stage.invite_to_stage, direct=direct)
        await self._stage_command("invite_to_stage", invite, identity)

    async def accept_stage_invitation(self) -> None:
        """Viewer: accept the host's invitation; returns once on stage with the camera and
        microphone published (as soon as the engine's answer says LiveKit holds the grant).

        Raises:
            UTDStreamException: ``no_invitation`` without an open invitation; ``timeout`` when
                the grant does not arrive within ``connect_timeout``.
        """
        async with self._publish_turn:
            answer = await self._stage_command(
                "accept_stage_invitation", self._api.stage.accept_stage_invitation
            )
            await publish_on_answer(
                answer, self._publish_camera_and_microphone, self._wait_on_stage
            )

    async def _publish_camera_and_microphone(self) -> None:
        await self.set_microphone(True)
        await self.set_camera(True)

    async def _wait_on_stage(self) -> None:
        await self._wait_for_grant("on stage")

    async def decline_stage_invitation(self) -> None:
        """Viewer: decline the host's invitation (the host is told).

        Raises:
            UTDStreamException: ``no_invitation`` without an open invitation.
        """
        await self._stage_command(
            "decline_stage_invitation", self._api.stage.decline_stage_invitation
        )

    async def remove_from_stage(self, identity: str) -> None:
        """Host: take a co-publisher off stage; the engine revokes publishing."""
        check_name(identity, "identity")
        self._require_host("remove from the stage")
        await self._stage_command(
            "remove_from_stage", self._api.stage.remove_from_stage, identity
        )

    async def request_stage(self) -> None:
        """Viewer: raise a hand; the host sees it in ``stage_requests``, this viewer's
        ``stage_status`` becomes ``requested``."""
        state = await self._stage_command("request_stage", self._api.stage.request_stage)
        if state.requests_omitted:
            # A crowded room leaves the request lists out of its answers: fetch them once, so
            # this viewer's own request shows.
            await self.refresh_stage()

    async def cancel_stage_request(self) -> None:
        """Viewer: take back the raised hand.

        Raises:
            UTDStreamException: ``no_request`` when no request is pending.
        """
        await self._stage_command("cancel_stage_request", self._api.stage.cancel_stage_request)

    async def deny_stage_request(self, identity: str, reason: str | None = None) -> None:
        """Host: say no to a viewer's request to come on stage; the viewer gets a
        ``StageRequestDenied`` event with ``reason`` (1-64 characters, optional).

        Raises:
            UTDStreamException: ``no_request`` when ``identity`` has no pending request.
        """
        check_name(identity, "identity")
        check_reason(reason)
        self._require_host("deny a stage request")
        await self._stage_command(
            "deny_stage_request", self._api.stage.deny_stage_request, identity, reason
        )

    async def leave_stage(self) -> None:
        """Co-publisher: step down to a viewer, stopping camera and microphone."""
        async with self._publish_turn:
            with contextlib.suppress(UTDStreamException):
                await self.room.set_camera(False)
            with contextlib.suppress(UTDStreamException):
                await self.room.set_microphone(False)
            await self._stage_command("leave_stage", self._api.stage.leave_stage)

    async def _stage_command(
        self, name: str, endpoint: Callable[..., Awaitable[UTDRoomState]], *args: object
    ) -> UTDRoomState:
        """Run ``endpoint(room_name, *args)`` as the room command ``name``."""
        request = functools.partial(endpoint, self.room_name, *args)
        return await self._command(name, request, RoomStateReceived)


def _is_on_stage(status: UTDStageStatus) -> bool:
    return status is UTDStageStatus.ON
