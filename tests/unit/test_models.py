import pytest

from utd_stream_rx import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDSeatGrid,
    UTDSeatMode,
    UTDStreamException,
    UTDStreamType,
    UTDTokenResponse,
)
from utd_stream_rx.models import structure, unstructure


def test_stream_type_helpers() -> None:
    assert [t.value for t in UTDStreamType] == [
        "audio_call",
        "video_call",
        "live_stream",
        "audio_room",
    ]
    assert {t for t in UTDStreamType if t.is_call} == {
        UTDStreamType.AUDIO_CALL,
        UTDStreamType.VIDEO_CALL,
    }
    assert {t for t in UTDStreamType if t.has_video} == {
        UTDStreamType.VIDEO_CALL,
        UTDStreamType.LIVE_STREAM,
    }


def test_terminal_statuses() -> None:
    terminal = {s.value for s in UTDCallStatus if s.is_terminal}
    assert terminal == {"ended", "rejected", "busy", "missed"}


def test_call_from_engine_json_ignores_unknown_fields() -> None:
    call = structure(
        {
            "call_id": "c1",
            "status": "ringing",
            "type": "video_call",
            "caller_identity": "u1",
            "callee_identity": "u2",
            "version": 3,
            "metadata": {"topic": "hi"},
            "some_future_field": [1, 2],
        },
        UTDCall,
    )
    assert call.status is UTDCallStatus.RINGING and call.type is UTDStreamType.VIDEO_CALL
    assert call.metadata == {"topic": "hi"} and call.version == 3 and call.token is None


def test_missing_required_field_names_it() -> None:
    with pytest.raises(UTDStreamException) as info:
        structure({"status": "ringing", "type": "audio_call"}, UTDCall)
    assert info.value.code == "invalid_response"
    assert "call_id" in str(info.value)


def test_invalid_enum_value_is_invalid_response() -> None:
    with pytest.raises(UTDStreamException) as info:
        structure({"call_id": "c", "status": "exploded", "type": "audio_call"}, UTDCall)
    assert info.value.code == "invalid_response" and "status" in str(info.value)


def test_not_an_object_is_invalid_response() -> None:
    with pytest.raises(UTDStreamException) as info:
        structure(["nope"], UTDTokenResponse)
    assert info.value.code == "invalid_response"


def test_room_state_round_trip() -> None:
    raw = {
        "room_name": "lobby",
        "type": "audio_room",
        "version": 7,
        "host_identity": "u1",
        "seats": {
            "count": 2,
            "mode": "request",
            "version": 7,
            "seats": [
                {"index": 0, "identity": "u1", "locked": False, "muted": False},
                {"index": 1, "identity": None, "locked": True, "muted": False},
            ],
        },
        "speak_requests": [{"request_id": 4, "identity": "u9", "seat_index": None}],
    }
    state = structure(raw, UTDRoomState)
    assert isinstance(state.seats, UTDSeatGrid) and state.seats.mode is UTDSeatMode.REQUEST
    assert state.seats.holders == ("u1",)
    assert state.seats.seat_of("u1") is not None and state.seats.seat_of("u9") is None
    assert not state.seats.seats[1].is_free
    assert state.speak_requests[0].request_id == 4
    assert structure(unstructure(state), UTDRoomState) == state


def test_token_response_connect_url() -> None:
    token = UTDTokenResponse("jwt", "http://x", "lobby", "bearer")
    assert token.connect_url == "http://x"
    assert UTDTokenResponse("jwt", "http://x", "r", "b", ws_url="ws://y").connect_url == "ws://y"
