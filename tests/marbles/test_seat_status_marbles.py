"""Marble test of ``seat_status``: a listener's place through a whole seat flow of room
states (request, a busy room's snapshot, cancel, invitation, seat, kick, expiry), stale
reports and other participants' changes producing nothing."""

from __future__ import annotations

from reactivex import Observable

from utd_stream_rx.models import (
    UTDRoomState,
    UTDSeat,
    UTDSeatGrid,
    UTDSeatInvitation,
    UTDSeatMode,
    UTDSeatPlace,
    UTDSeatStatus,
    UTDSpeakRequest,
    UTDStreamType,
)
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import SEAT_STATUS
from utd_stream_rx.testing.marbles import assert_view_marbles

LISTENER = UTDSeatStatus()


def _room(
    version: int,
    *,
    holder: str | None = None,
    requests: tuple[UTDSpeakRequest, ...] = (),
    invitations: tuple[UTDSeatInvitation, ...] = (),
    requests_version: int = 0,
    omitted: bool = False,
) -> UTDRoomState:
    seats = (UTDSeat(0), UTDSeat(1, identity=holder), UTDSeat(2))
    grid = UTDSeatGrid(3, UTDSeatMode.REQUEST, seats, version=version)
    return UTDRoomState(
        "talk",
        UTDStreamType.AUDIO_ROOM,
        version,
        host_identity="host",
        seats=grid,
        speak_requests=requests,
        invitations=invitations,
        requests_version=requests_version,
        requests_omitted=omitted,
    )


def _seat_status(store: Store) -> Observable[UTDSeatStatus]:
    return store.view(SEAT_STATUS)


def test_seat_status_follows_a_listener_through_the_seat_flow() -> None:
    mine = UTDSpeakRequest(4, "me", 2)
    theirs = UTDSpeakRequest(5, "bob")
    events = {
        "k": ev.Connected("me"),
        "a": ev.RoomStateReceived(_room(1)),
        "r": ev.RoomStateReceived(_room(2, requests=(mine,), requests_version=2)),
        # A busy room's snapshot leaves the requests out: the request held stays.
        "o": ev.RoomStateReceived(_room(3, requests_version=2, omitted=True)),
        # Someone else's request: no change of this participant's place.
        "b": ev.RoomStateReceived(_room(4, requests=(mine, theirs), requests_version=4)),
        "c": ev.RoomStateReceived(_room(5, requests=(theirs,), requests_version=5)),  # cancel
        "i": ev.RoomStateReceived(
            _room(6, invitations=(UTDSeatInvitation("me", 1, "host"),), requests_version=5)
        ),
        "x": ev.RoomStateReceived(_room(2, requests=(mine,), requests_version=2)),  # stale
        "s": ev.RoomStateReceived(_room(7, holder="me", requests_version=5)),  # accepted
        "f": ev.RoomStateReceived(_room(8, requests_version=5)),  # kicked
        "q": ev.RoomStateReceived(_room(9, requests=(UTDSpeakRequest(6, "me"),),
                                        requests_version=9)),
        "e": ev.RoomStateReceived(_room(10, requests_version=10)),  # expired
    }
    assert_view_marbles(
        _seat_status,
        "-k-a-r-o-b-c-i-x-s-f-q-e",
        events,
        "l----r-----l-i---s-l-a-l",
        {
            "l": LISTENER,
            "r": UTDSeatStatus(UTDSeatPlace.REQUESTED, 2),
            "i": UTDSeatStatus(UTDSeatPlace.INVITED, 1),
            "s": UTDSeatStatus(UTDSeatPlace.SEATED, 1),
            "a": UTDSeatStatus(UTDSeatPlace.REQUESTED, None),
        },
    )


def test_seat_status_is_listener_before_the_identity_is_known() -> None:
    mine = UTDSpeakRequest(1, "me", 0)
    assert_view_marbles(
        _seat_status,
        "-r-k",
        {"r": ev.RoomStateReceived(_room(2, requests=(mine,), requests_version=2)),
         "k": ev.Connected("me")},
        "l--r",
        {"l": LISTENER, "r": UTDSeatStatus(UTDSeatPlace.REQUESTED, 0)},
    )
