"""The table of views: every piece of derived state a session shows, declared once.

Each :class:`ViewSpec` names a view, the spec it is read from (or the whole
:class:`~utd_stream_rx.state.reducers.SessionState`), its selector, how consecutive values
are compared, its docstring and its place in a session's notebook panel. The
:class:`~utd_stream_rx.state.store.Store` builds one view per spec of :data:`VIEW_SPECS`;
sessions expose them with :func:`~utd_stream_rx.state.session_view.session_view`.

Adding a view of existing state is one spec here and one ``session_view`` line in the
session that shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from ..models import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDSeatGrid,
    UTDSeatInvitation,
    UTDSeatPlace,
    UTDSeatStatus,
    UTDSpeakRequest,
    UTDStageInvitation,
    UTDStageMember,
    UTDStageRequest,
    UTDStageStatus,
)
from .events import ParticipantSnapshot
from .reducers import ConnectionState, SessionState

__all__ = [
    "ACTIVE_SPEAKERS",
    "CALL",
    "CALL_ID",
    "CALL_STATUS",
    "CAN_PUBLISH",
    "CONNECTED",
    "CONNECTION_QUALITY",
    "CONNECTION_STATE",
    "DISCONNECT_REASON",
    "INVITATIONS",
    "REMOTE_PARTICIPANTS",
    "ROOM_STATE",
    "SEATS",
    "SEAT_STATUS",
    "SPEAK_REQUESTS",
    "STAGE",
    "STAGE_INVITATIONS",
    "STAGE_REQUESTS",
    "STAGE_STATUS",
    "VIEW_SPECS",
    "ViewSpec",
    "equal",
    "identical",
    "same",
]

S = TypeVar("S")
T = TypeVar("T")


# -- comparisons: when two consecutive values count as a repeat --------------------------------


def equal(a: object, b: object) -> bool:
    """Plain equality."""
    return a == b


def same(a: object, b: object) -> bool:
    """Equality with an identity shortcut: the reducer shares unchanged parts."""
    return a is b or a == b


def identical(a: object, b: object) -> bool:
    """Identity only: the reducer builds a new participant map only when something changed,
    so comparing thousands of entries on every event is never needed."""
    return a is b


@attrs.frozen(kw_only=True, eq=False)
class ViewSpec(Generic[S, T]):
    """How one view is derived: ``select(parent value)``, repeats suppressed by ``compare``.

    Specs compare and hash by identity: each is a module constant, the key of its view.

    Attributes:
        name: The view's name (its ``View.name``).
        parent: The spec whose value this one is read from; ``None`` reads the whole state.
            A child hangs off its parent in the store, so an event that leaves the parent as
            it was costs one comparison for all its children.
        select: The selector, from the parent's value (or the state) to this view's value.
        doc: What the view holds; the docstring of the session attribute that shows it.
        compare: Whether two consecutive values are the same (the second is not emitted).
        panel: Position in a session's notebook panel, ``None`` when the panel leaves it out.
    """

    name: str
    parent: ViewSpec[Any, S] | None
    select: Callable[[S], T]
    doc: str
    compare: Callable[[T, T], bool] = equal
    panel: int | None = None

    def read(self, state: SessionState) -> T:
        """This view's value in ``state``: the parents' selectors, then this one."""
        source: Any = state if self.parent is None else self.parent.read(state)
        value: T = self.select(source)
        return value

    def __repr__(self) -> str:
        return f"ViewSpec({self.name})"


# -- selectors ----------------------------------------------------------------------------------


def _connection_state(state: SessionState) -> ConnectionState:
    return state.connection_state


def _is_connected(connection: ConnectionState) -> bool:
    return connection is ConnectionState.CONNECTED


def _can_publish(state: SessionState) -> bool:
    return state.can_publish


def _remote_participants(state: SessionState) -> Mapping[str, ParticipantSnapshot]:
    return state.remote_participants


def _active_speakers(state: SessionState) -> tuple[str, ...]:
    return state.active_speakers


def _room_state(state: SessionState) -> UTDRoomState | None:
    return state.room_state


def _stage(room: UTDRoomState | None) -> tuple[UTDStageMember, ...]:
    return room.stage if room is not None else ()


def _stage_requests(room: UTDRoomState | None) -> tuple[UTDStageRequest, ...]:
    return room.stage_requests if room is not None else ()


def _seats(room: UTDRoomState | None) -> UTDSeatGrid | None:
    return room.seats if room is not None else None


def _speak_requests(room: UTDRoomState | None) -> tuple[UTDSpeakRequest, ...]:
    return room.speak_requests if room is not None else ()


def _invitations(room: UTDRoomState | None) -> tuple[UTDSeatInvitation, ...]:
    return room.invitations if room is not None else ()


def _stage_invitations(room: UTDRoomState | None) -> tuple[UTDStageInvitation, ...]:
    return room.stage_invitations if room is not None else ()


def _stage_status(state: SessionState) -> UTDStageStatus:
    me, room = state.local_identity, state.room_state
    if me is None or room is None:
        return UTDStageStatus.OFF
    if any(member.identity == me for member in room.stage):
        return UTDStageStatus.ON
    if any(invitation.identity == me for invitation in room.stage_invitations):
        return UTDStageStatus.INVITED
    if any(request.identity == me for request in room.stage_requests):
        return UTDStageStatus.REQUESTED
    return UTDStageStatus.OFF


_LISTENER = UTDSeatStatus()


def _seat_status(state: SessionState) -> UTDSeatStatus:
    me, room = state.local_identity, state.room_state
    if me is None or room is None:
        return _LISTENER
    seat = room.seats.seat_of(me) if room.seats is not None else None
    if seat is not None:
        return UTDSeatStatus(UTDSeatPlace.SEATED, seat.index)
    for invitation in room.invitations:
        if invitation.identity == me:
            return UTDSeatStatus(UTDSeatPlace.INVITED, invitation.seat_index)
    for request in room.speak_requests:
        if request.identity == me:
            return UTDSeatStatus(UTDSeatPlace.REQUESTED, request.seat_index)
    return _LISTENER


def _connection_quality(state: SessionState) -> Mapping[str, str]:
    return state.connection_quality


def _disconnect_reason(state: SessionState) -> str | None:
    return state.disconnect_reason


def _call(state: SessionState) -> UTDCall | None:
    return state.call


def _call_status(call: UTDCall | None) -> UTDCallStatus | None:
    return call.status if call is not None else None


def _call_id(call: UTDCall | None) -> str | None:
    return call.call_id if call is not None else None


# -- the table ----------------------------------------------------------------------------------

CONNECTION_STATE = ViewSpec(
    name="connection_state",
    parent=None,
    select=_connection_state,
    doc="Where the media connection is.",
)
CONNECTED = ViewSpec(
    name="connected",
    parent=CONNECTION_STATE,
    select=_is_connected,
    doc="Whether the media room is connected.",
    panel=1,
)
DISCONNECT_REASON = ViewSpec(
    name="disconnect_reason",
    parent=None,
    select=_disconnect_reason,
    doc=(
        "Why the last connection ended (LiveKit's reason in lower case, ``\"ended\"`` when the "
        "host ended the room), ``None`` while connected or before the first connection."
    ),
)
CONNECTION_QUALITY = ViewSpec(
    name="connection_quality",
    parent=None,
    select=_connection_quality,
    doc=(
        "Connection quality by identity, this participant included (``excellent``, ``good``, "
        "``poor``, ``lost``), as LiveKit last reported it."
    ),
    compare=same,
    panel=12,
)
CAN_PUBLISH = ViewSpec(
    name="can_publish",
    parent=None,
    select=_can_publish,
    doc="Whether the engine has granted this participant publishing (seat or stage).",
    panel=2,
)
REMOTE_PARTICIPANTS = ViewSpec(
    name="remote_participants",
    parent=None,
    select=_remote_participants,
    doc="The other participants of the room, by identity.",
    compare=identical,
    panel=11,
)
ACTIVE_SPEAKERS = ViewSpec(
    name="active_speakers",
    parent=None,
    select=_active_speakers,
    doc="Identities speaking right now, loudest first.",
    panel=10,
)
ROOM_STATE = ViewSpec(
    name="room_state",
    parent=None,
    select=_room_state,
    doc="The engine's latest room state (seats, stage, requests, call), by version.",
    compare=same,
)
STAGE = ViewSpec(
    name="stage",
    parent=ROOM_STATE,
    select=_stage,
    doc="Who is on stage: the host first, then every co-publisher.",
    panel=8,
)
STAGE_REQUESTS = ViewSpec(
    name="stage_requests",
    parent=ROOM_STATE,
    select=_stage_requests,
    doc="Raised hands waiting for the host (meant for the host's UI).",
    panel=9,
)
STAGE_INVITATIONS = ViewSpec(
    name="stage_invitations",
    parent=ROOM_STATE,
    select=_stage_invitations,
    doc="Open invitations to the stage waiting for the viewers' answers (the host's UI).",
    panel=13,
)
STAGE_STATUS = ViewSpec(
    name="stage_status",
    parent=None,
    select=_stage_status,
    doc="This participant's own place in the stage flow: off, requested, invited or on.",
    panel=14,
)
SEATS = ViewSpec(
    name="seats",
    parent=ROOM_STATE,
    select=_seats,
    doc="The seat grid (count, mode, holders, locks), stamped with the engine version.",
    panel=5,
)
SPEAK_REQUESTS = ViewSpec(
    name="speak_requests",
    parent=ROOM_STATE,
    select=_speak_requests,
    doc="Pending requests to speak (meant for the host's UI).",
    panel=6,
)
INVITATIONS = ViewSpec(
    name="invitations",
    parent=ROOM_STATE,
    select=_invitations,
    doc="Open invitations to take a seat; filter by your identity for your own.",
    panel=7,
)
SEAT_STATUS = ViewSpec(
    name="seat_status",
    parent=None,
    select=_seat_status,
    doc=(
        "This participant's own place among the seats: listener, requested, invited or "
        "seated, with the seat index (held, asked for or offered)."
    ),
    panel=15,
)
CALL = ViewSpec(
    name="call",
    parent=None,
    select=_call,
    doc="The current call as last reported by the engine.",
    compare=same,
)
CALL_STATUS = ViewSpec(
    name="call_status",
    parent=CALL,
    select=_call_status,
    doc="The call's lifecycle status, ``None`` until a call starts or is accepted.",
    panel=3,
)
CALL_ID = ViewSpec(
    name="call_id",
    parent=CALL,
    select=_call_id,
    doc="The engine's id of the current call, ``None`` until one starts or is accepted.",
    panel=4,
)

VIEW_SPECS: tuple[ViewSpec[Any, Any], ...] = (
    CONNECTION_STATE,
    CONNECTED,
    DISCONNECT_REASON,
    CONNECTION_QUALITY,
    CAN_PUBLISH,
    REMOTE_PARTICIPANTS,
    ACTIVE_SPEAKERS,
    ROOM_STATE,
    STAGE,
    STAGE_REQUESTS,
    STAGE_INVITATIONS,
    STAGE_STATUS,
    SEATS,
    SPEAK_REQUESTS,
    INVITATIONS,
    SEAT_STATUS,
    CALL,
    CALL_STATUS,
    CALL_ID,
)
"""Every view of a store, each after the spec it is read from."""
