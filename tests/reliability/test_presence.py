"""Ghost seats, for real: only an identity in the LiveKit room comes to hold a seat, a request
or a place on stage; a real session that joins and takes a seat at once is seated."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests._support.figures import record
from tests._support.raw_engine import RawEngineOf
from tests._support.seats import holder_is
from utd_stream_rx import UTDStreamClient, media
from utd_stream_rx.testing import LocalStack

pytestmark = pytest.mark.e2e


async def test_a_bearer_outside_the_room_holds_nothing_and_a_session_inside_is_seated(
    utd_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    utd_client_factory: Callable[[], UTDStreamClient],
    utd_unique: Callable[[str], str],
) -> None:
    unique = utd_unique
    raw = raw_engine_of(utd_stack)
    room, show = unique("hall"), unique("show")
    host = await utd_client_factory().join_audio_room(
        unique("host"), room, as_host=True, seat_count=4
    )
    await utd_client_factory().join_live_stream(unique("star"), show, as_host=True)
    # A bearer of the app, never connected to LiveKit and with no token for these rooms.
    ghost = await raw.bearer(unique("ghost"))
    seats = f"/api/v1/audio-rooms/{room}/seats"
    before = (await raw.send("GET", f"/api/v1/rooms/{room}", bearer=ghost)).body["version"]
    refused = 0
    for path, body in (
        (f"{seats}/take", {"seat_index": 1}),
        (f"{seats}/request", {}),
        (f"/api/v1/live/{show}/stage/request", {}),
    ):
        answer = await raw.send("POST", path, body, bearer=ghost)
        assert (answer.status, answer.code) == (409, "not_in_room"), (path, answer)
        refused += 1
    state = (await raw.send("GET", f"/api/v1/rooms/{room}", bearer=ghost)).body
    assert state["version"] == before and state["speak_requests"] == [], state
    assert [s["identity"] for s in state["seats"]["seats"]] == [None] * 4
    assert not (await raw.send("GET", f"/api/v1/rooms/{show}", bearer=ghost)).body[
        "stage_requests"
    ]
    record("ghost commands refused", f"{refused} of {refused} (409 not_in_room)")

    # A real session joins and takes a seat at once (its participant_joined may still be on
    # the way): seated, publishing, and everyone sees it.
    loop = asyncio.get_running_loop()
    started = loop.time()
    ann_id = unique("ann")
    ann = await utd_client_factory().join_audio_room(ann_id, room, audio_source=media.tone(640.0))
    await ann.take_seat(1)
    seated_after = loop.time() - started
    await ann.can_publish.wait_for(bool, timeout=10)  # LiveKit's event follows the answer
    await host.seats.wait_for(holder_is(1, ann_id), timeout=10)
    record("join then take a seat", f"{seated_after * 1e3:.0f} ms from join to seated")
