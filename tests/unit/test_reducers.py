"""The pure reducer: every event's effect, versioning, totality, and every event accounted for."""

from __future__ import annotations

import json

import immutables
import pytest

from utd_stream_rx.errors import UTDStreamException
from utd_stream_rx.models import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDSeat,
    UTDSeatGrid,
    UTDSeatInvitation,
    UTDSeatMode,
    UTDSpeakRequest,
    UTDStageRequest,
    UTDStreamType,
    unstructure,
)
from utd_stream_rx.state import events as ev
from utd_stream_rx.state import notices
from utd_stream_rx.state.reducers import (
    INFORMATIONAL_EVENTS,
    ConnectionState,
    SessionState,
    handled_events,
    reduce,
)
from utd_stream_rx.state.view_specs import (
    CALL_ID,
    CALL_STATUS,
    CONNECTED,
    SEATS,
)

P = ev.ParticipantSnapshot


def run(*events: ev.Event, state: SessionState | None = None) -> SessionState:
    current = state if state is not None else SessionState()
    for event in events:
        current = reduce(current, event)
    return current


def connected(*others: str, can_publish: bool = False, metadata: str = "") -> SessionState:
    return run(
        ev.Connecting("ws://x"),
        ev.Connected(
            "me",
            ev.PermissionSnapshot(can_publish=can_publish),
            tuple(P(i) for i in others),
            metadata,
        ),
    )


def room(version: int, *holders: str | None, name: str = "r") -> UTDRoomState:
    seats = tuple(UTDSeat(i, identity=h) for i, h in enumerate(holders))
    grid = UTDSeatGrid(len(holders), UTDSeatMode.FREE, seats, version=version)
    return UTDRoomState(name, UTDStreamType.AUDIO_ROOM, version, seats=grid)


def call(status: UTDCallStatus, version: int, call_id: str = "c1", **kw: object) -> UTDCall:
    return UTDCall(call_id, status, UTDStreamType.AUDIO_CALL, version=version, **kw)  # type: ignore[arg-type]


# -- connection ---------------------------------------------------------------------------------


def test_connect_takes_the_snapshots() -> None:
    meta = json.dumps(unstructure(room(3, "bob", None)))
    state = connected("bob", "me", can_publish=True, metadata=meta)
    assert state.connection_state is ConnectionState.CONNECTED
    assert state.local_identity == "me"
    assert state.can_publish is True
    assert list(state.remote_participants) == ["bob"]  # never lists itself
    grid = SEATS.read(state)
    assert grid is not None and grid.holders == ("bob",)


def test_connecting_then_failure_ends_disconnected() -> None:
    state = run(ev.Connecting(), ev.Disconnected("connect_failed"))
    assert state.connection_state is ConnectionState.DISCONNECTED
    assert state.disconnect_reason == "connect_failed"


def test_disconnect_clears_the_room_but_keeps_engine_state() -> None:
    state = run(
        ev.RoomStateReceived(room(2, "bob")),
        ev.CallUpdated(call(UTDCallStatus.ENDED, 4)),
        ev.ActiveSpeakersChanged(("bob",)),
        ev.Disconnected("client_initiated"),
        state=connected("bob", can_publish=True),
    )
    assert state.connection_state is ConnectionState.DISCONNECTED
    assert dict(state.remote_participants) == {}
    assert state.active_speakers == ()
    assert state.can_publish is False
    assert state.room_state is not None and CALL_STATUS.read(state) is UTDCallStatus.ENDED


def test_reconnect_reconciles_the_roster() -> None:
    state = run(
        ev.ActiveSpeakersChanged(("carol", "bob")),
        ev.ConnectionQualityChanged("carol", "good"),
        ev.Reconnecting(),
        state=connected("bob", "carol"),
    )
    assert state.connection_state is ConnectionState.RECONNECTING
    state = reduce(state, ev.Reconnected((P("bob"), P("dave"))))
    assert state.connection_state is ConnectionState.CONNECTED
    assert sorted(state.remote_participants) == ["bob", "dave"]  # carol left during the outage
    assert state.active_speakers == ("bob",)
    assert "carol" not in state.connection_quality


def test_late_resume_does_not_revive_a_closed_session() -> None:
    state = run(ev.Disconnected("x"), ev.Reconnecting(), ev.Reconnected((P("bob"),)),
                state=connected("bob"))
    assert state.connection_state is ConnectionState.DISCONNECTED
    assert dict(state.remote_participants) == {}


# -- participants -------------------------------------------------------------------------------


def test_join_and_leave() -> None:
    state = run(ev.ParticipantJoined(P("bob", name="Bob")), state=connected())
    assert state.remote_participants["bob"].name == "Bob"
    again = reduce(state, ev.ParticipantJoined(P("bob", name="Bob")))
    assert again is state  # a duplicate changes nothing, not even identity
    gone = run(ev.ActiveSpeakersChanged(("bob",)), ev.ParticipantLeft("bob"), state=state)
    assert "bob" not in gone.remote_participants and gone.active_speakers == ()


def test_partial_events_never_invent_participants() -> None:
    state = connected()
    after = run(
        ev.ParticipantAttributesChanged("ghost", {"utd.role": "host"}),
        ev.TrackPublished("ghost", ev.TrackSnapshot("T1", "audio")),
        ev.PermissionsChanged("ghost", True),
        ev.ParticipantLeft("ghost"),
        state=state,
    )
    assert after is state


def test_attributes_metadata_and_name() -> None:
    state = run(
        ev.ParticipantAttributesChanged("bob", {"utd.role": "speaker", "utd.seat": "2"}),
        ev.ParticipantMetadataChanged("bob", "m"),
        ev.ParticipantNameChanged("bob", "Robert"),
        ev.ParticipantAttributesChanged("me", {"utd.role": "audience"}, is_local=True),
        state=connected("bob"),
    )
    bob = state.remote_participants["bob"]
    assert dict(bob.attributes) == {"utd.role": "speaker", "utd.seat": "2"}
    assert (bob.metadata, bob.name) == ("m", "Robert")
    assert isinstance(bob.attributes, immutables.Map)
    assert state.local_participant is not None
    assert state.local_participant.attributes["utd.role"] == "audience"


def test_permissions_local_and_remote() -> None:
    state = run(
        ev.PermissionsChanged("me", ev.PermissionSnapshot(True, ("microphone",)), is_local=True),
        ev.PermissionsChanged("bob", True),
        state=connected("bob"),
    )
    assert state.can_publish is True
    assert state.permissions.allows("microphone") and not state.permissions.allows("camera")
    assert state.remote_participants["bob"].can_publish is True
    state = reduce(state, ev.PermissionsChanged("me", False))  # by identity, without the flag
    assert state.can_publish is False


# -- tracks -------------------------------------------------------------------------------------


def test_remote_track_lifecycle() -> None:
    audio = ev.TrackSnapshot("TR1", "audio", "microphone")
    state = run(
        ev.TrackPublished("bob", audio),
        ev.TrackSubscribed("bob", audio),
        ev.TrackMuted("bob", "TR1"),
        state=connected("bob"),
    )
    (track,) = state.remote_participants["bob"].tracks
    assert track.subscribed and track.muted and track.source == "microphone"
    # A late "published" must not undo the subscription.
    state = run(ev.TrackPublished("bob", audio), ev.TrackUnmuted("bob", "TR1"), state=state)
    (track,) = state.remote_participants["bob"].tracks
    assert track.subscribed and not track.muted
    state = run(ev.TrackUnsubscribed("bob", "TR1"), state=state)
    assert not state.remote_participants["bob"].tracks[0].subscribed
    state = run(ev.TrackSubscriptionFailed("bob", "TR1", "boom"), ev.TrackUnpublished("bob", "TR1"),
                state=state)
    assert state.remote_participants["bob"].tracks == ()


def test_local_tracks() -> None:
    mic = ev.TrackSnapshot("TL1", "audio", "microphone")
    state = run(ev.LocalTrackPublished(mic), ev.TrackMuted("me", "TL1", is_local=True),
                state=connected())
    assert state.local_participant is not None
    assert state.local_participant.tracks == (ev.TrackSnapshot("TL1", "audio", "microphone", True),)
    state = reduce(state, ev.LocalTrackUnpublished("TL1"))
    assert state.local_participant is not None and state.local_participant.tracks == ()


# -- room state and versions -------------------------------------------------------------------


def test_metadata_and_rest_merge_by_version() -> None:
    state = run(
        ev.RoomMetadataChanged(json.dumps(unstructure(room(5, "bob")))),
        ev.RoomStateReceived(room(4, "carol")),  # a slow REST answer: stale
        state=connected(),
    )
    assert state.room_state is not None and state.room_state.version == 5
    grid = SEATS.read(state)
    assert grid is not None and grid.holders == ("bob",)
    state = reduce(state, ev.RoomStateReceived(room(6, None)))
    grid = SEATS.read(state)
    assert grid is not None and grid.holders == ()


def test_equal_room_state_keeps_the_state() -> None:
    state = run(ev.RoomStateReceived(room(2, "bob")), state=connected())
    assert reduce(state, ev.RoomStateReceived(room(2, "bob"))) is state


def test_invalid_metadata_is_ignored() -> None:
    state = run(ev.RoomStateReceived(room(2, "bob")), state=connected())
    for bad in ("", "not json", "[]", json.dumps({"room_name": "r"}), json.dumps({"version": 9})):
        assert reduce(state, ev.RoomMetadataChanged(bad)) is state


def test_another_room_replaces_whatever_its_version() -> None:
    state = run(ev.RoomStateReceived(room(9, "bob", name="a")),
                ev.RoomStateReceived(room(1, "eve", name="b")))
    assert state.room_state is not None and state.room_state.room_name == "b"


# -- calls --------------------------------------------------------------------------------------


def test_call_versions_and_terminal_status() -> None:
    state = run(
        ev.CallStartRequested("bob"),
        ev.CallUpdated(call(UTDCallStatus.INITIATING, 1, token="tok", url="ws://lk")),
        ev.CallUpdated(call(UTDCallStatus.ACTIVE, 3)),
        ev.CallUpdated(call(UTDCallStatus.RINGING, 2)),  # stale
    )
    assert CALL_STATUS.read(state) is UTDCallStatus.ACTIVE and CALL_ID.read(state) == "c1"
    assert state.call is not None and state.call.token == "tok"  # kept from the REST answer
    state = run(
        ev.CallUpdated(call(UTDCallStatus.ENDED, 4)),
        ev.CallUpdated(call(UTDCallStatus.ACTIVE, 9)),  # never back from a terminal status
        state=state,
    )
    assert CALL_STATUS.read(state) is UTDCallStatus.ENDED


def test_news_of_another_call_does_not_replace_a_live_one() -> None:
    state = run(ev.CallUpdated(call(UTDCallStatus.ACTIVE, 2)),
                ev.CallUpdated(call(UTDCallStatus.RINGING, 7, call_id="other")))
    assert CALL_ID.read(state) == "c1"
    state = run(
        ev.CallAcceptRequested("other"),
        ev.CallUpdated(call(UTDCallStatus.ACTIVE, 8, "other")),
        state=state,
    )
    assert CALL_ID.read(state) == "other" and state.pending_call_id is None


def test_a_new_call_starts_afresh_after_a_finished_one() -> None:
    state = run(ev.CallUpdated(call(UTDCallStatus.REJECTED, 2)), ev.CallStartRequested("bob"))
    assert state.call is None and CALL_STATUS.read(state) is None


def test_call_from_room_metadata_and_engine_data_message() -> None:
    rs = UTDRoomState("call-c1", UTDStreamType.AUDIO_CALL, 3,
                      call=call(UTDCallStatus.RINGING, 3))
    state = run(ev.RoomMetadataChanged(json.dumps(unstructure(rs))), state=connected())
    assert CALL_STATUS.read(state) is UTDCallStatus.RINGING
    body = json.dumps({"call": unstructure(call(UTDCallStatus.ACTIVE, 4)), "version": 4})
    spoofed = reduce(state, ev.DataReceived(body.encode(), "bob", "utd.call"))
    assert spoofed is state  # a participant cannot report a call
    state = reduce(state, ev.DataReceived(body.encode(), None, "utd.call"))
    assert CALL_STATUS.read(state) is UTDCallStatus.ACTIVE
    assert reduce(state, ev.DataReceived(b"{oops", None, "utd.call")) is state


# -- intents, failures, totality ---------------------------------------------------------------


def test_command_failed_records_the_error_only() -> None:
    state = run(ev.RoomStateReceived(room(2, "bob")), state=connected("bob", can_publish=True))
    error = UTDStreamException("taken", 409, "seat_taken")
    after = run(ev.CommandFailed("take_seat", error), ev.LeaveRequested(),
                ev.TokenMinted("r"), state=state)
    assert after.last_error is error
    assert after.room_state == state.room_state and after.can_publish and CONNECTED.read(after)


def test_reduce_is_total(caplog: pytest.LogCaptureFixture) -> None:
    class Custom(ev.Event):
        pass

    state = connected("bob")
    assert reduce(state, Custom()) is state
    broken = ev.RoomStateReceived.__new__(ev.RoomStateReceived)  # no ``state`` at all
    assert reduce(state, broken) is state
    assert "reducer failed" in caplog.text


def test_subclassed_events_use_their_base_handler() -> None:
    class MyJoin(ev.ParticipantJoined):
        pass

    state = reduce(connected(), MyJoin(P("zed")))
    assert "zed" in state.remote_participants


# -- every event is handled or declared informational ------------------------------------------


def _event_types(base: type[ev.Event] = ev.Event) -> set[type[ev.Event]]:
    """Every subclass of ``base`` declared in the events and notices modules (not those of
    tests)."""
    found: set[type[ev.Event]] = set()
    for kind in base.__subclasses__():
        if kind.__module__ in (ev.__name__, notices.__name__):
            found.add(kind)
        found |= _event_types(kind)
    return found


def test_every_event_has_a_handler_or_is_declared_informational() -> None:
    unaccounted = _event_types() - handled_events() - INFORMATIONAL_EVENTS.keys()
    assert not unaccounted, (
        f"no reducer handler for {sorted(k.__name__ for k in unaccounted)}: handle them in "
        "reducers.py or list them in INFORMATIONAL_EVENTS with the reason"
    )


def test_informational_events_are_events_without_a_handler_and_say_why() -> None:
    assert INFORMATIONAL_EVENTS.keys() <= _event_types()
    assert not INFORMATIONAL_EVENTS.keys() & handled_events()
    assert all(reason.strip() for reason in INFORMATIONAL_EVENTS.values())


_NOTICE_SAMPLES: dict[type[ev.Event], ev.Event] = {
    notices.EngineNotice: notices.EngineNotice(),
    notices.StageRequestReceived: notices.StageRequestReceived(UTDStageRequest(1, "bob"), 2),
    notices.StageInvitationReceived: notices.StageInvitationReceived("bob", "h"),
    notices.StageInvitationAccepted: notices.StageInvitationAccepted("bob"),
    notices.StageInvitationDeclined: notices.StageInvitationDeclined("bob"),
    notices.StageRequestDenied: notices.StageRequestDenied("bob", "not now"),
    notices.StageRequestExpired: notices.StageRequestExpired("bob"),
    notices.SpeakRequestReceived: notices.SpeakRequestReceived(UTDSpeakRequest(1, "bob")),
    notices.SeatInvitationReceived: notices.SeatInvitationReceived(UTDSeatInvitation("bob")),
    notices.SeatInvitationAccepted: notices.SeatInvitationAccepted("bob", 1),
    notices.SeatInvitationDeclined: notices.SeatInvitationDeclined("bob"),
    notices.SpeakRequestDenied: notices.SpeakRequestDenied(1, "bob"),
    notices.SpeakRequestExpired: notices.SpeakRequestExpired(1, "bob"),
    notices.ParticipantRemoved: notices.ParticipantRemoved("bob"),
    notices.ParticipantBanned: notices.ParticipantBanned("bob"),
    notices.RoomEnded: notices.RoomEnded("bye"),
}


def test_informational_events_leave_the_state_as_it_is() -> None:
    state = connected("bob", can_publish=True)
    samples = {
        ev.TrackSubscriptionFailed: ev.TrackSubscriptionFailed("bob", "T1", "boom"),
        ev.TokenMinted: ev.TokenMinted("r"),
        ev.LeaveRequested: ev.LeaveRequested(),
        **_NOTICE_SAMPLES,
    }
    assert samples.keys() == INFORMATIONAL_EVENTS.keys()
    for event in samples.values():
        assert reduce(state, event) is state
