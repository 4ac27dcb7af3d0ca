"""App-wide bans: the configured ban list and run-time bans (``POST /admin/bans``).

A ban takes effect at once: everything the identity holds is freed, its calls end and
LiveKit drops it; its bearers are refused from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.models import UTDCallEndReason

from .call_control import CallControl
from .call_outcomes import ends_over
from .config import EngineConfig
from .effects import RoomChanger
from .errors import ApiError
from .livekit_bridge import LiveKitBridge
from .livekit_push import LiveKitPusher
from .release import release
from .state import RoomRecord, livekit_room_name
from .storage import Storage, call_of

__all__ = ["BanHost", "Bans"]

log = logging.getLogger(__name__)


class BanHost(RoomChanger, Protocol):
    """What bans need of the engine (the engine itself, without importing it back)."""

    config: EngineConfig
    storage: Storage
    bridge: LiveKitBridge
    pusher: LiveKitPusher
    calls: CallControl


class Bans:
    """Who is banned from an app, and banning now."""

    def __init__(self, engine: BanHost) -> None:
        self._engine = engine

    async def is_banned(self, app_id: str, identity: str) -> bool:
        """True for identities on the configured ban list or banned at run time."""
        engine = self._engine
        return identity in engine.config.bans or await engine.storage.is_banned(app_id, identity)

    async def check_not_banned(self, app_id: str, identity: str) -> None:
        """403 ``banned`` for banned identities."""
        if await self.is_banned(app_id, identity):
            raise ApiError(403, ErrorCode.BANNED, f"{identity} is banned")

    async def ban(self, app_id: str, identity: str) -> list[str]:
        """Ban ``identity`` now: free everything it holds, end its calls, remove it from
        LiveKit. Its bearers are refused from now on; its LiveKit tokens carry no right to
        publish, and a join with one is removed again (``participant_joined``).

        Returns the rooms in which it held something.
        """
        engine = self._engine
        await engine.storage.set_banned(app_id, identity, True)
        log.info("%s is banned from app %s", identity, app_id)
        touched: list[str] = []
        for room_name in await engine.storage.room_names(app_id):
            room = await engine.storage.load_room(app_id, room_name)
            if room is not None and await self._take_everything(room, identity):
                touched.append(room_name)
        # Wherever it may be connected: rooms it held something in, and every room this
        # process has open for the app (a viewer holds nothing the records show).
        livekit_rooms = {livekit_room_name(app_id, name) for name in touched}
        livekit_rooms.update(engine.pusher.open_rooms_of(app_id))
        await asyncio.gather(
            *(
                engine.pusher.guard(
                    "remove participant", engine.bridge.remove_participant(lk, identity)
                )
                for lk in sorted(livekit_rooms)
            )
        )
        return touched

    async def _take_everything(self, room: RoomRecord, identity: str) -> bool:
        """End the identity's open call in ``room`` or free what it holds there."""
        if room.call_id is not None:
            call = await call_of(self._engine.storage, room)
            if call is None or call.status.is_terminal or not call.involves(identity):
                return False
            with contextlib.suppress(ApiError):
                await self._engine.calls.transition(
                    room.app_id, call.call_id, ends_over(UTDCallEndReason.FAILED)
                )
            return True
        if identity not in room.holders():
            return False
        await release(self._engine, room.app_id, room.room_name, identity)
        return True

    async def unban(self, app_id: str, identity: str) -> None:
        """Lift a run-time ban (a ban from the configuration stays)."""
        await self._engine.storage.set_banned(app_id, identity, False)
