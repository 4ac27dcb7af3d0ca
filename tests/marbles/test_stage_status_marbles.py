"""Marble tests of ``stage_status``: this participant's place in the stage flow, over a sequence
of room states (one value per real change; repeats and stale versions produce nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reactivex import Observable

from utd_stream_rx.models import (
    UTDRoomState,
    UTDStageInvitation,
    UTDStageMember,
    UTDStageRequest,
    UTDStageStatus,
    UTDStreamType,
)
from utd_stream_rx.state import events as ev
from utd_stream_rx.state import notices
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import STAGE_STATUS
from utd_stream_rx.testing.marbles import assert_view_marbles

HOST = UTDStageMember("h", role="host")
STATUS = {
    "f": UTDStageStatus.OFF,
    "q": UTDStageStatus.REQUESTED,
    "n": UTDStageStatus.INVITED,
    "s": UTDStageStatus.ON,
}


def live(
    version: int,
    *,
    on_stage: tuple[str, ...] = (),
    requests: tuple[str, ...] = (),
    invited: tuple[str, ...] = (),
) -> ev.RoomStateReceived:
    stage = (HOST, *(UTDStageMember(i, role="stage") for i in on_stage))
    return ev.RoomStateReceived(
        UTDRoomState(
            "show",
            UTDStreamType.LIVE_STREAM,
            version,
            host_identity="h",
            stage=stage,
            stage_requests=tuple(UTDStageRequest(n, i) for n, i in enumerate(requests, 1)),
            stage_invitations=tuple(UTDStageInvitation(i, "h") for i in invited),
        )
    )


def status_timeline(events: str, lookup: Mapping[str, ev.Event], expected: str) -> None:
    def select(store: Store) -> Observable[Any]:
        return store.view(STAGE_STATUS)

    assert_view_marbles(select, events, lookup, expected, STATUS)


def test_a_viewer_asks_is_invited_goes_on_and_comes_off() -> None:
    lookup: dict[str, ev.Event] = {
        "c": ev.Connected("me"),
        "r": live(2, requests=("me",)),
        "i": live(3, requests=("me",), invited=("me",)),  # invited outranks requested
        "j": live(4, invited=("me",)),  # the request gone meanwhile: still invited
        "s": live(5, on_stage=("me",)),
        "o": live(3, requests=("me",), invited=("me",)),  # stale: ignored
        "d": live(6),
        "x": live(7, requests=("other",), invited=("third",)),  # others' business
    }
    status_timeline("-c-r-i-j-s-o-d-x", lookup, "f--q-n---s---f")


def test_a_request_taken_back_or_denied_returns_to_off() -> None:
    lookup: dict[str, ev.Event] = {
        "c": ev.Connected("me"),
        "r": live(2, requests=("me",)),
        "t": live(3),  # cancelled
        "u": live(4, requests=("me",)),
        "n": notices.StageRequestDenied("me", "not now", version=5),  # the notice alone ...
        "v": live(5),  # ... and the state of its version, which drops the request
    }
    status_timeline("-c-r-t-u-n-v", lookup, "f--q-f-q---f")


def test_the_host_is_on_stage_and_nobody_is_anything_before_joining() -> None:
    lookup: dict[str, ev.Event] = {
        "a": live(1, requests=("h",)),
        "c": ev.Connected("h"),
        "b": live(2, requests=("h",)),
    }
    status_timeline("-a-c-b", lookup, "f--s")
