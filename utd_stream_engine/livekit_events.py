"""The engine's reactions to LiveKit's webhooks (arrivals, departures, rooms started and
finished) and the rejoin grace: a participant lost without leaving keeps what it holds until
the grace is over, unless LiveKit shows it back."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Protocol

from utd_stream_rx.models import UTDCallEndReason, UTDCallStatus

from . import exclusion
from .bans import Bans
from .call_control import CallControl
from .call_outcomes import ends_over, ends_without
from .config import EngineConfig
from .effects import Effects, RoomChanger
from .errors import ApiError
from .livekit_bridge import LiveKitBridge, holds_grant
from .livekit_health import LiveKitHealth
from .livekit_push import LiveKitPusher
from .presence import RoomPresence
from .release import forget_participant, release
from .storage import Storage, call_of

if TYPE_CHECKING:
    from livekit import api

__all__ = ["LiveKitEvents", "LiveKitEventsHost"]

log = logging.getLogger(__name__)


class LiveKitEventsHost(RoomChanger, Protocol):
    """What the webhook reactions need of the engine (the engine itself, without importing it
    back)."""

    config: EngineConfig
    storage: Storage
    bridge: LiveKitBridge
    presence: RoomPresence
    health: LiveKitHealth
    pusher: LiveKitPusher
    calls: CallControl
    bans: Bans

    def lock(
        self, app_id: str, room_name: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """The lock that serializes changes of one room, across instances."""
        ...


class LiveKitEvents:
    """What the engine does when LiveKit reports a participant or a room."""

    def __init__(self, engine: LiveKitEventsHost) -> None:
        self._engine = engine

    async def participant_joined(
        self,
        app_id: str,
        room_name: str,
        identity: str,
        joined_as: api.ParticipantInfo | None = None,
    ) -> None:
        """Re-apply the participant's grant (it may have changed before they joined); a
        participant who was away is back and keeps what they hold. One the room turns away
        (:func:`.exclusion.turned_away`: ended, banned there, removed after its token was
        minted) or banned from the app is removed again.

        Args:
            joined_as: LiveKit's view of the participant as they joined (the webhook's): a
                participant whose token already carries their grant is not sent it again,
                which spares every other participant a permission and attribute update.
        """
        engine = self._engine
        async with engine.lock(app_id, room_name):
            room = await engine.storage.load_room(app_id, room_name)
            if room is None:
                return
            why = exclusion.turned_away(
                room, identity, exclusion.token_version(joined_as.attributes if joined_as else None)
            )
            if why is None and await engine.bans.is_banned(app_id, identity):
                why = "banned"
            if why is not None:
                # An old token still lets them in: LiveKit cannot refuse it.
                log.info("%s joined %s (%s); removing them", identity, room.livekit_name, why)
                await engine.pusher.guard(
                    "remove participant",
                    engine.bridge.remove_participant(room.livekit_name, identity),
                )
                return
            room_key = (app_id, room_name)
            engine.presence.joined(room_key, identity, joined_as.sid if joined_as else "")
            await engine.storage.drop_trust_hold(app_id, room_name, identity)
            if room.away.pop(identity, None) is not None:
                log.info("%s is back in %s within the grace", identity, room.livekit_name)
                await engine.storage.save(rooms=[room])
            if room.type.is_call:
                return
            grant = room.grant_for(identity)
            if joined_as is not None and holds_grant(joined_as, grant):
                return
            lk = room.livekit_name
            await engine.pusher.guard(
                "grant", engine.bridge.apply_grant(lk, identity, grant, room.version)
            )

    async def room_started(self, app_id: str, room_name: str) -> None:
        """Write the metadata into a room LiveKit created on its own.

        A room that starts while the engine records holders in it lost its participants
        without their leaving (a livekit-server restart; its ``participant_left`` may never
        have been sent): each holder gets the rejoin grace to come back, and a reconciliation
        pass runs (so does one for the room of an active call).
        """
        engine = self._engine
        # Whoever LiveKit had in the room before is gone from it (a restart lost them).
        engine.presence.forget_room((app_id, room_name))
        async with engine.lock(app_id, room_name):
            room = await engine.storage.load_room(app_id, room_name)
            if room is None:
                return
            call = await call_of(engine.storage, room)
            if room.holders() or (call is not None and call.status is UTDCallStatus.ACTIVE):
                # Not a new room: LiveKit lost one in use (a restart, an outage). Rooms whose
                # participants all left meanwhile will never start again: catch up with all.
                engine.health.request_reconcile()
            if not room.type.is_call:
                due = time.time() + engine.config.rejoin_grace
                absent = room.holders() - room.away.keys()
                if absent:
                    room.away.update(dict.fromkeys(absent, due))
                    await engine.storage.save(rooms=[room])
            await engine.pusher.guard(
                "metadata",
                engine.bridge.set_metadata(room.livekit_name, await engine.pusher.metadata(room)),
            )

    async def participant_left(
        self, app_id: str, room_name: str, identity: str, sid: str = "", reason: str = ""
    ) -> None:
        """Free what the participant held; end (or cancel) their call.

        Only the departure of the identity's current connection counts: a connection replaced
        by a newer one of the same identity (a reload, a second device, a reconnect) leaves
        nothing behind. A participant lost to a server shutdown keeps what they hold for the
        rejoin grace.

        Args:
            sid: The LiveKit sid of the connection that left (``""`` if unknown).
            reason: LiveKit's ``DisconnectReason`` name (``""`` if unknown).
        """
        engine = self._engine
        engine.presence.left((app_id, room_name), identity, sid)
        room = await engine.storage.load_room(app_id, room_name)
        if room is None:
            return
        lk = room.livekit_name
        if reason == "DUPLICATE_IDENTITY":
            log.info("%s/%s was replaced by a newer connection; nothing to free", lk, identity)
            return
        if reason == "SERVER_SHUTDOWN" and not room.type.is_call:
            await self._hold_for_rejoin(app_id, room_name, identity)
            return
        if await self._connected_elsewhere(lk, identity, sid):
            log.info("%s/%s left, but a newer connection is in the room", lk, identity)
            return
        if room.call_id is not None:
            with contextlib.suppress(ApiError):
                await engine.calls.transition(app_id, room.call_id, ends_without({identity}))
            return
        await release(engine, app_id, room_name, identity)

    async def _connected_elsewhere(self, livekit_room: str, identity: str, sid: str) -> bool:
        """True when LiveKit shows ``identity`` connected under a sid other than ``sid``."""
        try:
            current = await self._engine.bridge.participant_sid(livekit_room, identity)
        except Exception as exc:
            # Unknown: treat the departure as real, as LiveKit reported it.
            log.warning("LiveKit presence check failed: %s", exc)
            return False
        return current is not None and current != sid

    async def _hold_for_rejoin(self, app_id: str, room_name: str, identity: str) -> None:
        engine = self._engine
        async with engine.lock(app_id, room_name):
            room = await engine.storage.load_room(app_id, room_name)
            if room is None or identity not in room.holders():
                return
            room.away.setdefault(identity, time.time() + engine.config.rejoin_grace)
            await engine.storage.save(rooms=[room])
            log.info(
                "%s lost %s to a server shutdown; holding their place for %gs",
                identity,
                room.livekit_name,
                engine.config.rejoin_grace,
            )

    async def release_absent(self) -> None:
        """Release what participants hold who are still away once their grace is over."""
        for app_id, room_name in await self._engine.storage.rooms_due(time.time()):
            try:
                await self._release_absent_in(app_id, room_name)
            except Exception:
                log.exception("releasing absent participants of %s failed", room_name)

    async def _release_absent_in(self, app_id: str, room_name: str) -> None:
        engine = self._engine
        gone: set[str] = set()
        async with engine.lock(app_id, room_name):
            room = await engine.storage.load_room(app_id, room_name)
            if room is None:
                return
            now = time.time()
            due = sorted(identity for identity, at in room.away.items() if at <= now)
            before = room.grants()
            changed = False
            for identity in due:
                try:
                    present = await engine.bridge.participant_sid(room.livekit_name, identity)
                except Exception as exc:
                    # Cannot tell: keep their place and ask again on the next sweep.
                    log.debug("presence of %s unknown (%s); asking again later", identity, exc)
                    continue
                del room.away[identity]
                if present is None:
                    log.info("%s did not come back to %s; releasing", identity, room.livekit_name)
                    gone.add(identity)
                    if room.call_id is None:
                        changed = forget_participant(room, identity) or changed
            if changed:
                room.bump_version()
            await engine.storage.save(rooms=[room])  # also moves or clears the room's release row
            if changed:
                await engine.pusher.push(room, before, Effects())
            call_id = room.call_id
        if call_id is not None and gone:
            # A party who never came back ends the call (outside the lock: the transition
            # takes it).
            with contextlib.suppress(ApiError):
                await engine.calls.transition(app_id, call_id, ends_without(gone, came_back=False))

    async def room_finished(self, app_id: str, room_name: str) -> None:
        """A finished call room ends its call."""
        engine = self._engine
        engine.presence.forget_room((app_id, room_name))
        room = await engine.storage.load_room(app_id, room_name)
        if room is not None:
            engine.pusher.room_closed(room.livekit_name)
        if room is None or room.call_id is None:
            return
        with contextlib.suppress(ApiError):
            await engine.calls.transition(app_id, room.call_id, ends_over(UTDCallEndReason.HUNG_UP))
