"""1:1 audio and video calls: the caller starts, the callee accepts by call id."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._validate import check_name, check_reason, check_str
from ..error_codes import ErrorCode
from ..errors import UTDStreamException
from ..models import UTDCall, UTDCallEndReason, UTDCallStatus, UTDStreamType, UTDTokenResponse
from ..state.events import CallAcceptRequested, CallStartRequested, CallUpdated
from ..state.session_view import session_view
from ..state.view_specs import CALL, CALL_ID, CALL_STATUS
from .base import UTDSession

if TYPE_CHECKING:
    from ..api import UTDApiClient

__all__ = ["UTDCallSession"]

log = logging.getLogger(__name__)


class UTDCallSession(UTDSession):
    """A 1:1 call (``audio_call`` or ``video_call``); both parties publish.

    ``status`` goes ``initiating -> ringing -> active`` and ends ``ended``, ``rejected``,
    ``busy`` or ``missed``, and ``call.value.end_reason`` says why (the engine's
    :class:`~utd_stream_rx.models.UTDCallEndReason`, or the text a party gave). Status reaches
    the session from the engine's answers, from the call room (the engine writes the call into
    the room metadata) and from the client's incoming-call stream; the newest version wins, so
    a late answer never undoes a newer status. When the call ends for any reason the session
    leaves the room by itself.
    """

    def __init__(self, api: UTDApiClient, type: UTDStreamType, **kwargs: Any) -> None:
        if not isinstance(type, UTDStreamType):
            raise TypeError(f"type must be a UTDStreamType, not {type!r}")
        if not type.is_call:
            raise ValueError(f"{type.value} is not a call type; use audio_call or video_call")
        super().__init__(api, type, **kwargs)
        self._end_subscription = self.status.subscribe(self._on_status)

    status = session_view(CALL_STATUS)
    call_id = session_view(CALL_ID)
    call = session_view(CALL)

    def _whereabouts(self) -> dict[str, object]:
        return {"call_id": self.call_id.value, "status": self.status.value}

    async def start(
        self,
        callee_identity: str,
        callee_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> UTDCall:
        """Caller: create the call (the engine rings the callee), join its room and publish.

        Returns the engine's call. The microphone (and camera for a video call) is live when
        this returns; the callee's media arrives once they accept. A call the engine answers
        already over (``busy``: the callee rejects calls while in another one) joins no room:
        it is returned as it is, and :attr:`status` shows it.

        Raises:
            UTDStreamException: when the call room cannot be joined (LiveKit down, media
                refused): the call is ended on the engine first (best effort, bounded by the
                client's timeout) so the callee is not left ringing, and :attr:`status` says
                ``ended``. The code is the join failure's (``connect_failed`` ...), the
                failure itself is the ``__cause__``.
        """
        check_name(callee_identity, "callee_identity")
        self._require_idle()
        self.room.store.dispatch(CallStartRequested(callee_identity))
        create = functools.partial(
            self._api.calls.create_call,
            callee_identity, self.type, callee_name=callee_name, metadata=metadata,
        )
        call = await self._call_command("start", create)
        if call.status.is_terminal:
            return call
        await self._join_or_end(call)
        return call

    async def accept(self, call_id: str) -> UTDCall:
        """Callee: accept the call ``call_id``, join its room and publish.

        Raises:
            UTDStreamException: as :meth:`start` when the call room cannot be joined (the
                accepted call is ended then).
        """
        check_str(call_id, "call_id")
        self._require_idle(answering=call_id)
        self.room.store.dispatch(CallAcceptRequested(call_id))
        call = await self._call_command("accept", self._api.calls.accept_call, call_id)
        await self._join_or_end(call)
        return call

    async def join(self, call_id: str) -> UTDCall:
        """Join a live call this user is already a party to (another device, an app that
        restarted): the engine hands a fresh token and the call goes on; the connection this
        one replaces (same identity) is dropped by LiveKit."""
        check_str(call_id, "call_id")
        self._require_idle(answering=call_id)
        call = await self._call_command("join", self._api.calls.rejoin_call, call_id)
        await self._join_call(call)
        return call

    async def rejoin(self) -> None:
        """Join the current call's room again after a lost connection; does nothing while
        connected.

        Raises:
            UTDStreamException: ``closed`` after :meth:`aclose`; ``call_ended`` when the call
                is over (or there is none).
        """
        self._require_open()
        call_id, status = self.call_id.value, self.status.value
        if call_id is None or status is None or status.is_terminal:
            raise UTDStreamException("there is no live call to rejoin", code=ErrorCode.CALL_ENDED)
        if self.connected.value:
            return
        await self.room.disconnect()  # a lost connection may still hold its LiveKit room
        call = await self._call_command("rejoin", self._api.calls.rejoin_call, call_id)
        await self._join_call(call)

    async def ringing(self, call_id: str) -> None:
        """Callee: tell the caller this device is ringing."""
        check_str(call_id, "call_id")
        await self._call_command("ringing", self._api.calls.report_ringing, call_id)

    async def reject(self, call_id: str, reason: str | None = None) -> None:
        """Callee: decline the call; its ``end_reason`` is ``reason`` (1-64 characters) when
        given, else ``declined``."""
        check_str(call_id, "call_id")
        check_reason(reason)
        await self._call_command("reject", self._api.calls.reject_call, call_id, reason)

    async def busy(self, call_id: str) -> None:
        """Callee: answer that this user is busy."""
        check_str(call_id, "call_id")
        await self._call_command("busy", self._api.calls.report_busy, call_id)

    async def end(self, reason: str | None = None) -> None:
        """Hang up: end the call on the engine and leave the room.

        The call's ``end_reason`` is ``reason`` (1-64 characters) when given, else the
        engine's (``hung_up`` once active, ``cancelled`` by the caller before it is answered).
        Harmless on a call that already ended (or never started), when called twice and after
        :meth:`aclose`; the room is always torn down, even if the engine cannot be reached.
        """
        check_reason(reason)
        if self._closed:
            return
        call_id = self.call_id.value
        status = self.status.value
        try:
            if call_id is not None and (status is None or not status.is_terminal):
                await self._call_command("end", self._api.calls.end_call, call_id, reason)
        finally:
            await self.leave()

    async def aclose(self) -> None:
        """End the call if one is live, then release the session."""
        if self._closed:
            return
        with contextlib.suppress(UTDStreamException):
            await self.end()
        self._end_subscription.dispose()
        await super().aclose()

    # -- internals -------------------------------------------------------------------------

    async def _call_command(
        self, name: str, endpoint: Callable[..., Awaitable[UTDCall]], *args: object
    ) -> UTDCall:
        """Send the call command ``endpoint(*args)`` and feed its answer into the store.

        Refused (``closed``) before the request on a closed session; it need not be in a room.
        """
        request = functools.partial(endpoint, *args)
        return await self._command(name, request, CallUpdated, in_room=False)

    async def _join_or_end(self, call: UTDCall) -> None:
        """Join the room of a call this session created or accepted, or end that call.

        A call nobody can join would otherwise ring (or stay active) on the engine until it
        times out, with the other party waiting for this one.
        """
        try:
            await self._join_call(call)
        except Exception as exc:
            await self.leave()
            ended = await self._end_abandoned(call.call_id)
            outcome = "the call was ended" if ended else "ending the call failed as well"
            reason = exc.message if isinstance(exc, UTDStreamException) else repr(exc)
            raise UTDStreamException(
                f"could not join the room of call {call.call_id} ({reason}); {outcome}",
                code=exc.code if isinstance(exc, UTDStreamException) else ErrorCode.CONNECT_FAILED,
            ) from exc

    async def _end_abandoned(self, call_id: str) -> bool:
        """End ``call_id`` on the engine within the client's timeout (reason ``failed``);
        whether it ended."""
        failed = str(UTDCallEndReason.FAILED)
        try:
            async with asyncio.timeout(self._api.timeout):
                await self._call_command("end", self._api.calls.end_call, call_id, failed)
        except (UTDStreamException, TimeoutError) as exc:
            log.warning("could not end call %s that this session failed to join: %s", call_id, exc)
            return False
        return True

    async def _join_call(self, call: UTDCall) -> None:
        if not call.token or not call.url:
            raise UTDStreamException(
                f"the engine answered call {call.call_id} without a room token",
                code=ErrorCode.INVALID_RESPONSE,
            )
        token = UTDTokenResponse(call.token, call.url, call.room_name or "", "")
        await self.enter_room(token)
        try:
            await self.room.set_microphone(True, self.audio_source)
            if self.type.has_video:
                await self.room.set_camera(True, self.video_source)
        except UTDStreamException:
            await self.leave()
            raise

    def _require_idle(self, answering: str | None = None) -> None:
        self._require_open()
        status = self.status.value
        live = status is not None and not status.is_terminal
        # A callee that sent ringing() for this very call may still accept it.
        if live and answering is not None and self.call_id.value == answering:
            live = False
        if self.connected.value or live:
            raise UTDStreamException(
                "this session already has a live call; end() it first",
                code=ErrorCode.CALL_IN_PROGRESS,
            )

    def _on_status(self, status: UTDCallStatus | None) -> None:
        if status is not None and status.is_terminal and self.connected.value:
            log.info("call %s is %s; leaving its room", self.call_id.value, status.value)
            self._tasks.spawn(self.room.disconnect(), "leave ended call")

