"""Strict decoding: a wrong JSON type is refused with ``invalid_response`` naming the field,
never converted into a plausible value."""

from __future__ import annotations

import enum
import json
from typing import Any

import attrs
import pytest

from utd_stream_rx import UTDStreamException
from utd_stream_rx.models import (
    UTDCall,
    UTDRoomState,
    UTDSeat,
    UTDSeatGrid,
    UTDSeatMode,
    converter,
    structure,
)
from utd_stream_rx.state.events import DataReceived
from utd_stream_rx.state.notices import StageRequestReceived, decode_notice
from utd_stream_rx.state.reducers import parse_room_metadata


def _grid(**seat_two: Any) -> dict[str, Any]:
    """A three-seat grid whose third seat has ``seat_two``'s fields."""
    return {
        "count": 3,
        "mode": "free",
        "seats": [{"index": 0}, {"index": 1}, {"index": 2, **seat_two}],
    }


def _room(**fields: Any) -> dict[str, Any]:
    return {"room_name": "lobby", "type": "audio_room", "version": 3, **fields}


def _call(**fields: Any) -> dict[str, Any]:
    return {"call_id": "c-1", "status": "active", "type": "audio_call", **fields}


def _problem(data: object, cls: type[object]) -> str:
    """The message of the ``invalid_response`` that structuring ``data`` raises."""
    with pytest.raises(UTDStreamException) as info:
        structure(data, cls)
    assert info.value.code == "invalid_response"
    return info.value.message


@pytest.mark.parametrize(
    ("data", "cls", "expected"),
    [
        # bool only from a JSON bool
        (_grid(locked="false"), UTDSeatGrid, "seats[2].locked: expected bool, got str 'false'"),
        (_grid(muted=1), UTDSeatGrid, "seats[2].muted: expected bool, got int 1"),
        # int from an int, never from a bool, float or text
        ({"index": 1.9}, UTDSeat, "index: expected int, got float 1.9"),
        ({"index": True}, UTDSeat, "index: expected int, got bool True"),
        ({"index": "1"}, UTDSeat, "index: expected int, got str '1'"),
        # float from an int or a float, never from a bool or text
        (_call(created_at="1.5"), UTDCall, "created_at: expected float, got str '1.5'"),
        (_call(updated_at=False), UTDCall, "updated_at: expected float, got bool False"),
        # str only from a str
        ({"index": 0, "identity": 123}, UTDSeat, "identity: expected str, got int 123"),
        (_call(call_id=None), UTDCall, "call_id: expected str, got None"),
        # enums from their value only
        (
            {"count": 1, "mode": "bogus"},
            UTDSeatGrid,
            "mode: expected one of 'free', 'request', got str 'bogus'",
        ),
        ({"count": 1, "mode": 0}, UTDSeatGrid, "mode: expected one of 'free', 'request', got int"),
        # lists only from a JSON list (a text is not a list of characters)
        ({"count": 1, "mode": "free", "seats": "ab"}, UTDSeatGrid, "seats: expected a list, got"),
        (_room(stage={"identity": "a"}), UTDRoomState, "stage: expected a list, got dict"),
        # objects only from a JSON object, nested models included
        (_call(metadata=["topic"]), UTDCall, "metadata: expected an object, got list ['topic']"),
        (_room(seats="full"), UTDRoomState, "seats: expected an object, got str 'full'"),
        (_room(call=[1]), UTDRoomState, "call: expected an object, got list [1]"),
        (
            _room(seats=_grid(index="2")),
            UTDRoomState,
            "seats.seats[2].index: expected int, got str '2'",
        ),
        (["c-1"], UTDCall, "UTDCall: expected an object, got list ['c-1']"),
        # a missing required field
        ({"status": "active", "type": "audio_call"}, UTDCall, "call_id: required field missing"),
        (_room(seats={"mode": "free"}), UTDRoomState, "seats.count: required field missing"),
    ],
)
def test_a_wrong_type_is_refused_naming_its_field(
    data: object, cls: type[object], expected: str
) -> None:
    assert expected in _problem(data, cls)


def test_every_wrong_field_is_named_at_once() -> None:
    message = _problem({"index": "0", "locked": "no", "name": 5}, UTDSeat)
    assert message.startswith("The engine sent an invalid UTDSeat: ")
    for field in ("index: expected int", "name: expected str", "locked: expected bool"):
        assert field in message


def test_a_long_wrong_value_is_shortened_in_the_message() -> None:
    message = _problem({"index": "9" * 500}, UTDSeat)
    assert "9" * 500 not in message and "..." in message


def test_right_types_still_decode() -> None:
    call = structure(_call(created_at=1700000000, updated_at=1.5, caller_name=None), UTDCall)
    assert call.created_at == 1700000000.0 and isinstance(call.created_at, float)
    assert call.updated_at == 1.5 and call.caller_name is None
    grid = structure(_grid(identity="u3", locked=True), UTDSeatGrid)
    assert grid.mode is UTDSeatMode.FREE and grid.seats[2] == UTDSeat(2, "u3", locked=True)
    assert isinstance(grid.seats, tuple)


def test_an_absent_optional_field_or_null_is_none() -> None:
    room = structure(_room(seats=None, host_identity=None), UTDRoomState)
    assert room.seats is None and room.host_identity is None and room.call is None


class _Kind(enum.StrEnum):
    ONE = "one"


@attrs.frozen
class _Tagged:
    kind: _Kind
    count: int | None = None


def test_a_str_enum_is_a_member_not_a_plain_text() -> None:
    tagged = converter.structure({"kind": "one"}, _Tagged)
    assert tagged.kind is _Kind.ONE
    with pytest.raises(Exception, match="expected one of 'one', got str 'two'"):
        structure({"kind": "two"}, _Tagged)


def test_room_metadata_of_wrong_types_is_ignored() -> None:
    assert parse_room_metadata(json.dumps(_room(ended="yes"))) is None
    assert parse_room_metadata(json.dumps(_room(ended=True))) is not None


def test_a_notice_of_wrong_types_is_dropped() -> None:
    def notice(body: dict[str, Any]) -> DataReceived:
        return DataReceived(json.dumps(body).encode(), None, "utd.stage.request")

    good = {"request": {"request_id": 3, "identity": "carol"}}
    assert isinstance(decode_notice(notice(good)), StageRequestReceived)
    assert decode_notice(notice({"request": {"request_id": "3", "identity": "carol"}})) is None
    assert decode_notice(notice({"request": {"request_id": 3, "identity": 7}})) is None
