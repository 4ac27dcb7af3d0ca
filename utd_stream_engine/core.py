"""The engine's state machine: rooms, seats, stage and calls, kept in storage and pushed to LiveKit.

Every change of a room runs under that room's lock (:class:`~.locks.RoomLocks`: the
process's, then the database's, so that instances sharing PostgreSQL take turns): load,
check, mutate, bump the version, save in one transaction, then tell LiveKit (metadata, changed
grants, notifications). Holding the lock while pushing keeps the pushes of one room in version
order, whichever instance makes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.models import (
    UTDCallEndReason,
    UTDCallStatus,
    UTDSeat,
    UTDStageMember,
    UTDStreamType,
)

from . import exclusion
from .auth import Bearer, BearerSigner
from .busy_calls import answers_busy, make_busy
from .call_outcomes import CallDecision, CallOutcome, ends_over, ends_without
from .config import EngineConfig
from .errors import ApiError, StorageUnavailable
from .expiry import RequestExpiry
from .livekit_bridge import LiveKitBridge, holds_grant, mint_livekit_token
from .locks import RoomLocks
from .presence import RoomPresence
from .ratelimit import RateLimits
from .reconcile import reconcile
from .state import (
    CallRecord,
    Grant,
    RoomRecord,
    livekit_room_name,
    split_livekit_room_name,
)
from .storage import Storage, TrustHold

if TYPE_CHECKING:
    from livekit import api

__all__ = ["OPEN_CALL_STATUSES", "CallHub", "Effects", "Engine"]

log = logging.getLogger(__name__)

OPEN_CALL_STATUSES = frozenset({UTDCallStatus.INITIATING, UTDCallStatus.RINGING})
"""Statuses of a call that still rings."""

_AUDIENCE = Grant("audience", None, False, ())
DEFAULT_SEAT_COUNT = 8
_RECONCILE_RETRY = 5.0  # seconds between reconciliation passes while LiveKit is in trouble
_PRESENCE_QUERY_TIMEOUT = 2.0  # seconds LiveKit may take to say whether someone is in a room


@attrs.define
class Effects:
    """What a room change must tell the outside world besides metadata and grants."""

    changed: bool = True
    # Save a change nobody sees (a name forgotten) without a new version.
    save_quietly: bool = False
    notes: list[tuple[str, tuple[str, ...], dict[str, Any]]] = attrs.field(factory=list)
    mutes: list[tuple[str, bool]] = attrs.field(factory=list)
    # Sent after the notes: participants LiveKit must disconnect, or the whole room closed.
    removals: list[str] = attrs.field(factory=list)
    delete_room: bool = False
    # Saved with the room: what identities admitted on trust hold is checked later.
    holds: list[TrustHold] = attrs.field(factory=list)

    def notify(self, topic: str, identities: tuple[str, ...], payload: dict[str, Any]) -> None:
        """Queue a data message; ``version`` is added once the new version is known."""
        self.notes.append((topic, identities, payload))


class CallHub:
    """Fan-out of call changes to the open ``/calls/events`` streams."""

    def __init__(self) -> None:
        self._queues: dict[tuple[str, str], set[asyncio.Queue[dict[str, Any] | None]]] = {}

    def subscribe(self, app_id: str, identity: str) -> asyncio.Queue[dict[str, Any] | None]:
        """A queue that receives every change of the identity's calls."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._queues.setdefault((app_id, identity), set()).add(queue)
        return queue

    def unsubscribe(
        self, app_id: str, identity: str, queue: asyncio.Queue[dict[str, Any] | None]
    ) -> None:
        """Stop delivering to ``queue``."""
        queues = self._queues.get((app_id, identity))
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[(app_id, identity)]

    def publish(self, call: CallRecord) -> None:
        """Deliver the call to its caller's and callee's streams (storage calls this for
        every saved change, made by this instance or another)."""
        data = call.to_json()
        for identity in {call.caller_identity, call.callee_identity}:
            for queue in self._queues.get((call.app_id, identity), ()):
                queue.put_nowait(data)

    def close(self) -> None:
        """End every stream (shutdown)."""
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(None)


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
        self._sweeper: asyncio.Task[None] | None = None
        self._reconciler: asyncio.Task[None] | None = None
        self._reconcile_wanted = asyncio.Event()
        self._livekit_trouble = False
        # LiveKit rooms this process created and has not seen finish: minting into one of
        # them needs no CreateRoom call (a room LiveKit creates by itself gets its metadata
        # from the room_started webhook).
        self._open_rooms: set[str] = set()
        # Rooms whose latest metadata LiveKit may not have (a push failed or was cut off).
        self._stale_metadata: set[tuple[str, str]] = set()
        self.presence = RoomPresence()
        self.request_expiry = RequestExpiry(self)

    # -- plumbing ---------------------------------------------------------------------------

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

    async def is_banned(self, app_id: str, identity: str) -> bool:
        """True for identities on the configured ban list or banned at run time."""
        return identity in self.config.bans or await self.storage.is_banned(app_id, identity)

    async def check_not_banned(self, app_id: str, identity: str) -> None:
        """403 ``banned`` for banned identities."""
        if await self.is_banned(app_id, identity):
            raise ApiError(403, ErrorCode.BANNED, f"{identity} is banned")

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
        # Opens the identity's join window (see change_room_in_person), for every instance.
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

    async def _call_of(self, room: RoomRecord) -> CallRecord | None:
        return await self.storage.load_call(room.call_id) if room.call_id else None

    async def metadata(self, room: RoomRecord, call: CallRecord | None = None) -> str:
        """The room metadata JSON: the whole ``RoomState``."""
        return json.dumps(room.to_json(call or await self._call_of(room)), separators=(",", ":"))

    async def _guard(self, what: str, job: Awaitable[None]) -> bool:
        # The engine's state is already saved; a LiveKit hiccup must not fail the request, nor
        # hold it (and the room lock its caller may hold) longer than livekit_timeout.
        try:
            async with asyncio.timeout(self.config.livekit_timeout):
                await job
        except Exception as exc:
            log.warning("LiveKit %s failed: %r", what, exc)
            self._livekit_failed()
            return False
        return True

    async def _push(
        self,
        room: RoomRecord,
        before: dict[str, Grant],
        effects: Effects,
        call: CallRecord | None = None,
    ) -> None:
        lk = room.livekit_name
        # The caller holds the room lock, which keeps pushes of successive versions from
        # interleaving: the whole push gets one deadline, so a hung LiveKit holds the lock
        # (and the command) no longer than livekit_timeout; once one call timed out, the rest
        # of the push is skipped and left to the reconciler, which the failure wakes.
        key = (room.app_id, room.room_name)
        # Until a push delivers it, the room's metadata is stale: the reconciler sends it.
        self._stale_metadata.add(key)
        try:
            async with asyncio.timeout(self.config.livekit_timeout):
                # Metadata and each participant's grant are independent LiveKit calls: send
                # them at once (clients order what arrives by version).
                metadata = await self.metadata(room, call)
                jobs = [self._guard("metadata", self.bridge.set_metadata(lk, metadata))]
                for identity in sorted(before.keys() | room.known_identities()):
                    grant = room.grant_for(identity)
                    if before.get(identity, _AUDIENCE) != grant:
                        jobs.append(
                            self._guard(
                                "grant", self.bridge.apply_grant(lk, identity, grant, room.version)
                            )
                        )
                sent = await asyncio.gather(*jobs)
                if sent[0]:
                    self._stale_metadata.discard(key)
                for identity, muted in effects.mutes:
                    await self._guard("mute", self.bridge.mute_microphone(lk, identity, muted))
                for topic, identities, payload in effects.notes:
                    body = {**payload, "version": room.version}
                    await self._guard("data", self.bridge.send(lk, topic, body, identities))
        except TimeoutError:
            log.warning(
                "LiveKit push of %s v%d cut after %gs; the reconciler catches up",
                lk,
                room.version,
                self.config.livekit_timeout,
            )
            self._livekit_failed()
        # Even after a cut push: no reconciliation pass would disconnect them later.
        await self._disconnect(room, effects)

    async def _disconnect(self, room: RoomRecord, effects: Effects) -> None:
        """Remove the participants ``effects`` names, or delete the whole LiveKit room (its
        notes went first, so those it concerns learn why)."""
        lk = room.livekit_name
        for identity in effects.removals:
            await self._guard("remove participant", self.bridge.remove_participant(lk, identity))
        if effects.delete_room:
            self._open_rooms.discard(lk)
            self.presence.forget_room((room.app_id, room.room_name))
            await self._guard("delete room", self.bridge.delete_room(lk))

    async def resend_stale_metadata(self) -> bool:
        """Send the current metadata of every room whose last push did not deliver it (LiveKit
        failed or was cut off); False if LiveKit failed again (those rooms stay stale)."""
        # Outside the room's lock, so that a LiveKit that hangs again holds up no command. A
        # change pushed meanwhile may land before this older metadata: the room then stays
        # stale, and the next pass sends it again.
        for key in sorted(self._stale_metadata):
            room = await self.storage.load_room(*key)
            if room is None:
                self._stale_metadata.discard(key)
                continue
            job = self.bridge.set_metadata(room.livekit_name, await self.metadata(room))
            if not await self._guard("metadata", job):
                return False
            now = await self.storage.load_room(*key)
            if now is None or now.version == room.version:
                self._stale_metadata.discard(key)
            else:
                self._stale_metadata.add(key)
        return True

    async def load_room(self, app_id: str, room_name: str) -> RoomRecord:
        """The room or 404 ``not_found``."""
        room = await self.storage.load_room(app_id, room_name)
        if room is None:
            raise ApiError.not_found(f"no room named {room_name}")
        return room

    async def visible_room(self, bearer: Bearer, room_name: str) -> RoomRecord:
        """The room of the bearer's app, if the bearer may see it: 404 ``not_found`` for no
        such room; 403 ``forbidden`` for a call's room to anyone but the call's two parties
        (the rule of :meth:`call_for`, for every endpoint that answers with a room)."""
        room = await self.load_room(bearer.app_id, room_name)
        if room.call_id is not None or room.type.is_call:
            _require_party(await self._call_of(room), bearer)
        return room

    async def room_json(self, bearer: Bearer, room_name: str) -> dict[str, Any]:
        """The current ``RoomState`` of a room the bearer may see (:meth:`visible_room`),
        every pending request listed."""
        room = await self.visible_room(bearer, room_name)
        return room.to_json(await self._call_of(room), full=True)

    async def change_room(
        self,
        app_id: str,
        room_name: str,
        change: Callable[[RoomRecord, Effects], None],
        *,
        kind: UTDStreamType | None = None,
    ) -> dict[str, Any]:
        """Apply ``change`` to a room under its lock, save, push; answer the new state."""
        async with self.lock(app_id, room_name):
            room = await self.load_room(app_id, room_name)
            if kind is not None and room.type is not kind:
                raise ApiError.conflict(f"{room_name} is a {room.type.value}, not a {kind.value}")
            before = room.grants()
            effects = Effects()
            change(room, effects)
            if effects.changed:
                room.bump_version()
                await self.storage.save(rooms=[room], holds=effects.holds)
                await self._push(room, before, effects)
            elif effects.save_quietly:
                await self.storage.save(rooms=[room])
            return room.to_json(await self._call_of(room))

    # -- tokens -----------------------------------------------------------------------------

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
            if room.livekit_name not in self._open_rooms and await self._guard(
                "create room", self.bridge.ensure_room(room.livekit_name, await self.metadata(room))
            ):
                self._open_rooms.add(room.livekit_name)
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

    # -- bans -------------------------------------------------------------------------------

    async def ban(self, app_id: str, identity: str) -> list[str]:
        """Ban ``identity`` now: free everything it holds, end its calls, remove it from
        LiveKit. Its bearers are refused from now on; its LiveKit tokens carry no right to
        publish, and a join with one is removed again (``participant_joined``).

        Returns the rooms in which it held something.
        """
        await self.storage.set_banned(app_id, identity, True)
        log.info("%s is banned from app %s", identity, app_id)
        touched: list[str] = []
        for room_name in await self.storage.room_names(app_id):
            room = await self.storage.load_room(app_id, room_name)
            if room is not None and await self._take_everything(room, identity):
                touched.append(room_name)
        # Wherever it may be connected: rooms it held something in, and every room this
        # process has open for the app (a viewer holds nothing the records show).
        livekit_rooms = {livekit_room_name(app_id, name) for name in touched}
        livekit_rooms.update(
            name for name in self._open_rooms
            if (split_livekit_room_name(name) or ("", ""))[0] == app_id
        )
        await asyncio.gather(
            *(
                self._guard("remove participant", self.bridge.remove_participant(lk, identity))
                for lk in sorted(livekit_rooms)
            )
        )
        return touched

    async def _take_everything(self, room: RoomRecord, identity: str) -> bool:
        """End the identity's open call in ``room`` or free what it holds there."""
        if room.call_id is not None:
            call = await self._call_of(room)
            if call is None or call.status.is_terminal or not call.involves(identity):
                return False
            with contextlib.suppress(ApiError):
                await self.transition_call(
                    room.app_id, call.call_id, ends_over(UTDCallEndReason.FAILED)
                )
            return True
        if identity not in room.holders():
            return False
        await self._release(room.app_id, room.room_name, identity)
        return True

    async def _release(self, app_id: str, room_name: str, identity: str) -> None:
        """Free the seat, stage place, requests and invitations of ``identity`` in the room."""

        def change(room: RoomRecord, effects: Effects) -> None:
            effects.changed = forget_participant(room, identity)
            # A name is only worth keeping while its identity is in the room.
            effects.save_quietly = room.names.pop(identity, None) is not None

        with contextlib.suppress(ApiError):
            await self.change_room(app_id, room_name, change)

    async def unban(self, app_id: str, identity: str) -> None:
        """Lift a run-time ban (a ban from the configuration stays)."""
        await self.storage.set_banned(app_id, identity, False)

    # -- calls ------------------------------------------------------------------------------

    async def create_call(
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
        if await answers_busy(self.storage, caller.app_id, callee_identity):
            make_busy(call)
            await self.storage.save(calls=[call])
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
        async with self.lock(caller.app_id, room_name):
            await self.storage.save(rooms=[room], calls=[call])
            await self._guard(
                "create call room",
                self.bridge.ensure_room(
                    room.livekit_name, await self.metadata(room, call), max_participants=2
                ),
            )
        token = await self.livekit_token(room, caller.identity, caller.name)
        return call.to_json(token=token, url=self.livekit_url)

    async def load_call(self, app_id: str, call_id: str) -> CallRecord:
        """The call of this app, or 404."""
        call = await self.storage.load_call(call_id)
        if call is None or call.app_id != app_id:
            raise ApiError.not_found(f"no call {call_id}")
        return call

    async def call_for(self, bearer: Bearer, call_id: str) -> CallRecord:
        """The call, if the bearer is a party to it (404, else 403 ``forbidden``)."""
        call = await self.load_call(bearer.app_id, call_id)
        _require_party(call, bearer)
        return call

    async def transition_call(
        self,
        app_id: str,
        call_id: str,
        decide: CallDecision,
    ) -> CallRecord:
        """Move a call to the outcome ``decide`` returns (``None`` = leave it as it is).

        A call that is over stays as it is, its end reason included.
        """
        call = await self.load_call(app_id, call_id)
        async with self.lock(app_id, call.room_name):
            call = await self.load_call(app_id, call_id)
            outcome = decide(call)  # may refuse (raise), as for a call that is over
            if outcome is None or outcome.status is call.status or call.status.is_terminal:
                return call
            room = await self.storage.load_room(app_id, call.room_name)
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
            await self.storage.save(rooms=rooms, calls=[call])
            if room is not None:
                effects = Effects()
                effects.notify(
                    "utd.call",
                    (call.caller_identity, call.callee_identity),
                    {"call": call.to_json()},
                )
                await self._push(room, room.grants(), effects, call)
        return call

    async def callee_token(self, call: CallRecord) -> str:
        """The callee's token for the call room."""
        return await self.party_token(call, call.callee_identity)

    async def party_token(self, call: CallRecord, identity: str) -> str:
        """A token for the call room for one of the call's two parties."""
        room = await self.load_room(call.app_id, call.room_name)
        name = call.caller_name if identity == call.caller_identity else call.callee_name
        return await self.livekit_token(room, identity, name)

    async def expire_calls(self) -> None:
        """Turn every call that rang longer than ``ring_timeout`` into ``missed``."""
        deadline = time.time() - self.config.ring_timeout
        for call in await self.storage.calls_with_status(OPEN_CALL_STATUSES):
            if call.created_at <= deadline:

                def decide(current: CallRecord) -> CallOutcome | None:
                    if current.status not in OPEN_CALL_STATUSES:
                        return None
                    return CallOutcome(UTDCallStatus.MISSED, UTDCallEndReason.TIMEOUT)

                try:
                    await self.transition_call(call.app_id, call.call_id, decide)
                except ApiError:
                    continue

    # -- reconciliation with LiveKit --------------------------------------------------------

    def request_reconcile(self) -> None:
        """Run a reconciliation pass soon (see :mod:`.reconcile`)."""
        self._reconcile_wanted.set()

    def _livekit_failed(self) -> None:
        # After a LiveKit outage: the first failure wakes the reconciler, whose passes then
        # run every few seconds until one reaches LiveKit again (the first call that succeeds
        # after the failures); that pass catches up with what was lost meanwhile (departures
        # whose webhooks were dropped, grants that were never applied).
        if not self._livekit_trouble:
            self._livekit_trouble = True
            self.request_reconcile()

    async def reconcile(self) -> bool:
        """One reconciliation pass now; False when LiveKit could not be asked."""
        try:
            reached = (await reconcile(self)).reached
        except Exception:
            log.exception("reconciliation with LiveKit failed")
            reached = False
        if reached:
            self._livekit_trouble = False
        else:
            self._livekit_failed()
        return reached

    async def _reconcile_forever(self) -> None:
        # The first pass runs right after start-up: the engine may have been down while
        # participants left and LiveKit gave up retrying their webhooks.
        while True:
            self._reconcile_wanted.clear()
            await self.reconcile()
            if self._livekit_trouble:
                wait: float | None = _RECONCILE_RETRY
            elif self.config.reconcile_interval > 0:
                wait = self.config.reconcile_interval
            else:
                wait = None  # only when asked (a room started again, a LiveKit failure)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reconcile_wanted.wait(), wait)

    async def _sweep_forever(self) -> None:
        interval = max(0.05, min(1.0, self.config.ring_timeout / 4))
        while True:
            await _sweep_step("ring timeout", self.expire_calls())
            await _sweep_step("rejoin grace", self.release_absent())
            await _sweep_step("join window", self.release_no_shows())
            await _sweep_step("request expiry", self.request_expiry.sweep())
            await asyncio.sleep(interval)

    def start(self) -> None:
        """Start background work (the ring timeout, the rejoin grace, reconciliation)."""
        loop = asyncio.get_running_loop()
        if self._sweeper is None:
            self._sweeper = loop.create_task(self._sweep_forever())
        # Without LiveKit nobody is ever in a room: there is nothing to reconcile with.
        if self._reconciler is None and self.config.livekit_url is not None:
            self._reconciler = loop.create_task(self._reconcile_forever())

    async def stop(self) -> None:
        """Stop background work and release LiveKit connections."""
        self.hub.close()
        for task in (self._sweeper, self._reconciler):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sweeper = self._reconciler = None
        await self.bridge.aclose()

    # -- presence: who may hold something in a room -------------------------------------------

    async def change_room_in_person(
        self,
        app_id: str,
        room_name: str,
        identity: str,
        change: Callable[[RoomRecord, Effects], None],
        *,
        kind: UTDStreamType,
    ) -> dict[str, Any]:
        """:meth:`change_room` for a command by which ``identity`` comes to hold something
        (a seat, a request, a place on stage): 409 ``not_in_room`` unless it is in the room.

        Nobody ever reports the departure of an identity that never joined, so what it took
        would be held for ever. An identity counts as in the room when its
        ``participant_joined`` was seen (and no departure since), or LiveKit lists it. One
        that has just minted a token for the room (within ``join_window``) is on its way in:
        its command is honoured, and what it holds is released once the window is over unless
        LiveKit then shows it in the room (so is it when LiveKit cannot be asked now).
        """
        hold_until = await self._admission(app_id, room_name, identity, kind)
        if hold_until is None:
            return await self.change_room(app_id, room_name, change, kind=kind)
        room_key = (app_id, room_name)

        def change_on_trust(room: RoomRecord, effects: Effects) -> None:
            change(room, effects)
            if effects.changed and not self.presence.is_present(room_key, identity):
                effects.holds.append(TrustHold(app_id, room_name, identity, hold_until))

        return await self.change_room(app_id, room_name, change_on_trust, kind=kind)

    async def _admission(
        self, app_id: str, room_name: str, identity: str, kind: UTDStreamType
    ) -> float | None:
        """``None`` when ``identity`` is in the room (or nobody can be: no LiveKit; or the
        command will fail anyway: no such room, a room of another kind); else the time until
        which what it takes is held on trust. Raises 409 ``not_in_room``, or first 403
        ``banned`` for an identity banned from the room (never in it, so never admitted)."""
        if self.config.livekit_url is None:
            return None  # without LiveKit nobody is ever in a room: nothing to check against
        room_key = (app_id, room_name)
        # Another instance may have seen this identity leave: with a shared database, only
        # LiveKit itself tells who is in the room.
        if not self.storage.shared and self.presence.is_present(room_key, identity):
            return None
        room = await self.storage.load_room(app_id, room_name)
        if room is None or room.type is not kind:
            return None  # change_room answers 404 or 409 conflict
        exclusion.check_not_banned_from(room, identity)
        now = time.time()
        joining_until = await self.storage.join_window_end(app_id, room_name, identity, now)
        if joining_until is not None:
            return joining_until
        try:
            async with asyncio.timeout(_PRESENCE_QUERY_TIMEOUT):
                sid = await self.bridge.participant_sid(room.livekit_name, identity)
        except Exception as exc:
            # Cannot tell: honour the command, and check again once the window is over.
            log.info("presence of %s in %s unknown (%r)", identity, room.livekit_name, exc)
            return now + self.config.join_window
        if sid is None:
            raise ApiError.conflict(
                f"{identity} is not in {room_name}: join the room first", ErrorCode.NOT_IN_ROOM
            )
        self.presence.joined(room_key, identity, sid)
        return None

    async def release_no_shows(self) -> None:
        """Release what identities admitted on trust (:meth:`change_room_in_person`) hold when
        their window is over and LiveKit does not show them in the room."""
        for hold in await self.storage.trust_holds_due(time.time()):
            app_id, room_name, identity = hold.app_id, hold.room_name, hold.identity
            try:
                await self._release_no_show(app_id, room_name, identity)
            except Exception:
                log.exception("releasing %s, who never joined %s, failed", identity, room_name)

    async def _release_no_show(self, app_id: str, room_name: str, identity: str) -> None:
        room_key = (app_id, room_name)
        room = await self.storage.load_room(app_id, room_name)
        if room is None or identity not in room.holders():
            await self.storage.drop_trust_hold(app_id, room_name, identity)
            return
        try:
            async with asyncio.timeout(_PRESENCE_QUERY_TIMEOUT):
                sid = await self.bridge.participant_sid(room.livekit_name, identity)
        except Exception as exc:
            # Cannot tell: keep the hold and ask again on the next sweep.
            log.debug("presence of %s unknown (%r); asking again later", identity, exc)
            return
        await self.storage.drop_trust_hold(app_id, room_name, identity)
        if sid is not None:
            self.presence.joined(room_key, identity, sid)
            return
        log.info("%s never joined %s; releasing what it took", identity, room.livekit_name)

        def change(room: RoomRecord, effects: Effects) -> None:
            # A join that arrived while LiveKit was asked keeps everything.
            present = self.presence.is_present(room_key, identity)
            effects.changed = not present and forget_participant(room, identity)

        with contextlib.suppress(ApiError):
            await self.change_room(app_id, room_name, change)

    # -- LiveKit webhooks -------------------------------------------------------------------

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
        async with self.lock(app_id, room_name):
            room = await self.storage.load_room(app_id, room_name)
            if room is None:
                return
            why = exclusion.turned_away(
                room, identity, exclusion.token_version(joined_as.attributes if joined_as else None)
            )
            if why is None and await self.is_banned(app_id, identity):
                why = "banned"
            if why is not None:
                # An old token still lets them in: LiveKit cannot refuse it.
                log.info("%s joined %s (%s); removing them", identity, room.livekit_name, why)
                await self._guard(
                    "remove participant",
                    self.bridge.remove_participant(room.livekit_name, identity),
                )
                return
            room_key = (app_id, room_name)
            self.presence.joined(room_key, identity, joined_as.sid if joined_as else "")
            await self.storage.drop_trust_hold(app_id, room_name, identity)
            if room.away.pop(identity, None) is not None:
                log.info("%s is back in %s within the grace", identity, room.livekit_name)
                await self.storage.save(rooms=[room])
            if room.type.is_call:
                return
            grant = room.grant_for(identity)
            if joined_as is not None and holds_grant(joined_as, grant):
                return
            lk = room.livekit_name
            await self._guard("grant", self.bridge.apply_grant(lk, identity, grant, room.version))

    async def room_started(self, app_id: str, room_name: str) -> None:
        """Write the metadata into a room LiveKit created on its own.

        A room that starts while the engine records holders in it lost its participants
        without their leaving (a livekit-server restart; its ``participant_left`` may never
        have been sent): each holder gets the rejoin grace to come back, and a reconciliation
        pass runs (so does one for the room of an active call).
        """
        # Whoever LiveKit had in the room before is gone from it (a restart lost them).
        self.presence.forget_room((app_id, room_name))
        async with self.lock(app_id, room_name):
            room = await self.storage.load_room(app_id, room_name)
            if room is None:
                return
            call = await self._call_of(room)
            if room.holders() or (call is not None and call.status is UTDCallStatus.ACTIVE):
                # Not a new room: LiveKit lost one in use (a restart, an outage). Rooms whose
                # participants all left meanwhile will never start again: catch up with all.
                self.request_reconcile()
            if not room.type.is_call:
                due = time.time() + self.config.rejoin_grace
                absent = room.holders() - room.away.keys()
                if absent:
                    room.away.update(dict.fromkeys(absent, due))
                    await self.storage.save(rooms=[room])
            await self._guard(
                "metadata", self.bridge.set_metadata(room.livekit_name, await self.metadata(room))
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
        self.presence.left((app_id, room_name), identity, sid)
        room = await self.storage.load_room(app_id, room_name)
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
                await self.transition_call(app_id, room.call_id, ends_without({identity}))
            return
        await self._release(app_id, room_name, identity)

    async def _connected_elsewhere(self, livekit_room: str, identity: str, sid: str) -> bool:
        """True when LiveKit shows ``identity`` connected under a sid other than ``sid``."""
        try:
            current = await self.bridge.participant_sid(livekit_room, identity)
        except Exception as exc:
            # Unknown: treat the departure as real, as LiveKit reported it.
            log.warning("LiveKit presence check failed: %s", exc)
            return False
        return current is not None and current != sid

    async def _hold_for_rejoin(self, app_id: str, room_name: str, identity: str) -> None:
        async with self.lock(app_id, room_name):
            room = await self.storage.load_room(app_id, room_name)
            if room is None or identity not in room.holders():
                return
            room.away.setdefault(identity, time.time() + self.config.rejoin_grace)
            await self.storage.save(rooms=[room])
            log.info(
                "%s lost %s to a server shutdown; holding their place for %gs",
                identity,
                room.livekit_name,
                self.config.rejoin_grace,
            )

    async def release_absent(self) -> None:
        """Release what participants hold who are still away once their grace is over."""
        for app_id, room_name in await self.storage.rooms_due(time.time()):
            try:
                await self._release_absent_in(app_id, room_name)
            except Exception:
                log.exception("releasing absent participants of %s failed", room_name)

    async def _release_absent_in(self, app_id: str, room_name: str) -> None:
        gone: set[str] = set()
        async with self.lock(app_id, room_name):
            room = await self.storage.load_room(app_id, room_name)
            if room is None:
                return
            now = time.time()
            due = sorted(identity for identity, at in room.away.items() if at <= now)
            before = room.grants()
            changed = False
            for identity in due:
                try:
                    present = await self.bridge.participant_sid(room.livekit_name, identity)
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
            await self.storage.save(rooms=[room])  # also moves or clears the room's release row
            if changed:
                await self._push(room, before, Effects())
            call_id = room.call_id
        if call_id is not None and gone:
            # A party who never came back ends the call (outside the lock: the transition
            # takes it).
            with contextlib.suppress(ApiError):
                await self.transition_call(app_id, call_id, ends_without(gone, came_back=False))

    async def room_finished(self, app_id: str, room_name: str) -> None:
        """A finished call room ends its call."""
        self.presence.forget_room((app_id, room_name))
        room = await self.storage.load_room(app_id, room_name)
        if room is not None:
            self._open_rooms.discard(room.livekit_name)
        if room is None or room.call_id is None:
            return
        with contextlib.suppress(ApiError):
            await self.transition_call(app_id, room.call_id, ends_over(UTDCallEndReason.HUNG_UP))


def _require_party(call: CallRecord | None, bearer: Bearer) -> None:
    """403 ``forbidden`` unless the bearer is the caller or the callee of ``call`` (nobody
    is a party to a call room whose call is missing)."""
    if call is None or not call.involves(bearer.identity):
        raise ApiError.forbidden("only the caller and the callee see this call")


async def _sweep_step(what: str, step: Awaitable[None]) -> None:
    """Run one step of the sweep; a failure is logged and the sweep goes on."""
    try:
        await step
    except StorageUnavailable as exc:
        # Every second while the database cannot be written: one line, not a traceback.
        log.warning("%s sweep waits for the database: %s", what, exc)
    except Exception:
        log.exception("%s sweep failed", what)


def forget_participant(room: RoomRecord, identity: str) -> bool:
    """Drop the identity's seat, stage place, requests and invitation; True if any."""
    changed = False
    seat = room.seat_of(identity)
    if seat is not None:
        room.free_seat(seat.index)
        changed = True
    if identity != room.host_identity and room.on_stage(identity):
        room.stage = [m for m in room.stage if m.identity != identity]
        changed = True
    if room.has_request(identity):  # reads the requests only when there is one to drop
        room.stage_requests = [r for r in room.stage_requests if r.identity != identity]
        room.speak_requests = [r for r in room.speak_requests if r.identity != identity]
        changed = True
    kept = [i for i in room.invitations if i.identity != identity]
    if len(kept) != len(room.invitations):
        room.invitations = kept
        changed = True
    if room.stage_invitation_of(identity) is not None:
        room.stage_invitations = [i for i in room.stage_invitations if i.identity != identity]
        changed = True
    return changed
