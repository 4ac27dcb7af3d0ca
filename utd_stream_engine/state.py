"""The engine's own records of rooms and calls, and their public JSON form.

Records are mutable and only ever changed under the room's lock, then saved whole. The public
form is built from :mod:`utd_stream_rx.models`, so what the engine sends is exactly what the
SDK structures.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from utd_stream_rx.models import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDSeat,
    UTDSeatGrid,
    UTDSeatInvitation,
    UTDSeatMode,
    UTDSpeakRequest,
    UTDStageInvitation,
    UTDStageMember,
    UTDStageRequest,
    UTDStreamType,
    converter,
    unstructure,
)

from .names import is_app_id, is_name

__all__ = [
    "MAX_NAMES",
    "METADATA_REQUESTS",
    "CallRecord",
    "Grant",
    "PendingRequests",
    "RequestSource",
    "RoomRecord",
    "livekit_room_name",
    "split_livekit_room_name",
]

_SEP = "__"

METADATA_REQUESTS = 16
"""Most pending requests a room's public state carries in its metadata and command answers;
past that, only their count and version are sent (``GET`` the room for the lists)."""

MAX_NAMES = 512
"""Most display names a room remembers (the least recently given are forgotten first)."""


def livekit_room_name(app_id: str, room: str) -> str:
    """The LiveKit name of an app's room: ``<app_id>__<room>``.

    One-to-one over valid app ids and room names (:mod:`.names`): an app id holds no ``_``,
    so the first ``__`` ends it, whatever the room name holds.
    """
    return f"{app_id}{_SEP}{room}"


def split_livekit_room_name(name: str) -> tuple[str, str] | None:
    """``(app_id, room)`` of a LiveKit room name, or ``None`` unless :func:`livekit_room_name`
    makes exactly ``name`` from a valid app id and a valid room name."""
    app_id, sep, room = name.partition(_SEP)
    if not sep or not is_app_id(app_id) or not is_name(room):
        return None
    return app_id, room


@attrs.frozen
class Grant:
    """What one participant may do in a room, and the role attributes that go with it."""

    role: str
    seat: int | None
    can_publish: bool
    sources: tuple[str, ...]

    @property
    def attributes(self) -> dict[str, str]:
        """``utd.role`` and ``utd.seat`` (``""`` when not seated)."""
        return {"utd.role": self.role, "utd.seat": "" if self.seat is None else str(self.seat)}


@attrs.define
class CallRecord:
    """A 1:1 call."""

    call_id: str
    app_id: str
    status: UTDCallStatus
    type: UTDStreamType
    room_name: str
    caller_identity: str
    callee_identity: str
    caller_name: str | None = None
    callee_name: str | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)
    version: int = 1
    created_at: float = 0.0
    updated_at: float = 0.0
    # Why the call ended (None while it goes on, and in records saved before reasons existed).
    end_reason: str | None = None

    def to_model(self, token: str | None = None, url: str | None = None) -> UTDCall:
        """The public ``Call`` (with ``token``/``url`` only for the party that joins)."""
        return UTDCall(
            call_id=self.call_id,
            status=self.status,
            type=self.type,
            room_name=self.room_name,
            token=token,
            url=url,
            caller_identity=self.caller_identity,
            caller_name=self.caller_name,
            callee_identity=self.callee_identity,
            callee_name=self.callee_name,
            metadata=dict(self.metadata),
            version=self.version,
            created_at=self.created_at,
            updated_at=self.updated_at,
            end_reason=self.end_reason,
        )

    def to_json(self, token: str | None = None, url: str | None = None) -> dict[str, Any]:
        """The public ``Call`` as JSON."""
        data: dict[str, Any] = unstructure(self.to_model(token, url))
        return data

    def involves(self, identity: str) -> bool:
        """True for the caller and the callee."""
        return identity in (self.caller_identity, self.callee_identity)

    def parties(self) -> set[str]:
        """Who the call needs in its room: both parties of an active call, the caller of a
        call that still rings, nobody once it is over. One of them leaving ends the call."""
        if self.status is UTDCallStatus.ACTIVE:
            return {self.caller_identity, self.callee_identity}
        if self.status.is_terminal:
            return set()
        return {self.caller_identity}


@attrs.define
class PendingRequests:
    """A room's pending stage and speak requests.

    They are saved apart from the room's record and loaded only by the changes that read them,
    so that the many that do not (seats, locks, the stage) cost the same in a room with a
    thousand pending requests as in an empty one.
    """

    stage: list[UTDStageRequest] = attrs.field(factory=list)
    speak: list[UTDSpeakRequest] = attrs.field(factory=list)

    def snapshot(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """Both lists as they are now, to compare with later."""
        return tuple(self.stage), tuple(self.speak)


class RequestSource(Protocol):
    """Where a room's pending requests are read from: its storage."""

    def load(self) -> PendingRequests:
        """Every pending request of the room."""
        ...

    def has(self, identity: str) -> bool:
        """True when ``identity`` has a pending request in the room."""
        ...


@attrs.define
class RoomRecord:
    """One room of one app: its owner, seats, stage, requests and invitations."""

    app_id: str
    room_name: str
    type: UTDStreamType
    version: int = 1
    host_identity: str | None = None
    seat_mode: UTDSeatMode = UTDSeatMode.FREE
    mode_id: str | None = None
    seats: list[UTDSeat] = attrs.field(factory=list)
    stage: list[UTDStageMember] = attrs.field(factory=list)
    invitations: list[UTDSeatInvitation] = attrs.field(factory=list)
    # Open invitations to a live stream's stage, waiting for the viewers' consent (records
    # saved before there were any load with none).
    stage_invitations: list[UTDStageInvitation] = attrs.field(factory=list)
    names: dict[str, str] = attrs.field(factory=dict)
    call_id: str | None = None
    next_request_id: int = 1
    created_at: float = 0.0
    # Identities LiveKit lost without them leaving, and when what they hold is released unless
    # they are back in the room by then. Engine-internal: not part of the public RoomState.
    away: dict[str, float] = attrs.field(factory=dict)
    # How many requests are pending, and the version at which they last changed. The requests
    # themselves are kept apart (:class:`PendingRequests`).
    request_count: int = 0
    requests_version: int = 0
    # Moderation (:mod:`.exclusion`): who was removed and at which version (a token minted
    # before that version is turned away), who is banned from the room, whether the host
    # ended it.
    removed: dict[str, int] = attrs.field(factory=dict)
    banned: list[str] = attrs.field(factory=list)
    ended: bool = False
    # Not saved with the record: where its requests are read from, and once loaded, the
    # requests with the snapshot they were loaded as (to tell whether they changed).
    pending_source: RequestSource | None = attrs.field(default=None, eq=False, repr=False)
    loaded_requests: PendingRequests | None = attrs.field(default=None, eq=False, repr=False)
    loaded_snapshot: tuple[tuple[Any, ...], tuple[Any, ...]] = attrs.field(
        default=((), ()), eq=False, repr=False
    )

    @property
    def livekit_name(self) -> str:
        """The prefixed name of this room inside LiveKit."""
        return livekit_room_name(self.app_id, self.room_name)

    @property
    def is_audio_room(self) -> bool:
        """True for audio rooms (the only kind with seats)."""
        return self.type is UTDStreamType.AUDIO_ROOM

    def name_of(self, identity: str) -> str | None:
        """The display name last given for ``identity``, if any."""
        return self.names.get(identity)

    def remember_name(self, identity: str, name: str) -> bool:
        """Keep ``name`` for ``identity`` (at most :data:`MAX_NAMES`, the least recently given
        forgotten first); True when it changed."""
        changed = self.names.pop(identity, None) != name
        self.names[identity] = name
        while len(self.names) > MAX_NAMES:
            del self.names[next(iter(self.names))]
        return changed

    # -- pending requests ------------------------------------------------------------------

    @property
    def pending(self) -> PendingRequests:
        """The pending requests, loaded on first use."""
        if self.loaded_requests is None:
            loaded = self.pending_source.load() if self.pending_source is not None else None
            self.loaded_requests = loaded if loaded is not None else PendingRequests()
            self.loaded_snapshot = self.loaded_requests.snapshot()
        return self.loaded_requests

    @property
    def stage_requests(self) -> list[UTDStageRequest]:
        """Pending requests to go on stage, oldest first."""
        return self.pending.stage

    @stage_requests.setter
    def stage_requests(self, value: list[UTDStageRequest]) -> None:
        self.pending.stage = list(value)

    @property
    def speak_requests(self) -> list[UTDSpeakRequest]:
        """Pending requests to speak, oldest first."""
        return self.pending.speak

    @speak_requests.setter
    def speak_requests(self, value: list[UTDSpeakRequest]) -> None:
        self.pending.speak = list(value)

    def pending_count(self) -> int:
        """How many requests are pending (without loading them)."""
        pending = self.loaded_requests
        return self.request_count if pending is None else len(pending.stage) + len(pending.speak)

    def pending_identities(self) -> list[str]:
        """Who has a pending request, oldest first (loads the requests if there are any)."""
        if self.pending_count() == 0:
            return []
        pending = self.pending
        return [r.identity for r in pending.stage] + [r.identity for r in pending.speak]

    def has_request(self, identity: str) -> bool:
        """True when ``identity`` has a pending request (asked of storage while the requests
        are not loaded)."""
        if self.loaded_requests is not None:
            return identity in self.pending_identities()
        if self.request_count == 0 or self.pending_source is None:
            return False
        return self.pending_source.has(identity)

    def requests_changed(self) -> bool:
        """True when the requests were loaded and differ from what was loaded."""
        loaded = self.loaded_requests
        return loaded is not None and loaded.snapshot() != self.loaded_snapshot

    def bump_version(self) -> None:
        """Move to the next version; requests changed since loading are stamped with it."""
        self.version += 1
        if self.requests_changed():
            self.requests_version = self.version

    def requests_to_save(self) -> tuple[PendingRequests, set[str]] | None:
        """The requests and who had one as loaded, if they changed since loading, else
        ``None``; called by storage once per save (``request_count`` follows them)."""
        if not self.requests_changed():
            return None
        pending = self.pending
        stage, speak = self.loaded_snapshot
        before = {r.identity for r in (*stage, *speak)}
        self.request_count = self.pending_count()
        self.loaded_snapshot = pending.snapshot()
        return pending, before

    def holds_anything(self) -> bool:
        """True when :meth:`holders` is not empty (without loading the requests)."""
        return bool(
            self.pending_count()
            or self.invitations
            or self.stage_invitations
            or any(s.identity is not None for s in self.seats)
            or any(m.identity != self.host_identity for m in self.stage)
        )

    def seat_of(self, identity: str) -> UTDSeat | None:
        """The seat ``identity`` holds, or ``None``."""
        for seat in self.seats:
            if seat.identity == identity:
                return seat
        return None

    def on_stage(self, identity: str) -> bool:
        """True for the host of a live stream and every co-publisher."""
        return any(m.identity == identity for m in self.stage)

    def stage_invitation_of(self, identity: str) -> UTDStageInvitation | None:
        """The open invitation to the stage of ``identity``, or ``None``."""
        return next((i for i in self.stage_invitations if i.identity == identity), None)

    def holders(self) -> set[str]:
        """Every identity with a seat, a place on stage (not as host), a request or an
        invitation: what leaving the room takes away."""
        found = {s.identity for s in self.seats if s.identity is not None}
        found.update(m.identity for m in self.stage if m.identity != self.host_identity)
        found.update(self.pending_identities())
        found.update(i.identity for i in self.invitations)
        found.update(i.identity for i in self.stage_invitations)
        return found

    @property
    def next_release(self) -> float | None:
        """The earliest time an absent participant's holdings fall due, if any."""
        return min(self.away.values()) if self.away else None

    def take_request_id(self) -> int:
        """A fresh request id, unique within the room."""
        value = self.next_request_id
        self.next_request_id += 1
        return value

    def free_seat(self, index: int) -> str | None:
        """Empty seat ``index``; returns the identity that held it."""
        seat = self.seats[index]
        if seat.identity is None:
            return None
        self.seats[index] = attrs.evolve(seat, identity=None, name=None, muted=False)
        return seat.identity

    def grant_for(self, identity: str) -> Grant:
        """The publish permission and role of ``identity`` in the current state."""
        if self.type.is_call:
            sources = ("camera", "microphone") if self.type.has_video else ("microphone",)
            role = "host" if identity == self.host_identity else "speaker"
            return Grant(role=role, seat=None, can_publish=True, sources=sources)
        if self.type is UTDStreamType.LIVE_STREAM:
            if identity == self.host_identity:
                return Grant("host", None, True, ("camera", "microphone"))
            if self.on_stage(identity):
                return Grant("stage", None, True, ("camera", "microphone"))
            return Grant("audience", None, False, ())
        seat = self.seat_of(identity)
        role = "host" if identity == self.host_identity else "speaker" if seat else "audience"
        if seat is None:
            return Grant(role, None, False, ())
        return Grant(role, seat.index, True, ("microphone",))

    def known_identities(self) -> set[str]:
        """Every identity that holds a role, seat or place on stage."""
        found = {s.identity for s in self.seats if s.identity is not None}
        found.update(m.identity for m in self.stage)
        if self.host_identity is not None:
            found.add(self.host_identity)
        return found

    def grants(self) -> dict[str, Grant]:
        """The grant of every identity that has a role other than plain audience."""
        return {identity: self.grant_for(identity) for identity in self.known_identities()}

    def to_model(self, call: CallRecord | None = None, *, full: bool = False) -> UTDRoomState:
        """The public ``RoomState`` (never with tokens).

        Args:
            full: Always list the pending requests. Otherwise (room metadata, command
                answers) they are listed only while there are at most
                :data:`METADATA_REQUESTS` of them, and ``requests_omitted`` says when not.
        """
        omitted = not full and self.pending_count() > METADATA_REQUESTS
        pending = PendingRequests() if omitted else self.pending
        seats = None
        if self.is_audio_room:
            seats = UTDSeatGrid(
                count=len(self.seats),
                mode=self.seat_mode,
                seats=tuple(self.seats),
                mode_id=self.mode_id,
                version=self.version,
            )
        return UTDRoomState(
            room_name=self.room_name,
            type=self.type,
            version=self.version,
            host_identity=self.host_identity,
            seats=seats,
            stage=tuple(self.stage),
            stage_requests=tuple(pending.stage),
            speak_requests=tuple(pending.speak),
            invitations=tuple(self.invitations),
            call=call.to_model() if call is not None else None,
            requests_version=self.requests_version,
            requests_omitted=omitted,
            stage_invitations=tuple(self.stage_invitations),
            ended=self.ended,
        )

    def to_json(self, call: CallRecord | None = None, *, full: bool = False) -> dict[str, Any]:
        """The public ``RoomState`` as JSON (``full`` as in :meth:`to_model`), without
        ``grant_applied``: only a command's answer to its caller may say that."""
        data: dict[str, Any] = unstructure(self.to_model(call, full=full))
        del data["grant_applied"]
        return data


# Records are saved with the models' converter, less what only lives in memory.
_records = converter.copy()
_records.register_unstructure_hook(
    RoomRecord,
    make_dict_unstructure_fn(
        RoomRecord,
        _records,
        pending_source=override(omit=True),
        loaded_requests=override(omit=True),
        loaded_snapshot=override(omit=True),
    ),
)
_records.register_structure_hook(
    RoomRecord,
    make_dict_structure_fn(
        RoomRecord,
        _records,
        pending_source=override(omit=True),
        loaded_requests=override(omit=True),
        loaded_snapshot=override(omit=True),
    ),
)


def dump_record(record: RoomRecord | CallRecord | PendingRequests) -> Any:
    """A record as JSON-ready builtins, for storage."""
    return _records.unstructure(record)


def load_room(data: Any, pending_source: RequestSource | None = None) -> RoomRecord:
    """A room record from storage; its requests come from ``pending_source`` when first used.

    A record saved before requests were kept apart carries them inline: they are taken from
    it and saved apart with the next change.
    """
    inline = {key: data.pop(key) for key in ("stage_requests", "speak_requests") if key in data}
    room = _records.structure(data, RoomRecord)
    room.pending_source = pending_source
    if inline:
        pending = _records.structure(
            {"stage": inline.get("stage_requests", []), "speak": inline.get("speak_requests", [])},
            PendingRequests,
        )
        room.loaded_requests = pending
        room.request_count = room.pending_count()
    return room


def load_requests(data: Any) -> PendingRequests:
    """A room's pending requests from storage."""
    return _records.structure(data, PendingRequests)


def load_call(data: Any) -> CallRecord:
    """A call record from storage."""
    return _records.structure(data, CallRecord)
