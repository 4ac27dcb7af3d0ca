"""One rule, one message per argument kind (``utd_stream_rx._validate``)."""

from __future__ import annotations

import math

import pytest

from utd_stream_rx import UTDSeatMode, UTDStreamType
from utd_stream_rx._validate import (
    check_bool,
    check_int,
    check_metadata,
    check_name,
    check_optional_seat_index,
    check_optional_seat_mode,
    check_role,
    check_seat_index,
    check_seat_mode,
    check_since,
    check_stream_type,
    check_timeout,
)


@pytest.mark.parametrize("name", ["a", "alice", "a.b@c:d-e_f", "x" * 128, "0"])
def test_names_the_contract_allows(name: str) -> None:
    assert check_name(name, "identity") == name


@pytest.mark.parametrize("name", [" ", " alice", "a b", "a/b", "é", "x" * 129, "a\x00"])
def test_names_the_contract_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="identity must be 1-128 characters"):
        check_name(name, "identity")


def test_name_type_and_emptiness() -> None:
    with pytest.raises(TypeError, match="room_name must be a str, not int"):
        check_name(5, "room_name")
    with pytest.raises(ValueError, match="room_name must not be empty"):
        check_name("", "room_name")


def test_seat_indexes() -> None:
    assert check_seat_index(0) == 0
    assert check_optional_seat_index(None) is None
    with pytest.raises(TypeError, match="index must be an int, not bool"):
        check_seat_index(True, "index")
    with pytest.raises(ValueError, match="seat_index must be >= 0, got -1"):
        check_seat_index(-1)
    with pytest.raises(ValueError, match="seat_count must be between 1 and 64, got 65"):
        check_int(65, "seat_count", low=1, high=64)


def test_seat_modes_and_stream_types() -> None:
    assert check_seat_mode("request") is UTDSeatMode.REQUEST
    assert check_optional_seat_mode(None) is None
    with pytest.raises(ValueError, match="seat_mode must be one of free, request"):
        check_seat_mode("open")
    with pytest.raises(TypeError, match="seat_mode must be a UTDSeatMode or str"):
        check_seat_mode(1)
    assert check_stream_type("audio_room") is UTDStreamType.AUDIO_ROOM
    with pytest.raises(ValueError, match="type must be one of"):
        check_stream_type("radio")


def test_bools_roles_times_and_metadata() -> None:
    with pytest.raises(TypeError, match="muted must be a bool, not int"):
        check_bool(1, "muted")
    with pytest.raises(ValueError, match="role must be one of host, audience"):
        check_role("admin")
    with pytest.raises(ValueError):
        check_since(math.nan)
    with pytest.raises(ValueError):
        check_timeout(math.inf)
    with pytest.raises(TypeError, match="metadata keys must be str"):
        check_metadata({1: "x"})
    assert check_metadata({"a": [1]}) == {"a": [1]}
