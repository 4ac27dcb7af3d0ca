"""Telling LiveKit what the engine decided: room metadata, changed grants, mutes, data
messages, removals; and catching up with what a failed push never delivered.

The engine's state is saved before a push: a LiveKit that fails or hangs never fails the
command, it only leaves the room's metadata stale (sent again by the reconciler, which the
failure wakes through :class:`~.livekit_health.LiveKitHealth`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable

import attrs

from .config import EngineConfig
from .effects import Effects
from .livekit_bridge import LiveKitBridge
from .livekit_health import LiveKitHealth
from .presence import RoomPresence
from .state import CallRecord, Grant, RoomRecord, split_livekit_room_name
from .storage import Storage, call_of

__all__ = ["LiveKitPusher"]

log = logging.getLogger(__name__)

_AUDIENCE = Grant("audience", None, False, ())


class LiveKitPusher:
    """Pushes room changes to LiveKit and remembers what it may not have received."""

    def __init__(
        self,
        config: EngineConfig,
        storage: Storage,
        bridge: LiveKitBridge,
        presence: RoomPresence,
        health: LiveKitHealth,
    ) -> None:
        self._config = config
        self._storage = storage
        self._bridge = bridge
        self._presence = presence
        self._health = health
        # LiveKit rooms this process created and has not seen finish: minting into one of
        # them needs no CreateRoom call (a room LiveKit creates by itself gets its metadata
        # from the room_started webhook).
        self._open_rooms: set[str] = set()
        # Rooms whose latest metadata LiveKit may not have (a push failed or was cut off).
        self._stale_metadata: set[tuple[str, str]] = set()

    async def metadata(self, room: RoomRecord, call: CallRecord | None = None) -> str:
        """The room metadata JSON: the whole ``RoomState``."""
        state = room.to_json(call or await call_of(self._storage, room))
        return json.dumps(state, separators=(",", ":"))

    async def guard(self, what: str, job: Awaitable[object]) -> bool:
        """Run one LiveKit call; False (logged, the reconciler woken) when it failed."""
        # The engine's state is already saved; a LiveKit hiccup must not fail the request, nor
        # hold it (and the room lock its caller may hold) longer than livekit_timeout.
        try:
            async with asyncio.timeout(self._config.livekit_timeout):
                await job
        except Exception as exc:
            log.warning("LiveKit %s failed: %r", what, exc)
            self._health.failed()
            return False
        return True

    async def ensure_room(self, room: RoomRecord) -> None:
        """Create the LiveKit room with its metadata, unless this process already did."""
        lk = room.livekit_name
        if lk not in self._open_rooms and await self.guard(
            "create room", self._bridge.ensure_room(lk, await self.metadata(room))
        ):
            self._open_rooms.add(lk)

    def room_closed(self, livekit_room: str) -> None:
        """LiveKit finished the room: minting into it creates it again."""
        self._open_rooms.discard(livekit_room)

    def open_rooms_of(self, app_id: str) -> set[str]:
        """The LiveKit rooms of the app this process has open."""
        return {
            name for name in self._open_rooms
            if (split_livekit_room_name(name) or ("", ""))[0] == app_id
        }

    def deadline(self) -> float:
        """When a push starting now must be over (``livekit_timeout`` from now)."""
        return asyncio.get_running_loop().time() + self._config.livekit_timeout

    async def push(
        self,
        room: RoomRecord,
        before: dict[str, Grant],
        effects: Effects,
        call: CallRecord | None = None,
    ) -> None:
        """Send a saved change: the grants that differ from ``before``, then the metadata and
        the effects (mutes, data messages, removals)."""
        deadline = self.deadline()
        await self.push_grants(room, before, deadline)
        await self.push_after_grants(room, effects, deadline, call)

    async def push_grants(
        self, room: RoomRecord, before: dict[str, Grant], deadline: float
    ) -> frozenset[str]:
        """Send every grant that differs from ``before``, at once; the identities LiveKit
        confirmed holding their new grant.

        The caller holds the room lock, which keeps pushes of successive versions from
        interleaving; the whole push (this and :meth:`push_after_grants`) shares one
        ``deadline``, so a hung LiveKit holds the lock no longer than ``livekit_timeout``.
        """
        lk = room.livekit_name
        changed = [
            (identity, room.grant_for(identity))
            for identity in sorted(before.keys() | room.known_identities())
            if before.get(identity, _AUDIENCE) != room.grant_for(identity)
        ]
        if not changed:
            return frozenset()
        # Until the rest of the push delivers it, the room's metadata is stale.
        self._stale_metadata.add((room.app_id, room.room_name))
        try:
            async with asyncio.timeout_at(deadline):
                applied = await asyncio.gather(
                    *(
                        self._confirmed(
                            self._bridge.apply_grant(lk, identity, grant, room.version), "grant"
                        )
                        for identity, grant in changed
                    )
                )
        except TimeoutError:
            self._cut(room)
            return frozenset()
        return frozenset(
            identity for (identity, _), ok in zip(changed, applied, strict=True) if ok
        )

    async def push_after_grants(
        self,
        room: RoomRecord,
        effects: Effects,
        deadline: float,
        call: CallRecord | None = None,
    ) -> None:
        """The rest of a saved change, once its grants are sent: metadata, then the effects
        (mutes, data messages), then removals."""
        lk = room.livekit_name
        key = (room.app_id, room.room_name)
        # Until a push delivers it, the room's metadata is stale: the reconciler sends it.
        self._stale_metadata.add(key)
        try:
            async with asyncio.timeout_at(deadline):
                metadata = await self.metadata(room, call)
                exists = await self._confirmed(self._bridge.set_metadata(lk, metadata), "metadata")
                if exists is not None:
                    self._stale_metadata.discard(key)
                if exists is False:
                    # LiveKit closed the room (another instance may have heard it finish):
                    # the next mint creates it again, and nobody is there to notify.
                    self._open_rooms.discard(lk)
                    effects = attrs.evolve(effects, mutes=[], notes=[])
                for identity, muted in effects.mutes:
                    await self.guard("mute", self._bridge.mute_microphone(lk, identity, muted))
                for topic, identities, payload in effects.notes:
                    body = {**payload, "version": room.version}
                    await self.guard("data", self._bridge.send(lk, topic, body, identities))
        except TimeoutError:
            self._cut(room)
        # Even after a cut push: no reconciliation pass would disconnect them later.
        await self._disconnect(room, effects)

    async def _confirmed(self, job: Awaitable[bool], what: str) -> bool | None:
        """What LiveKit answered ``job`` (True: done; False: no such room or participant);
        ``None`` when it failed (logged, as :meth:`guard`)."""
        answer: bool | None = None

        async def run() -> None:
            nonlocal answer
            answer = await job

        return answer if await self.guard(what, run()) else None

    def _cut(self, room: RoomRecord) -> None:
        log.warning(
            "LiveKit push of %s v%d cut after %gs; the reconciler catches up",
            room.livekit_name,
            room.version,
            self._config.livekit_timeout,
        )
        self._health.failed()

    async def _disconnect(self, room: RoomRecord, effects: Effects) -> None:
        """Remove the participants ``effects`` names, or delete the whole LiveKit room (its
        notes went first, so those it concerns learn why)."""
        lk = room.livekit_name
        for identity in effects.removals:
            await self.guard("remove participant", self._bridge.remove_participant(lk, identity))
        if effects.delete_room:
            self._open_rooms.discard(lk)
            self._presence.forget_room((room.app_id, room.room_name))
            await self.guard("delete room", self._bridge.delete_room(lk))

    async def resend_stale_metadata(self) -> bool:
        """Send the current metadata of every room whose last push did not deliver it (LiveKit
        failed or was cut off); False if LiveKit failed again (those rooms stay stale)."""
        # Outside the room's lock, so that a LiveKit that hangs again holds up no command. A
        # change pushed meanwhile may land before this older metadata: the room then stays
        # stale, and the next pass sends it again.
        for key in sorted(self._stale_metadata):
            room = await self._storage.load_room(*key)
            if room is None:
                self._stale_metadata.discard(key)
                continue
            job = self._bridge.set_metadata(room.livekit_name, await self.metadata(room))
            if not await self.guard("metadata", job):
                return False
            now = await self._storage.load_room(*key)
            if now is None or now.version == room.version:
                self._stale_metadata.discard(key)
            else:
                self._stale_metadata.add(key)
        return True
