"""The engine's notifications: decoded from the engine's data messages only, checked, typed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from utd_stream_rx import UTDRoom
from utd_stream_rx.models import (
    UTDRoomState,
    UTDSeatInvitation,
    UTDSpeakRequest,
    UTDStageRequest,
    UTDStreamType,
)
from utd_stream_rx.state import events as ev
from utd_stream_rx.state import notices
from utd_stream_rx.state.notices import NOTICE_TOPICS, decode_notice
from utd_stream_rx.state.reducers import ENDED_REASON, SessionState, reduce

# One body per topic, as the engine sends it (``version`` added by the engine to every one).
BODIES: dict[str, tuple[dict[str, Any], notices.EngineNotice]] = {
    "utd.stage.request": (
        {"request": {"request_id": 3, "identity": "vic", "name": "Vic", "created_at": 1.5}},
        notices.StageRequestReceived(UTDStageRequest(3, "vic", "Vic", 1.5), 7),
    ),
    "utd.stage.invite": (
        {"identity": "vic", "invited_by": "hal", "direct": False},
        notices.StageInvitationReceived("vic", "hal", False, 7),
    ),
    "utd.stage.invite.accepted": ({"identity": "vic"}, notices.StageInvitationAccepted("vic", 7)),
    "utd.stage.invite.declined": ({"identity": "vic"}, notices.StageInvitationDeclined("vic", 7)),
    "utd.stage.request.denied": (
        {"identity": "vic", "reason": "not now"},
        notices.StageRequestDenied("vic", "not now", 7),
    ),
    "utd.stage.request.expired": ({"identity": "vic"}, notices.StageRequestExpired("vic", 7)),
    "utd.seat.request": (
        {"request": {"request_id": 4, "identity": "lia", "seat_index": 2}},
        notices.SpeakRequestReceived(UTDSpeakRequest(4, "lia", 2), 7),
    ),
    "utd.seat.invite": (
        {"invitation": {"identity": "lia", "seat_index": 1, "invited_by": "hal"}},
        notices.SeatInvitationReceived(UTDSeatInvitation("lia", 1, "hal"), 7),
    ),
    "utd.seat.invite.accepted": (
        {"identity": "lia", "seat_index": 1},
        notices.SeatInvitationAccepted("lia", 1, 7),
    ),
    "utd.seat.invite.declined": ({"identity": "lia"}, notices.SeatInvitationDeclined("lia", 7)),
    "utd.seat.request.denied": (
        {"request_id": 4, "identity": "lia", "reason": None},
        notices.SpeakRequestDenied(4, "lia", None, 7),
    ),
    "utd.seat.request.expired": (
        {"request_id": 4, "identity": "lia"},
        notices.SpeakRequestExpired(4, "lia", 7),
    ),
    "utd.participant.removed": ({"identity": "eve"}, notices.ParticipantRemoved("eve", 7)),
    "utd.participant.banned": ({"identity": "eve"}, notices.ParticipantBanned("eve", 7)),
    "utd.room.ended": ({"reason": "bye"}, notices.RoomEnded("bye", 7)),
}


def _message(topic: str, body: object, sender: str | None = None) -> ev.DataReceived:
    return ev.DataReceived(json.dumps(body).encode(), sender, topic)


def test_every_topic_has_a_sample() -> None:
    assert BODIES.keys() == NOTICE_TOPICS.keys()


@pytest.mark.parametrize("topic", sorted(BODIES))
def test_the_engines_message_becomes_its_typed_event(topic: str) -> None:
    body, expected = BODIES[topic]
    decoded = decode_notice(_message(topic, {**body, "version": 7}))
    assert decoded == expected
    assert type(decoded) is NOTICE_TOPICS[topic]


@pytest.mark.parametrize("topic", sorted(BODIES))
def test_the_same_message_from_a_participant_is_a_forgery_and_is_dropped(topic: str) -> None:
    body, _ = BODIES[topic]
    assert decode_notice(_message(topic, {**body, "version": 7}, sender="mallory")) is None


@pytest.mark.parametrize(
    ("topic", "body"),
    [
        ("utd.room.ended", "not an object"),
        ("utd.room.ended", {"reason": 5, "version": 1}),
        ("utd.room.ended", {"reason": "x", "version": -1}),
        ("utd.room.ended", {"reason": "x", "version": True}),
        ("utd.stage.invite", {"invited_by": "hal"}),
        ("utd.stage.invite", {"identity": "vic", "direct": "yes"}),
        ("utd.seat.request.denied", {"identity": "lia"}),
        ("utd.seat.request.denied", {"request_id": -4, "identity": "lia"}),
        ("utd.seat.invite.accepted", {"identity": "lia", "seat_index": "one"}),
        ("utd.seat.invite", {"invitation": {"seat_index": 1}}),
        ("utd.stage.request", {"request": None}),
    ],
)
def test_a_malformed_body_is_dropped(topic: str, body: object) -> None:
    assert decode_notice(_message(topic, body)) is None


def test_bytes_that_are_not_json_are_dropped() -> None:
    assert decode_notice(ev.DataReceived(b"\xff\xfe{", None, "utd.room.ended")) is None
    assert decode_notice(ev.DataReceived(b"{", None, "utd.room.ended")) is None


def test_other_topics_are_no_notices() -> None:
    assert decode_notice(_message("chat", {"reason": "x"})) is None
    assert decode_notice(_message("utd.call", {"call": {}})) is None
    assert decode_notice(ev.DataReceived(b"{}", None, None)) is None


def test_the_room_dispatches_the_notice_after_the_raw_message() -> None:
    room = UTDRoom()
    seen: list[ev.Event] = []
    room.store.events.subscribe(seen.append)
    body, expected = BODIES["utd.stage.request.denied"]
    raw = _message("utd.stage.request.denied", {**body, "version": 7})
    forged = _message("utd.stage.request.denied", body, sender="mallory")
    for message in (raw, forged):
        room._on_livekit_event(None, message)  # type: ignore[arg-type]  # no LiveKit room needed
    assert seen == [raw, expected, forged]
    room.store.dispose()


# -- the end of a room ----------------------------------------------------------------------------


def _connected() -> SessionState:
    state = SessionState()
    for event in (ev.Connecting("ws://x"), ev.Connected("me")):
        state = reduce(state, event)
    return state


def _room(ended: bool, version: int) -> ev.RoomStateReceived:
    return ev.RoomStateReceived(UTDRoomState("r", UTDStreamType.LIVE_STREAM, version, ended=ended))


def test_a_room_the_engine_says_ended_gives_the_ended_reason() -> None:
    state = reduce(reduce(_connected(), _room(False, 1)), _room(True, 2))
    assert state.room_ended
    state = reduce(state, ev.Disconnected("room_deleted"))
    assert state.disconnect_reason == ENDED_REASON


def test_the_notice_alone_proves_nothing_and_changes_nothing() -> None:
    # Anyone can send a data message on the notice's topic; only the room state counts.
    state = _connected()
    assert reduce(state, notices.RoomEnded("bye", 3)) is state
    state = reduce(state, ev.Disconnected("room_deleted"))
    assert state.disconnect_reason == "room_deleted"


def test_the_next_connection_forgets_that_the_room_had_ended() -> None:
    state = reduce(reduce(_connected(), _room(True, 2)), ev.Disconnected("room_deleted"))
    state = reduce(reduce(state, ev.Connecting("ws://x")), ev.Connected("me"))
    assert not state.room_ended
    assert reduce(state, ev.Disconnected("client_initiated")).disconnect_reason == (
        "client_initiated"
    )
    # The host started it anew: its state says so.
    assert not reduce(state, _room(False, 3)).room_ended
