"""The engine's façade: what the route modules call, and the room change every command makes.

Every change of a room runs under that room's lock (:class:`~.locks.RoomLocks`: the
process's, then the database's, so that instances sharing PostgreSQL take turns): load,
check, mutate, bump the version, save in one transaction, then tell LiveKit the changed grants,
answer, and tell it the rest (metadata, notifications, removals) right after the answer
(:class:`~.after_answer.AfterAnswer`). Holding the lock until the whole push is over keeps the
pushes of one room in version order, whichever instance makes them.

:class:`Engine` keeps that room change (:meth:`Engine.change_room`), room reads and token
minting; the rest is done by collaborators it wires together, one job each:
:class:`~.livekit_push.LiveKitPusher` (telling LiveKit), :class:`~.call_control.CallControl`
(calls), :class:`~.admission.Admission` (who may hold something in a room),
:class:`~.livekit_events.LiveKitEvents` (webhook reactions and the rejoin grace),
:class:`~.bans.Bans` (app-wide bans) and :class:`~.background.BackgroundWork` (sweeps and
reconciliation).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from typing import Any

import attrs

from utd_stream_rx.models import UTDSeat, UTDStageMember, UTDStreamType

from . import exclusion
from .admission import Admission
from .after_answer import AfterAnswer
from .auth import Bearer, BearerSigner
from .background import BackgroundWork
from .bans import Bans
from .call_control import CallControl, require_party
from .call_hub import CallHub
from .config import EngineConfig
from .effects import Effects, RoomChange
from .errors import ApiError
from .expiry import RequestExpiry
from .livekit_bridge import LiveKitBridge, mint_livekit_token
from .livekit_events import LiveKitEvents
from .livekit_health import LiveKitHealth
from .livekit_push import LiveKitPusher
from .locks import RoomLocks
from .presence import RoomPresence
from .ratelimit import RateLimits
from .state import RoomRecord
from .storage import Storage, call_of

__all__ = ["Engine"]

DEFAULT_SEAT_COUNT = 8


class Engine:
    """The reference engine's logic, independent of HTTP."""

    def __init__(self, config: EngineConfig, storage: Storage, bridge: LiveKitBridge) -> None:
        self.config = config
        self.storage = storage
        self.bridge = bridge
        self._signer: BearerSigner | None = None
        if config.user_token_secret:
            self._signer = BearerSigner(config.user_token_secret, config.user_token_ttl)
        # Never a well-known default: without LiveKit nothing else needs to know the secret.
        self.livekit_api_secret = config.livekit_api_secret or secrets.token_urlsafe(32)
        self.limiter = RateLimits(config)
        self.hub = CallHub()
        self.locks = RoomLocks(storage)
        self.presence = RoomPresence()
        self.health = LiveKitHealth()
        self.pusher = LiveKitPusher(config, storage, bridge, self.presence, self.health)
        self.after_answer = AfterAnswer()
        self.calls = CallControl(self)
        self.bans = Bans(self)
        self.admission = Admission(self)
        self.livekit_events = LiveKitEvents(self)
        self.request_expiry = RequestExpiry(self)
        sweeps = (
            ("ring timeout", self.calls.expire_unanswered),
            ("rejoin grace", self.livekit_events.release_absent),
            ("join window", self.admission.release_no_shows),
            ("request expiry", self.request_expiry.sweep),
        )
        self.background = BackgroundWork(config, self.health, self, sweeps)

    async def open(self) -> None:
        """Connect the storage, read the bearer secret every instance shares (made by the
        first to start), and hear call changes from every instance."""
        await self.storage.open()
        if self._signer is None:
            secret = await self.storage.set_meta_if_absent(
                "user_token_secret", secrets.token_urlsafe(48)
            )
            self._signer = BearerSigner(secret, self.config.user_token_ttl)
        # After a gap in what this instance heard, streams end: clients reconnect and catch up.
        self.storage.listen_calls(self.hub.publish, on_gap=self.hub.close)

    def start(self) -> None:
        """Start background work (the ring timeout, the rejoin grace, reconciliation)."""
        self.background.start()

    async def stop(self) -> None:
        """Stop background work and release LiveKit connections."""
        self.hub.close()
        await self.background.stop()
        await self.after_answer.settle()
        await self.bridge.aclose()

    @property
    def signer(self) -> BearerSigner:
        """Signs and checks bearers (once :meth:`open` has run)."""
        if self._signer is None:
            raise RuntimeError("the engine is not open yet")
        return self._signer

    def lock(
        self, app_id: str, room_name: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """The lock that serializes changes of one room, across instances."""
        return self.locks.hold(app_id, room_name)

    async def resend_stale_metadata(self) -> bool:
        """Send the metadata a cut push never delivered; False when LiveKit is out of reach
        (what a reconciliation pass needs, ``reconcile.Reconcilable``)."""
        return await self.pusher.resend_stale_metadata()

    async def livekit_token(self, room: RoomRecord, identity: str, name: str | None) -> str:
        """A LiveKit token for ``room``.

        Outside calls the token carries no right to publish, whatever the participant holds:
        a token outlives the engine's decisions (a kick, a ban), so the grant is applied to
        the participant once they have joined (``participant_joined``) and taken back the
        same way. A call's token lets its two parties publish: only they can get one.
        """
        grant = room.grant_for(identity)
        if not room.type.is_call:
            grant = attrs.evolve(grant, can_publish=False, sources=())
        # Opens the identity's join window (see Admission.change_room_in_person), for every
        # instance.
        await self.storage.open_join_window(
            room.app_id, room.room_name, identity, time.time() + self.config.join_window
        )
        return mint_livekit_token(
            self.config.livekit_api_key,
            self.livekit_api_secret,
            livekit_room=room.livekit_name,
            identity=identity,
            name=name,
            grant=grant,
            version=room.version,
            ttl=self.config.livekit_token_ttl,
        )

    @property
    def livekit_url(self) -> str:
        """The URL clients connect to."""
        return self.config.livekit_url or ""

    async def load_room(self, app_id: str, room_name: str) -> RoomRecord:
        """The room or 404 ``not_found``."""
        room = await self.storage.load_room(app_id, room_name)
        if room is None:
            raise ApiError.not_found(f"no room named {room_name}")
        return room

    async def visible_room(self, bearer: Bearer, room_name: str) -> RoomRecord:
        """The room of the bearer's app, if the bearer may see it: 404 ``not_found`` for no
        such room; 403 ``forbidden`` for a call's room to anyone but the call's two parties
        (the rule of ``CallControl.for_party``, for every endpoint that answers with a
        room)."""
        room = await self.load_room(bearer.app_id, room_name)
        if room.call_id is not None or room.type.is_call:
            require_party(await call_of(self.storage, room), bearer)
        return room

    async def room_json(self, bearer: Bearer, room_name: str) -> dict[str, Any]:
        """The current ``RoomState`` of a room the bearer may see (:meth:`visible_room`),
        every pending request listed."""
        room = await self.visible_room(bearer, room_name)
        return room.to_json(await call_of(self.storage, room), full=True)

    async def change_room(
        self,
        app_id: str,
        room_name: str,
        change: RoomChange,
        *,
        kind: UTDStreamType | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Apply ``change`` to a room under its lock, save, push; answer the new state.

        The answer waits for the change's grants to reach LiveKit, not for the rest of the
        push (metadata, notifications, removals), which follows under the same lock. When the
        change gave ``actor`` a new grant and LiveKit confirmed it, the answer says so
        (``grant_applied``): the actor may publish at once.
        """
        async with contextlib.AsyncExitStack() as held:
            await held.enter_async_context(self.lock(app_id, room_name))
            room = await self.load_room(app_id, room_name)
            if kind is not None and room.type is not kind:
                raise ApiError.conflict(f"{room_name} is a {room.type.value}, not a {kind.value}")
            before = room.grants()
            effects = Effects()
            change(room, effects)
            applied: frozenset[str] = frozenset()
            if effects.changed:
                room.bump_version()
                await self.storage.save(rooms=[room], holds=effects.holds)
                deadline = self.pusher.deadline()
                applied = await self.pusher.push_grants(room, before, deadline)
                rest = self.pusher.push_after_grants(room, effects, deadline)
                self.after_answer.finish(held.pop_all(), rest)
            elif effects.save_quietly:
                await self.storage.save(rooms=[room])
            answer = room.to_json(await call_of(self.storage, room))
        if actor is not None and actor in applied:
            answer["grant_applied"] = True
        return answer

    async def mint_room_token(
        self,
        app_id: str,
        *,
        identity: str,
        room_name: str,
        kind: UTDStreamType,
        role: str,
        name: str | None,
        may_host: bool = False,
    ) -> str:
        """Create or join a room, claim it for a host, and mint the LiveKit token.

        ``role="host"`` makes the identity the room's owner when it has none yet; a room
        with an owner admits as host only the owner and identities whose verified roles
        name the room (``may_host``); anyone else is refused (403).
        """
        async with self.lock(app_id, room_name):
            room = await self.storage.load_room(app_id, room_name)
            created = room is None
            if room is None:
                room = RoomRecord(app_id=app_id, room_name=room_name, type=kind)
                room.created_at = time.time()
                if kind is UTDStreamType.AUDIO_ROOM:
                    room.seats = [UTDSeat(index=i) for i in range(DEFAULT_SEAT_COUNT)]
            if room.type is not kind:
                raise ApiError.conflict(f"{room_name} is a {room.type.value}, not a {kind.value}")
            exclusion.check_not_banned_from(room, identity)
            bumped = False
            if role == "host":
                if room.host_identity is None:
                    room.host_identity = identity
                    bumped = True
                    if kind is UTDStreamType.LIVE_STREAM:
                        room.stage.insert(0, UTDStageMember(identity, name, "host"))
                elif room.host_identity != identity and not may_host:
                    raise ApiError.forbidden(f"{room_name} already has a host")
            # An ended room: only a host's mint (admitted above) starts it anew.
            bumped = exclusion.reopen(room, as_host=role == "host") or bumped
            renamed = room.remember_name(identity, name) if name else False
            if bumped and not created:
                room.bump_version()
            if created or bumped or renamed:
                await self.storage.save(rooms=[room])
            await self.pusher.ensure_room(room)
            return await self.livekit_token(room, identity, name or room.names.get(identity))

    def mint_user_token(
        self,
        app_id: str,
        identity: str,
        name: str | None,
        device_id: str | None,
        roles: tuple[str, ...] = (),
    ) -> tuple[str, float]:
        """A bearer for ``identity`` carrying the roles its identity token granted."""
        return self.signer.mint(app_id, identity, name, device_id, roles=roles)
