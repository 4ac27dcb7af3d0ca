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
    UTDSpeakRequest,
    UTDStageMember,
    UTDStageRequest,
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
    "CONNECTION_STATE",
    "INVITATIONS",
    "REMOTE_PARTICIPANTS",
    "ROOM_STATE",
    "SEATS",
    "SPEAK_REQUESTS",
    "STAGE",
    "STAGE_REQUESTS",
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
    CAN_PUBLISH,
    REMOTE_PARTICIPANTS,
    ACTIVE_SPEAKERS,
    ROOM_STATE,
    STAGE,
    STAGE_REQUESTS,
    SEATS,
    SPEAK_REQUESTS,
    INVITATIONS,
    CALL,
    CALL_STATUS,
    CALL_ID,
)
"""Every view of a store, each after the spec it is read from."""
