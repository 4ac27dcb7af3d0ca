"""1:1 calls: created with their room, moved from status to status, timed out when nobody
answers; each change saved with its room's new version and pushed to both parties."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any, Protocol

from utd_stream_rx.models import UTDCallEndReason, UTDCallStatus, UTDStreamType

from .auth import Bearer
from .busy_calls import answers_busy, make_busy
from .call_outcomes import CallDecision, CallOutcome
from .config import EngineConfig
from .effects import Effects
from .errors import ApiError
from .livekit_bridge import LiveKitBridge
from .livekit_push import LiveKitPusher
from .state import CallRecord, RoomRecord
from .storage import Storage

__all__ = ["OPEN_CALL_STATUSES", "CallControl", "CallHost", "require_party"]

OPEN_CALL_STATUSES = frozenset({UTDCallStatus.INITIATING, UTDCallStatus.RINGING})
"""Statuses of a call that still rings."""


class CallHost(Protocol):
    """What calls need of the engine (the engine itself, without importing it back)."""

    config: EngineConfig
    storage: Storage
    bridge: LiveKitBridge
    pusher: LiveKitPusher

    @property
    def livekit_url(self) -> str:
        """The URL clients connect to."""
        ...

    def lock(
        self, app_id: str, room_name: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """The lock that serializes changes of one room, across instances."""
        ...

    async def load_room(self, app_id: str, room_name: str) -> RoomRecord:
        """The room or 404 ``not_found``."""
        ...

    async def livekit_token(self, room: RoomRecord, identity: str, name: str | None) -> str:
        """A LiveKit token for ``room``."""
        ...


def require_party(call: CallRecord | None, bearer: Bearer) -> None:
    """403 ``forbidden`` unless the bearer is the caller or the callee of ``call`` (nobody
    is a party to a call room whose call is missing)."""
    if call is None or not call.involves(bearer.identity):
        raise ApiError.forbidden("only the caller and the callee see this call")


class CallControl:
    """Creates calls and moves them on."""

    def __init__(self, engine: CallHost) -> None:
        self._engine = engine

    async def create(
        self,
        caller: Bearer,
        *,
        callee_identity: str,
        callee_name: str | None,
        kind: UTDStreamType,
        metadata: dict[str, Any],
    ) -> dict[str, Any]:
        """A new call in ``initiating``, with the caller's token; or, for a callee who rejects
        calls while busy and is in an active call, a call already over (``busy``, no token)."""
        engine = self._engine
        now = time.time()
        call_id = uuid.uuid4().hex
        room_name = f"call-{call_id}"
        call = CallRecord(
            call_id=call_id,
            app_id=caller.app_id,
            status=UTDCallStatus.INITIATING,
            type=kind,
            room_name=room_name,
            caller_identity=caller.identity,
            callee_identity=callee_identity,
            caller_name=caller.name,
            callee_name=callee_name,
            metadata=metadata,
            created_at=now,
            updated_at=now,
        )
        if await answers_busy(engine.storage, caller.app_id, callee_identity):
            make_busy(call)
            await engine.storage.save(calls=[call])
            return call.to_json()
        room = RoomRecord(
            app_id=caller.app_id,
            room_name=room_name,
            type=kind,
            host_identity=caller.identity,
            call_id=call_id,
            created_at=now,
        )
        if caller.name:
            room.remember_name(caller.identity, caller.name)
        if callee_name:
            room.remember_name(callee_identity, callee_name)
        async with engine.lock(caller.app_id, room_name):
            await engine.storage.save(rooms=[room], calls=[call])
            await engine.pusher.guard(
                "create call room",
                engine.bridge.ensure_room(
                    room.livekit_name, await engine.pusher.metadata(room, call), max_participants=2
                ),
            )
        token = await engine.livekit_token(room, caller.identity, caller.name)
        return call.to_json(token=token, url=engine.livekit_url)

    async def load(self, app_id: str, call_id: str) -> CallRecord:
        """The call of this app, or 404."""
        call = await self._engine.storage.load_call(call_id)
        if call is None or call.app_id != app_id:
            raise ApiError.not_found(f"no call {call_id}")
        return call

    async def for_party(self, bearer: Bearer, call_id: str) -> CallRecord:
        """The call, if the bearer is a party to it (404, else 403 ``forbidden``)."""
        call = await self.load(bearer.app_id, call_id)
        require_party(call, bearer)
        return call

    async def transition(self, app_id: str, call_id: str, decide: CallDecision) -> CallRecord:
        """Move a call to the outcome ``decide`` returns (``None`` = leave it as it is).

        A call that is over stays as it is, its end reason included.
        """
        engine = self._engine
        call = await self.load(app_id, call_id)
        async with engine.lock(app_id, call.room_name):
            call = await self.load(app_id, call_id)
            outcome = decide(call)  # may refuse (raise), as for a call that is over
            if outcome is None or outcome.status is call.status or call.status.is_terminal:
                return call
            room = await engine.storage.load_room(app_id, call.room_name)
            call.status = outcome.status
            if outcome.status.is_terminal:
                # Every engine decision that ends a call names its reason; the fallback only
                # keeps a call from ever being over without one.
                call.end_reason = str(outcome.reason or UTDCallEndReason.HUNG_UP)
            call.version += 1
            call.updated_at = time.time()
            rooms: list[RoomRecord] = []
            if room is not None:
                room.bump_version()
                rooms.append(room)
            await engine.storage.save(rooms=rooms, calls=[call])
            if room is not None:
                effects = Effects()
                effects.notify(
                    "utd.call",
                    (call.caller_identity, call.callee_identity),
                    {"call": call.to_json()},
                )
                await engine.pusher.push(room, room.grants(), effects, call)
        return call

    async def callee_token(self, call: CallRecord) -> str:
        """The callee's token for the call room."""
        return await self.party_token(call, call.callee_identity)

    async def party_token(self, call: CallRecord, identity: str) -> str:
        """A token for the call room for one of the call's two parties."""
        room = await self._engine.load_room(call.app_id, call.room_name)
        name = call.caller_name if identity == call.caller_identity else call.callee_name
        return await self._engine.livekit_token(room, identity, name)

    async def expire_unanswered(self) -> None:
        """Turn every call that rang longer than ``ring_timeout`` into ``missed``."""
        deadline = time.time() - self._engine.config.ring_timeout
        for call in await self._engine.storage.calls_with_status(OPEN_CALL_STATUSES):
            if call.created_at <= deadline:

                def decide(current: CallRecord) -> CallOutcome | None:
                    if current.status not in OPEN_CALL_STATUSES:
                        return None
                    return CallOutcome(UTDCallStatus.MISSED, UTDCallEndReason.TIMEOUT)

                try:
                    await self.transition(call.app_id, call.call_id, decide)
                except ApiError:
                    continue
