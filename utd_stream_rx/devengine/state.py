"""The engine's own records of rooms and calls, and their public JSON form.

Records are mutable and only ever changed under the room's lock, then saved whole. The public
form is built from :mod:`utd_stream_rx.models`, so what the engine sends is exactly what the
SDK structures.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..models import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDSeat,
    UTDSeatGrid,
    UTDSeatInvitation,
    UTDSeatMode,
    UTDSpeakRequest,
    UTDStageMember,
    UTDStageRequest,
    UTDStreamType,
    converter,
    unstructure,
)
from .names import is_app_id, is_name

__all__ = [
    "CallRecord",
    "Grant",
    "RoomRecord",
    "livekit_room_name",
    "split_livekit_room_name",
]

_SEP = "__"


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
    stage_requests: list[UTDStageRequest] = attrs.field(factory=list)
    speak_requests: list[UTDSpeakRequest] = attrs.field(factory=list)
    invitations: list[UTDSeatInvitation] = attrs.field(factory=list)
    names: dict[str, str] = attrs.field(factory=dict)
    call_id: str | None = None
    next_request_id: int = 1
    created_at: float = 0.0
    # Identities LiveKit lost without them leaving, and when what they hold is released unless
    # they are back in the room by then. Engine-internal: not part of the public RoomState.
    away: dict[str, float] = attrs.field(factory=dict)

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

    def seat_of(self, identity: str) -> UTDSeat | None:
        """The seat ``identity`` holds, or ``None``."""
        for seat in self.seats:
            if seat.identity == identity:
                return seat
        return None

    def on_stage(self, identity: str) -> bool:
        """True for the host of a live stream and every co-publisher."""
        return any(m.identity == identity for m in self.stage)

    def holders(self) -> set[str]:
        """Every identity with a seat, a place on stage (not as host), a request or an
        invitation: what leaving the room takes away."""
        found = {s.identity for s in self.seats if s.identity is not None}
        found.update(m.identity for m in self.stage if m.identity != self.host_identity)
        found.update(r.identity for r in self.stage_requests)
        found.update(r.identity for r in self.speak_requests)
        found.update(i.identity for i in self.invitations)
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

    def to_model(self, call: CallRecord | None = None) -> UTDRoomState:
        """The public ``RoomState`` (never with tokens)."""
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
            stage_requests=tuple(self.stage_requests),
            speak_requests=tuple(self.speak_requests),
            invitations=tuple(self.invitations),
            call=call.to_model() if call is not None else None,
        )

    def to_json(self, call: CallRecord | None = None) -> dict[str, Any]:
        """The public ``RoomState`` as JSON."""
        data: dict[str, Any] = unstructure(self.to_model(call))
        return data


def dump_record(record: RoomRecord | CallRecord) -> Any:
    """A record as JSON-ready builtins, for storage."""
    return converter.unstructure(record)


def load_room(data: Any) -> RoomRecord:
    """A room record from storage."""
    return converter.structure(data, RoomRecord)


def load_call(data: Any) -> CallRecord:
    """A call record from storage."""
    return converter.structure(data, CallRecord)
