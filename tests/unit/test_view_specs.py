"""The table of view specs: every spec is a store view, and each session kind shows its own."""

from __future__ import annotations

import pytest

from utd_stream_rx import UTDAudioRoomSession, UTDCallSession, UTDLiveStreamSession
from utd_stream_rx.api import UTDApiClient
from utd_stream_rx.models import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDStageMember,
    UTDStreamType,
)
from utd_stream_rx.sessions.base import UTDSession
from utd_stream_rx.state import events as ev
from utd_stream_rx.state import view_specs
from utd_stream_rx.state.reducers import SessionState, reduce
from utd_stream_rx.state.session_view import session_views
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import (
    CALL_ID,
    CALL_STATUS,
    CONNECTION_STATE,
    INVITATIONS,
    SEATS,
    STAGE,
    STAGE_REQUESTS,
    VIEW_SPECS,
    ViewSpec,
)

ROOM_VIEWS = {
    "connected",
    "can_publish",
    "remote_participants",
    "active_speakers",
    "room_state",
    "connection_quality",
    "disconnect_reason",
}
EXPECTED_VIEWS: dict[type[UTDSession], dict[str, str]] = {
    UTDSession: {name: name for name in ROOM_VIEWS},
    UTDLiveStreamSession: {
        **{name: name for name in ROOM_VIEWS},
        "stage": "stage",
        "stage_requests": "stage_requests",
        "stage_invitations": "stage_invitations",
        "stage_status": "stage_status",
    },
    UTDAudioRoomSession: {
        **{name: name for name in ROOM_VIEWS},
        "seats": "seats",
        "speak_requests": "speak_requests",
        "invitations": "invitations",
        "seat_status": "seat_status",
    },
    UTDCallSession: {
        **{name: name for name in ROOM_VIEWS},
        "status": "call_status",
        "call_id": "call_id",
        "call": "call",
    },
}
"""Per session kind: attribute name -> the name of the spec it shows."""


def _busy_state() -> SessionState:
    host = UTDStageMember("h", role="host")
    room = UTDRoomState("live", UTDStreamType.LIVE_STREAM, 1, stage=(host,))
    call = UTDCall("c1", UTDCallStatus.RINGING, UTDStreamType.AUDIO_CALL, version=1)
    state = SessionState()
    for event in (
        ev.Connecting("ws://x"),
        ev.Connected("me", participants=(ev.ParticipantSnapshot("bob"),)),
        ev.RoomStateReceived(room),
        ev.CallUpdated(call),
    ):
        state = reduce(state, event)
    return state


# -- the table ----------------------------------------------------------------------------------


def test_the_table_lists_every_spec_of_the_module_once_parents_first() -> None:
    declared = [value for value in vars(view_specs).values() if isinstance(value, ViewSpec)]
    assert set(declared) == set(VIEW_SPECS) and len(VIEW_SPECS) == len(set(VIEW_SPECS))
    assert len({spec.name for spec in VIEW_SPECS}) == len(VIEW_SPECS)
    for position, spec in enumerate(VIEW_SPECS):
        assert spec.parent is None or spec.parent in VIEW_SPECS[:position], spec
        assert spec.doc.strip(), spec


def test_panel_positions_are_distinct() -> None:
    positions = [spec.panel for spec in VIEW_SPECS if spec.panel is not None]
    assert len(positions) == len(set(positions))


def test_every_spec_is_a_store_view_holding_its_selectors_value() -> None:
    state = _busy_state()
    store = Store(state)
    for spec in VIEW_SPECS:
        view = store.view(spec)
        assert view.name == spec.name
        assert view.value == spec.read(state), spec


def test_the_store_follows_every_spec_through_changes() -> None:
    store = Store()
    for event in (
        ev.Connecting("ws://x"),
        ev.Connected("me", participants=(ev.ParticipantSnapshot("bob"),)),
        ev.RoomStateReceived(UTDRoomState("r", UTDStreamType.AUDIO_ROOM, 2)),
        ev.CallUpdated(UTDCall("c1", UTDCallStatus.ACTIVE, UTDStreamType.AUDIO_CALL, version=2)),
        ev.Disconnected("bye"),
    ):
        store.dispatch(event)
        for spec in VIEW_SPECS:
            assert store.view(spec).value == spec.read(store.state), (spec, event)


def _whole(state: SessionState) -> SessionState:
    return state


def test_a_spec_outside_the_table_is_refused() -> None:
    stray: ViewSpec[SessionState, SessionState] = ViewSpec(
        name="stray", parent=None, select=_whole, doc="not listed"
    )
    with pytest.raises(KeyError, match="stray"):
        Store().view(stray)


def test_selectors_of_an_empty_state() -> None:
    empty = SessionState()
    assert STAGE.read(empty) == () and STAGE_REQUESTS.read(empty) == ()
    assert SEATS.read(empty) is None and INVITATIONS.read(empty) == ()
    assert CALL_STATUS.read(empty) is None and CALL_ID.read(empty) is None


def test_selectors_read_through_their_parents() -> None:
    state = _busy_state()
    assert state.room_state is not None and STAGE.read(state) == state.room_state.stage
    assert STAGE_REQUESTS.read(state) == () and SEATS.read(state) is None
    assert CALL_STATUS.read(state) is UTDCallStatus.RINGING and CALL_ID.read(state) == "c1"


# -- the sessions -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(EXPECTED_VIEWS), ids=lambda kind: kind.__name__)
def test_each_session_kind_shows_the_views_meant_for_it(kind: type[UTDSession]) -> None:
    shown = {name: declared.spec.name for name, declared in session_views(kind).items()}
    assert shown == EXPECTED_VIEWS[kind]
    for name, declared in session_views(kind).items():
        assert getattr(kind, name).__doc__ == declared.spec.doc


def test_every_spec_is_shown_by_a_session_but_the_raw_connection_state() -> None:
    shown = {d.spec for kind in EXPECTED_VIEWS for d in session_views(kind).values()}
    assert set(VIEW_SPECS) - shown == {CONNECTION_STATE}
    assert CONNECTION_STATE.panel is None


async def test_a_session_attribute_is_its_stores_view_and_read_only(api: UTDApiClient) -> None:
    sessions: list[UTDSession] = [
        UTDAudioRoomSession(api, "den", is_host=False),
        UTDLiveStreamSession(api, "show", is_host=False),
        UTDCallSession(api, UTDStreamType.AUDIO_CALL),
    ]
    for session in sessions:
        for name, declared in session_views(type(session)).items():
            assert getattr(session, name) is session.room.store.view(declared.spec)
        with pytest.raises(AttributeError, match="read-only"):
            session.connected = None  # type: ignore[assignment]
        await session.aclose()
