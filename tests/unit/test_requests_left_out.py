"""Room snapshots that leave the pending requests out: the lists held stay until a snapshot
lists them again, and the session knows when they are outdated."""

from __future__ import annotations

import time

from utd_stream_rx.models import UTDRoomState, UTDSpeakRequest, UTDStreamType
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.reducers import SessionState, reduce, select_requests_outdated


def requests(*identities: str) -> tuple[UTDSpeakRequest, ...]:
    return tuple(
        UTDSpeakRequest(n, identity, None, None, time.time())
        for n, identity in enumerate(identities, 1)
    )


def snapshot(
    version: int,
    requests_version: int,
    listed: tuple[UTDSpeakRequest, ...] = (),
    *,
    omitted: bool = False,
) -> UTDRoomState:
    return UTDRoomState(
        "room",
        UTDStreamType.AUDIO_ROOM,
        version,
        host_identity="host",
        speak_requests=listed,
        requests_version=requests_version,
        requests_omitted=omitted,
    )


def received(state: SessionState, room: UTDRoomState) -> SessionState:
    return reduce(state, ev.RoomStateReceived(room))


def test_a_snapshot_that_leaves_requests_out_keeps_the_lists_held() -> None:
    state = received(SessionState(), snapshot(3, 3, requests("ann", "bob")))
    assert not select_requests_outdated(state)

    # A seat change in a busy room: the requests did not move, the lists stay.
    state = received(state, snapshot(4, 3, omitted=True))
    assert state.room_state is not None and state.room_state.version == 4
    assert [r.identity for r in state.room_state.speak_requests] == ["ann", "bob"]
    assert not select_requests_outdated(state)


def test_requests_that_moved_while_left_out_are_outdated_until_listed_again() -> None:
    state = received(SessionState(), snapshot(3, 3, requests("ann")))
    state = received(state, snapshot(5, 5, omitted=True))
    assert select_requests_outdated(state)
    assert state.room_state is not None
    assert [r.identity for r in state.room_state.speak_requests] == ["ann"]

    # The full snapshot of the same version (a GET) brings the lists up to date.
    state = received(state, snapshot(5, 5, requests("ann", "cid")))
    assert not select_requests_outdated(state)
    assert state.room_state is not None
    assert [r.identity for r in state.room_state.speak_requests] == ["ann", "cid"]

    # The metadata of that version arriving after the GET changes nothing that matters.
    state = received(state, snapshot(5, 5, omitted=True))
    assert state.room_state is not None
    assert [r.identity for r in state.room_state.speak_requests] == ["ann", "cid"]
    assert not select_requests_outdated(state)


def test_a_late_full_snapshot_does_not_undo_a_newer_one() -> None:
    state = received(SessionState(), snapshot(6, 6, omitted=True))
    assert select_requests_outdated(state)  # a host joining a busy room has none listed yet
    state = received(state, snapshot(5, 5, requests("old")))  # stale: ignored
    assert select_requests_outdated(state)
    state = received(state, snapshot(6, 6, requests("ann")))
    assert not select_requests_outdated(state)


def test_another_room_starts_from_nothing() -> None:
    state = received(SessionState(), snapshot(9, 9, requests("ann")))
    other = UTDRoomState(
        "other", UTDStreamType.AUDIO_ROOM, 2, requests_version=2, requests_omitted=True
    )
    state = received(state, other)
    assert state.room_state is not None and state.room_state.speak_requests == ()
    assert select_requests_outdated(state)
