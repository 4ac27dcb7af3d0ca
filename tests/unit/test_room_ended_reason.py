"""The reason a session gives when its host ended the room, whatever LiveKit's order (the
notice alone proves nothing: see ``test_notices``)."""

from __future__ import annotations

from utd_stream_rx.models import UTDRoomState, UTDStreamType
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.reducers import ENDED_REASON, SessionState, reduce


def run(*events: ev.Event) -> SessionState:
    state = SessionState()
    for event in events:
        state = reduce(state, event)
    return state


JOINED = (ev.Connecting("ws://x"), ev.Connected("me", ev.PermissionSnapshot()))
LIVE = UTDRoomState("r", UTDStreamType.LIVE_STREAM, 3)
ENDED = UTDRoomState("r", UTDStreamType.LIVE_STREAM, 4, ended=True)


def test_an_ended_room_state_before_the_disconnection_names_the_end() -> None:
    state = run(*JOINED, ev.RoomStateReceived(ENDED), ev.Disconnected("room_deleted"))
    assert state.disconnect_reason == ENDED_REASON
    assert state.room_state is not None and state.room_state.ended


def test_the_hosts_answer_after_the_disconnection_names_the_end() -> None:
    state = run(*JOINED, ev.Disconnected("room_deleted"), ev.RoomStateReceived(ENDED))
    assert state.disconnect_reason == ENDED_REASON


def test_other_disconnections_keep_their_reason() -> None:
    removed = run(*JOINED, ev.Disconnected("participant_removed"), ev.RoomStateReceived(ENDED))
    assert removed.disconnect_reason == "participant_removed"
    deleted = run(*JOINED, ev.RoomStateReceived(LIVE), ev.Disconnected("room_deleted"))
    assert deleted.disconnect_reason == "room_deleted"


def test_joining_again_forgets_the_end() -> None:
    ended = ev.RoomStateReceived(ENDED)
    state = run(*JOINED, ended, ev.Disconnected("room_deleted"), *JOINED)
    assert state.disconnect_reason is None and not state.room_ended
