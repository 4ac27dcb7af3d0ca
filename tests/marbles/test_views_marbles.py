"""Marble tests: what a subscriber of each view sees for a timeline of events.

Each test feeds a hot event timeline into a fresh store and subscribes to one view at tick
200: the first expected value is the view's current value at subscription, then one value per
real change. Repeats and stale (older-version) engine reports produce nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import immutables
from reactivex import Observable

from utd_stream_rx.models import (
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
    unstructure,
)
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.reducers import ConnectionState
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import (
    ACTIVE_SPEAKERS,
    CALL,
    CALL_ID,
    CALL_STATUS,
    CAN_PUBLISH,
    CONNECTED,
    CONNECTION_STATE,
    INVITATIONS,
    REMOTE_PARTICIPANTS,
    ROOM_STATE,
    SEATS,
    SPEAK_REQUESTS,
    STAGE,
    STAGE_REQUESTS,
    ViewSpec,
)
from utd_stream_rx.testing.marbles import assert_view_marbles

P = ev.ParticipantSnapshot
CS = ConnectionState
S = UTDCallStatus


def view_timeline(
    spec: ViewSpec[Any, Any],
    events: str,
    lookup: Mapping[str, ev.Event],
    expected: str,
    values: Mapping[str, Any],
) -> None:
    def select(store: Store) -> Observable[Any]:
        return store.view(spec)

    assert_view_marbles(select, events, lookup, expected, values)


def connected(*others: str) -> ev.Connected:
    return ev.Connected("me", participants=tuple(P(o) for o in others))


def grid_state(version: int, *holders: str | None, room: str = "r") -> UTDRoomState:
    seats = tuple(UTDSeat(i, identity=h) for i, h in enumerate(holders))
    grid = UTDSeatGrid(len(holders), UTDSeatMode.REQUEST, seats, version=version)
    return UTDRoomState(room, UTDStreamType.AUDIO_ROOM, version, seats=grid)


def call(status: UTDCallStatus, version: int, call_id: str = "c1") -> UTDCall:
    return UTDCall(call_id, status, UTDStreamType.VIDEO_CALL, version=version)


# -- connection ---------------------------------------------------------------------------------


def test_connected() -> None:
    view_timeline(
        CONNECTED,
        "--c-k-r-q-k-d-d",
        {"c": ev.Connecting(), "k": connected(), "r": ev.Reconnecting(),
         "q": ev.Reconnected(), "d": ev.Disconnected("x")},
        "f---t-f-t---f",  # connecting is not connected; a second Connected repeats "true"
        {"f": False, "t": True},
    )


def test_connection_state() -> None:
    view_timeline(
        CONNECTION_STATE,
        "--c-c-k-r-q-d",
        {"c": ev.Connecting(), "k": connected(), "r": ev.Reconnecting(),
         "q": ev.Reconnected(), "d": ev.Disconnected()},
        "a-b---c-d-c-a",
        {"a": CS.DISCONNECTED, "b": CS.CONNECTING, "c": CS.CONNECTED, "d": CS.RECONNECTING},
    )


def test_can_publish_follows_the_last_local_grant() -> None:
    view_timeline(
        CAN_PUBLISH,
        "--k-g-g-o-r-g-d",
        {"k": connected("bob"),
         "g": ev.PermissionsChanged("me", True, is_local=True),
         "o": ev.PermissionsChanged("bob", True),  # someone else's grant
         "r": ev.PermissionsChanged("me", False, is_local=True),
         "d": ev.Disconnected()},
        "f---t-----f-t-f",
        {"f": False, "t": True},
    )


# -- participants -------------------------------------------------------------------------------


def test_remote_participants() -> None:
    bob, carol = P("bob"), P("carol")
    bob_host = P("bob", attributes={"utd.role": "host"})
    view_timeline(
        REMOTE_PARTICIPANTS,
        "--k-j-j-a-a-l-x",
        {"k": connected("bob"),
         "j": ev.ParticipantJoined(carol),
         "a": ev.ParticipantAttributesChanged("bob", {"utd.role": "host"}),
         "l": ev.ParticipantLeft("carol"),
         "x": ev.ParticipantLeft("nobody")},
        "e-a-b---c---d",
        {"e": immutables.Map(),
         "a": immutables.Map(bob=bob),
         "b": immutables.Map(bob=bob, carol=carol),
         "c": immutables.Map(bob=bob_host, carol=carol),
         "d": immutables.Map(bob=bob_host)},
    )


def test_active_speakers() -> None:
    view_timeline(
        ACTIVE_SPEAKERS,
        "--k-s-s-t-l",
        {"k": connected("bob", "carol"),
         "s": ev.ActiveSpeakersChanged(("bob",)),
         "t": ev.ActiveSpeakersChanged(("carol", "bob")),
         "l": ev.ParticipantLeft("carol")},
        "e---b---c-b",
        {"e": (), "b": ("bob",), "c": ("carol", "bob")},
    )


# -- engine state -------------------------------------------------------------------------------


def test_room_state_ignores_stale_and_equal_reports() -> None:
    v2, v3, v1 = grid_state(2, "bob"), grid_state(3, None), grid_state(1, "eve")
    view_timeline(
        ROOM_STATE,
        "--a-a-b-c-a",
        {"a": ev.RoomStateReceived(v2), "b": ev.RoomStateReceived(v3),
         "c": ev.RoomStateReceived(v1)},
        "n-a---b",
        {"n": None, "a": v2, "b": v3},
    )


def test_seats_from_metadata_and_rest() -> None:
    v5, v6 = grid_state(5, "bob", None), grid_state(6, None, "bob")


    meta = ev.RoomMetadataChanged(json.dumps(unstructure(v5)))
    view_timeline(
        SEATS,
        "--m-r-o-x-s",
        {"m": meta,
         "r": ev.RoomStateReceived(v5),  # the REST answer for the same version: no change
         "o": ev.RoomStateReceived(grid_state(4, "eve", "bob")),  # stale
         "x": ev.RoomMetadataChanged("{not json"),  # invalid: ignored
         "s": ev.RoomStateReceived(v6)},
        "n-a-------b",
        {"n": None, "a": v5.seats, "b": v6.seats},
    )


def test_stage_and_stage_requests() -> None:
    host = UTDStageMember("h", role="host")
    guest = UTDStageMember("g", role="stage")
    req = UTDStageRequest(1, "g")
    a = UTDRoomState("live", UTDStreamType.LIVE_STREAM, 1, stage=(host,))
    b = UTDRoomState("live", UTDStreamType.LIVE_STREAM, 2, stage=(host,), stage_requests=(req,))
    c = UTDRoomState("live", UTDStreamType.LIVE_STREAM, 3, stage=(host, guest))
    events = {"a": ev.RoomStateReceived(a), "b": ev.RoomStateReceived(b),
              "c": ev.RoomStateReceived(c), "o": ev.RoomStateReceived(a)}
    view_timeline(STAGE, "--a-b-c-o", events, "e-h---g",
                  {"e": (), "h": (host,), "g": (host, guest)})
    view_timeline(STAGE_REQUESTS, "--a-b-c-o", events, "e---r-e",
                  {"e": (), "r": (req,)})


def test_speak_requests_and_invitations() -> None:
    req = UTDSpeakRequest(7, "bob", 2)
    inv = UTDSeatInvitation("carol", 1, "h")
    a = UTDRoomState("r", UTDStreamType.AUDIO_ROOM, 1, speak_requests=(req,))
    b = UTDRoomState("r", UTDStreamType.AUDIO_ROOM, 2, speak_requests=(req,), invitations=(inv,))
    c = UTDRoomState("r", UTDStreamType.AUDIO_ROOM, 3)
    events = {"a": ev.RoomStateReceived(a), "b": ev.RoomStateReceived(b),
              "c": ev.RoomStateReceived(c), "o": ev.RoomStateReceived(b)}
    view_timeline(SPEAK_REQUESTS, "--a-b-c-o", events, "e-r---e",
                  {"e": (), "r": (req,)})
    view_timeline(INVITATIONS, "--a-b-c-o", events, "e---i-e",
                  {"e": (), "i": (inv,)})


# -- calls --------------------------------------------------------------------------------------


def test_call_status_ignores_stale_and_never_leaves_a_terminal_status() -> None:
    events = {
        "i": ev.CallUpdated(call(S.INITIATING, 1)),
        "r": ev.CallUpdated(call(S.RINGING, 2)),
        "a": ev.CallUpdated(call(S.ACTIVE, 3)),
        "o": ev.CallUpdated(call(S.RINGING, 2)),  # stale
        "e": ev.CallUpdated(call(S.ENDED, 4)),
        "z": ev.CallUpdated(call(S.ACTIVE, 5)),  # after the end: refused
    }
    view_timeline(CALL_STATUS, "--i-r-r-a-o-e-z", events, "n-i-r---a---e",
                  {"n": None, "i": S.INITIATING, "r": S.RINGING, "a": S.ACTIVE, "e": S.ENDED})


def test_call_and_call_id() -> None:
    c1, c2 = call(S.RINGING, 1), call(S.ACTIVE, 2)
    events = {"a": ev.CallUpdated(c1), "b": ev.CallUpdated(c2), "o": ev.CallUpdated(c1),
              "x": ev.CallUpdated(call(S.RINGING, 9, "other")),  # another call while live
              "s": ev.CallStartRequested("bob")}
    view_timeline(CALL, "--a-b-o-x-s", events, "n-a-b",
                  {"n": None, "a": c1, "b": c2})
    view_timeline(CALL_ID, "--a-b-o-x-s", events, "n-c",
                  {"n": None, "c": "c1"})


def test_data_stream_passes_data_only() -> None:
    hello = ev.DataReceived(b"hi", "bob", "chat")
    server = ev.DataReceived(b"{}", None, "utd.seat.request")
    assert_view_marbles(
        lambda s: s.data,
        "--h-j-s-h",
        {"h": hello, "j": ev.ParticipantJoined(P("bob")), "s": server},
        "--h---s-h",
        {"h": hello, "s": server},
    )
