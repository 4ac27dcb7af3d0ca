"""Admission: a command by which an identity comes to hold something (a seat, a request, a
place on stage) is honoured only for an identity in the room, or on its way in.

Nobody ever reports the departure of an identity that never joined, so what it took would be
held for ever (see :mod:`.presence` for who counts as in the room).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.models import UTDStreamType

from . import exclusion
from .config import EngineConfig
from .effects import Effects, RoomChange, RoomChanger
from .errors import ApiError
from .livekit_bridge import LiveKitBridge
from .presence import RoomPresence
from .release import forget_participant
from .state import RoomRecord
from .storage import Storage, TrustHold

__all__ = ["Admission", "AdmissionHost"]

log = logging.getLogger(__name__)

_PRESENCE_QUERY_TIMEOUT = 2.0  # seconds LiveKit may take to say whether someone is in a room


class AdmissionHost(RoomChanger, Protocol):
    """What admission needs of the engine (the engine itself, without importing it back)."""

    config: EngineConfig
    storage: Storage
    bridge: LiveKitBridge
    presence: RoomPresence


class Admission:
    """Admits identities to hold something in a room, on sight or on trust."""

    def __init__(self, engine: AdmissionHost) -> None:
        self._engine = engine

    async def change_room_in_person(
        self,
        app_id: str,
        room_name: str,
        identity: str,
        change: RoomChange,
        *,
        kind: UTDStreamType,
    ) -> dict[str, Any]:
        """``change_room`` for a command by which ``identity`` comes to hold something
        (a seat, a request, a place on stage): 409 ``not_in_room`` unless it is in the room.

        Nobody ever reports the departure of an identity that never joined, so what it took
        would be held for ever. An identity counts as in the room when its
        ``participant_joined`` was seen (and no departure since), or LiveKit lists it. One
        that has just minted a token for the room (within ``join_window``) is on its way in:
        its command is honoured, and what it holds is released once the window is over unless
        LiveKit then shows it in the room (so is it when LiveKit cannot be asked now).
        """
        engine = self._engine
        hold_until = await self._admission(app_id, room_name, identity, kind)
        if hold_until is None:
            return await engine.change_room(
                app_id, room_name, change, kind=kind, actor=identity
            )
        room_key = (app_id, room_name)

        def change_on_trust(room: RoomRecord, effects: Effects) -> None:
            change(room, effects)
            if effects.changed and not engine.presence.is_present(room_key, identity):
                effects.holds.append(TrustHold(app_id, room_name, identity, hold_until))

        return await engine.change_room(
            app_id, room_name, change_on_trust, kind=kind, actor=identity
        )

    async def _admission(
        self, app_id: str, room_name: str, identity: str, kind: UTDStreamType
    ) -> float | None:
        """``None`` when ``identity`` is in the room (or nobody can be: no LiveKit; or the
        command will fail anyway: no such room, a room of another kind); else the time until
        which what it takes is held on trust. Raises 409 ``not_in_room``, or first 403
        ``banned`` for an identity banned from the room (never in it, so never admitted)."""
        engine = self._engine
        if engine.config.livekit_url is None:
            return None  # without LiveKit nobody is ever in a room: nothing to check against
        room_key = (app_id, room_name)
        # Another instance may have seen this identity leave: with a shared database, only
        # LiveKit itself tells who is in the room.
        if not engine.storage.shared and engine.presence.is_present(room_key, identity):
            return None
        room = await engine.storage.load_room(app_id, room_name)
        if room is None or room.type is not kind:
            return None  # change_room answers 404 or 409 conflict
        exclusion.check_not_banned_from(room, identity)
        now = time.time()
        joining_until = await engine.storage.join_window_end(app_id, room_name, identity, now)
        if joining_until is not None:
            return joining_until
        try:
            async with asyncio.timeout(_PRESENCE_QUERY_TIMEOUT):
                sid = await engine.bridge.participant_sid(room.livekit_name, identity)
        except Exception as exc:
            # Cannot tell: honour the command, and check again once the window is over.
            log.info("presence of %s in %s unknown (%r)", identity, room.livekit_name, exc)
            return now + engine.config.join_window
        if sid is None:
            raise ApiError.conflict(
                f"{identity} is not in {room_name}: join the room first", ErrorCode.NOT_IN_ROOM
            )
        engine.presence.joined(room_key, identity, sid)
        return None

    async def release_no_shows(self) -> None:
        """Release what identities admitted on trust (:meth:`change_room_in_person`) hold when
        their window is over and LiveKit does not show them in the room."""
        for hold in await self._engine.storage.trust_holds_due(time.time()):
            app_id, room_name, identity = hold.app_id, hold.room_name, hold.identity
            try:
                await self._release_no_show(app_id, room_name, identity)
            except Exception:
                log.exception("releasing %s, who never joined %s, failed", identity, room_name)

    async def _release_no_show(self, app_id: str, room_name: str, identity: str) -> None:
        engine = self._engine
        room_key = (app_id, room_name)
        room = await engine.storage.load_room(app_id, room_name)
        if room is None or identity not in room.holders():
            await engine.storage.drop_trust_hold(app_id, room_name, identity)
            return
        try:
            async with asyncio.timeout(_PRESENCE_QUERY_TIMEOUT):
                sid = await engine.bridge.participant_sid(room.livekit_name, identity)
        except Exception as exc:
            # Cannot tell: keep the hold and ask again on the next sweep.
            log.debug("presence of %s unknown (%r); asking again later", identity, exc)
            return
        await engine.storage.drop_trust_hold(app_id, room_name, identity)
        if sid is not None:
            engine.presence.joined(room_key, identity, sid)
            return
        log.info("%s never joined %s; releasing what it took", identity, room.livekit_name)

        def change(room: RoomRecord, effects: Effects) -> None:
            # A join that arrived while LiveKit was asked keeps everything.
            present = engine.presence.is_present(room_key, identity)
            effects.changed = not present and forget_participant(room, identity)

        with contextlib.suppress(ApiError):
            await engine.change_room(app_id, room_name, change)
