"""The engine's word that LiveKit already holds a new grant (``grant_applied`` in a command's
answer) lets the session publish before LiveKit's own permission event, and nothing else:
``can_publish`` still follows LiveKit, the room state kept is the metadata's, and the word is
dropped as soon as anything newer is known."""

from __future__ import annotations

import attrs

from utd_stream_rx.models import UTDRoomState, UTDSeat, UTDSeatGrid, UTDSeatMode, UTDStreamType
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.events import ParticipantSnapshot, PermissionSnapshot
from utd_stream_rx.state.reducers import SessionState, reduce

MICROPHONE = PermissionSnapshot(True, ("microphone",), True, True)


def run(*events: ev.Event, state: SessionState | None = None) -> SessionState:
    state = state if state is not None else SessionState()
    for event in events:
        state = reduce(state, event)
    return state


def connected() -> SessionState:
    return run(
        ev.Connecting(), ev.Connected("me", PermissionSnapshot(), (ParticipantSnapshot("bob"),))
    )


def room(
    version: int, *, applied: bool = False, kind: UTDStreamType = UTDStreamType.AUDIO_ROOM
) -> UTDRoomState:
    seats = (
        UTDSeatGrid(1, UTDSeatMode.FREE, (UTDSeat(index=0, identity="me"),))
        if kind is UTDStreamType.AUDIO_ROOM
        else None
    )
    return UTDRoomState("hall", kind, version, seats=seats, grant_applied=applied)


def answered(version: int = 5, kind: UTDStreamType = UTDStreamType.AUDIO_ROOM) -> SessionState:
    return run(ev.RoomStateReceived(room(version, applied=True, kind=kind)), state=connected())


def test_the_answer_lets_the_microphone_publish_while_can_publish_waits_for_livekit() -> None:
    state = answered()
    assert not state.can_publish and not state.permissions.can_publish
    assert state.publish_permission.allows("microphone")
    assert not state.publish_permission.allows("camera")  # a seat speaks, it does not show
    # The room state kept is the same whichever way it came.
    assert state.room_state == room(5)
    assert run(ev.RoomStateReceived(room(5)), state=state).room_state == room(5)


def test_a_video_room_answer_allows_camera_and_microphone() -> None:
    state = answered(kind=UTDStreamType.LIVE_STREAM)
    assert state.publish_permission.allows("camera")
    assert state.publish_permission.allows("microphone")


def test_livekit_s_own_permission_event_replaces_the_answer_s_word() -> None:
    granted = run(ev.PermissionsChanged("me", MICROPHONE, is_local=True), state=answered())
    assert granted.applied_grant is None and granted.can_publish
    assert granted.publish_permission == MICROPHONE
    # A revoke that comes after the answer (the seat taken back) ends the early grant too.
    revoked = run(ev.PermissionsChanged("me", False, is_local=True), state=answered())
    assert revoked.applied_grant is None
    assert not revoked.publish_permission.allows("microphone")


def test_a_remote_permission_event_leaves_the_answer_s_word() -> None:
    state = run(ev.PermissionsChanged("bob", MICROPHONE, is_local=False), state=answered())
    assert state.publish_permission.allows("microphone")


def test_a_newer_room_state_ends_the_early_grant_and_an_older_one_does_not() -> None:
    state = answered(version=5)
    assert run(ev.RoomStateReceived(room(4)), state=state).applied_grant is not None
    assert run(ev.RoomStateReceived(room(5)), state=state).applied_grant is not None
    assert run(ev.RoomStateReceived(room(6)), state=state).applied_grant is None


def test_an_answer_older_than_the_grant_held_does_not_bring_it_back() -> None:
    state = run(ev.RoomStateReceived(room(7)), state=answered(version=5))
    assert state.applied_grant is None
    late = run(ev.RoomStateReceived(room(6, applied=True)), state=state)
    assert late.applied_grant is None and late.room_state == room(7)


def test_the_early_grant_ends_with_the_connection_and_is_never_taken_while_closed() -> None:
    state = run(ev.Disconnected("client_initiated"), state=answered())
    assert state.applied_grant is None and not state.publish_permission.can_publish
    closed = run(ev.RoomStateReceived(room(9, applied=True)), state=state)
    assert closed.applied_grant is None
    again = run(ev.Connecting(), ev.Connected("me", PermissionSnapshot(), ()), state=answered())
    assert again.applied_grant is None


def test_the_early_grant_is_no_view() -> None:
    # Views are read from fields a test names; the early grant is the publisher's alone.
    fields = {f.name for f in attrs.fields(SessionState)}
    assert {"applied_grant", "applied_grant_version"} <= fields
