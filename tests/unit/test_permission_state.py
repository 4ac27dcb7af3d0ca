"""Permissions travel as snapshots, and the local publish bit is kept in one place:
``SessionState.permissions`` (``can_publish`` and the local snapshot follow it)."""

from __future__ import annotations

import attrs

from utd_stream_rx.state import events as ev
from utd_stream_rx.state.events import ParticipantSnapshot, PermissionSnapshot
from utd_stream_rx.state.reducers import SessionState, reduce

MICROPHONE = PermissionSnapshot(True, ("microphone",), True, True)
LISTENER = PermissionSnapshot()


def run(*events: ev.Event, state: SessionState | None = None) -> SessionState:
    state = state if state is not None else SessionState()
    for event in events:
        state = reduce(state, event)
    return state


def connected(permission: PermissionSnapshot = LISTENER) -> SessionState:
    return run(ev.Connecting(), ev.Connected("me", permission, (ParticipantSnapshot("bob"),)))


def test_the_publish_bit_is_no_field_of_its_own() -> None:
    fields = {f.name for f in attrs.fields(SessionState)}
    assert "can_publish" not in fields and "permissions" in fields
    assert "can_publish" not in {f.name for f in attrs.fields(ParticipantSnapshot)}


def test_connect_puts_the_permission_on_the_state_and_the_local_snapshot() -> None:
    state = connected(MICROPHONE)
    assert state.permissions == MICROPHONE and state.can_publish
    assert state.local_participant is not None
    assert state.local_participant.permissions == MICROPHONE
    assert state.local_participant.can_publish


def test_a_local_grant_and_revoke_move_everything_together() -> None:
    state = run(ev.PermissionsChanged("me", MICROPHONE, is_local=True), state=connected())
    assert state.can_publish and state.permissions.allows("microphone")
    assert state.local_participant is not None and state.local_participant.permissions == MICROPHONE
    assert reduce(state, ev.PermissionsChanged("me", MICROPHONE, is_local=True)) is state

    state = reduce(state, ev.PermissionsChanged("me", False))  # by identity, bool shorthand
    assert state.permissions == LISTENER and not state.can_publish
    assert state.local_participant is not None and not state.local_participant.can_publish


def test_a_remote_snapshot_keeps_the_whole_permission() -> None:
    state = run(ev.PermissionsChanged("bob", MICROPHONE), state=connected())
    assert state.remote_participants["bob"].permissions == MICROPHONE
    assert not state.can_publish  # someone else's grant
    camera = attrs.evolve(MICROPHONE, can_publish_sources=("camera",))
    state = reduce(state, ev.PermissionsChanged("bob", camera))
    assert state.remote_participants["bob"].permissions.allows("camera")


def test_a_resume_brings_the_permission_to_the_local_snapshot() -> None:
    state = run(
        ev.Reconnecting(), ev.Reconnected((ParticipantSnapshot("bob"),), None, MICROPHONE),
        state=connected(),
    )
    assert state.can_publish and state.permissions == MICROPHONE
    assert state.local_participant is not None and state.local_participant.permissions == MICROPHONE


def test_disconnect_takes_the_permission_away() -> None:
    state = reduce(connected(MICROPHONE), ev.Disconnected("room_deleted"))
    assert state.permissions == LISTENER and not state.can_publish


def test_a_bool_is_shorthand_for_a_publish_permission() -> None:
    assert ev.PermissionsChanged("me", True).permissions == PermissionSnapshot(can_publish=True)
    assert ParticipantSnapshot("bob", permissions=True).can_publish
