"""Reconciliation: what the engine records, held against who LiveKit has in its rooms.

LiveKit retries a webhook only a few times over about 15 s, then drops it. A participant who
left while the engine was down (or whose ``participant_left`` was lost) would keep their seat,
stage place or call for ever, and a participant who reconnected meanwhile keeps the grant of the
token they joined with. A pass lists the participants of every room in which the engine records
holders (:meth:`RoomRecord.holders`) and of every call room whose call rings or is active, then:

- gives every absent holder, and every absent party of an active call (the caller of a call that
  still rings), the rejoin grace: the release sweep (:meth:`Engine.release_absent`) frees what a
  holder holds, or ends the call, if LiveKit still does not show them when the grace is over;
- sends the grant again to every present participant whose ``can_publish`` in LiveKit differs
  from the engine's;
- first of all, sends the metadata of every room whose last push did not deliver it.

When LiveKit cannot be asked, the pass stops and changes nothing more; the engine runs the next
one soon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

import attrs

from utd_stream_rx.models import UTDCallStatus

from .config import EngineConfig
from .livekit_bridge import LiveKitBridge, ParticipantPresence
from .storage import Storage

__all__ = ["CHECKED_CALL_STATUSES", "PassReport", "reconcile"]

log = logging.getLogger(__name__)

_PUSH_TIMEOUT = 5.0  # seconds for one grant sent again (livekit-api posts without a timeout)
CHECKED_CALL_STATUSES = frozenset(s for s in UTDCallStatus if not s.is_terminal)
"""Statuses of the calls a pass checks: every call that is not over."""


class Reconcilable(Protocol):
    """What a pass needs of the engine (the engine itself, without importing it back)."""

    config: EngineConfig
    storage: Storage
    bridge: LiveKitBridge

    def lock(
        self, app_id: str, room_name: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """The lock serialising the changes of one room (across instances)."""
        ...

    async def resend_stale_metadata(self) -> bool:
        """Send the metadata a cut push never delivered; False when LiveKit is out of reach."""
        ...


@attrs.define
class PassReport:
    """What one reconciliation pass did."""

    rooms: int = 0
    """Rooms LiveKit was asked about."""
    away: int = 0
    """Identities given the rejoin grace."""
    grants: int = 0
    """Grants sent again."""
    reached: bool = True
    """False when LiveKit could not be asked (the pass stopped there)."""


async def _targets(engine: Reconcilable) -> list[tuple[str, str]]:
    found = set(await engine.storage.rooms_with_holders())
    found.update(
        (call.app_id, call.room_name)
        for call in await engine.storage.calls_with_status(CHECKED_CALL_STATUSES)
    )
    return sorted(found)


async def reconcile(engine: Reconcilable) -> PassReport:
    """One pass over every room with holders and every ringing or active call."""
    report = PassReport()
    if not await engine.resend_stale_metadata():
        report.reached = False
        return report
    for app_id, room_name in await _targets(engine):
        room = await engine.storage.load_room(app_id, room_name)
        if room is None:
            continue
        try:
            listed = await engine.bridge.list_participants(room.livekit_name)
        except Exception as exc:
            # LiveKit cannot tell who is there: change nothing, ask again on the next pass.
            log.info("reconciliation stopped: LiveKit cannot list %s (%r)", room.livekit_name, exc)
            report.reached = False
            return report
        report.rooms += 1
        try:
            await _reconcile_room(engine, app_id, room_name, listed or {}, report)
        except Exception as exc:
            log.info("reconciliation stopped: LiveKit failed on %s (%r)", room.livekit_name, exc)
            report.reached = False
            return report
    if report.away or report.grants:
        log.info(
            "reconciled %d rooms: %d absent participants given the grace, %d grants sent again",
            report.rooms,
            report.away,
            report.grants,
        )
    return report


async def _reconcile_room(
    engine: Reconcilable,
    app_id: str,
    room_name: str,
    listed: dict[str, ParticipantPresence],
    report: PassReport,
) -> None:
    # LiveKit was asked before taking the lock (a slow answer must not hold up commands). A
    # participant marked absent who joined meanwhile loses nothing: the release sweep asks
    # LiveKit again before it frees anything.
    async with engine.lock(app_id, room_name):
        room = await engine.storage.load_room(app_id, room_name)
        if room is None:
            return
        call = await engine.storage.load_call(room.call_id) if room.call_id else None
        expected = room.holders() | (call.parties() if call is not None else set())
        back = room.away.keys() & listed.keys()
        absent = expected - listed.keys() - room.away.keys()
        if absent or back:
            for identity in back:
                del room.away[identity]
            due = time.time() + engine.config.rejoin_grace
            room.away.update(dict.fromkeys(absent, due))
            await engine.storage.save(rooms=[room])
        for identity in sorted(absent):
            log.info(
                "%s holds something in %s but is not there; releasing in %gs unless back",
                identity,
                room.livekit_name,
                engine.config.rejoin_grace,
            )
        report.away += len(absent)
        if call is not None and call.status.is_terminal:
            return
        for identity, presence in sorted(listed.items()):
            grant = room.grant_for(identity)
            if presence.can_publish == grant.can_publish:
                continue
            log.info("sending %s its grant in %s again", identity, room.livekit_name)
            async with asyncio.timeout(_PUSH_TIMEOUT):
                await engine.bridge.apply_grant(room.livekit_name, identity, grant, room.version)
            report.grants += 1
