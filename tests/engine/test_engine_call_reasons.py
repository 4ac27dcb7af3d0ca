"""Why calls end (``end_reason``) and ``reject_when_busy``, through the engine's HTTP API.

Most tests run the engine in-process with its recording bridge (departures arrive as signed
webhooks); the ones marked ``e2e`` leave call rooms of the real livekit-server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from livekit import rtc

from tests._support.engine import (
    APP_ID,
    APP_SECRET,
    EngineClient,
    Local,
    LocalFactory,
    post_webhook,
)
from tests._support.engine_calls import read_events, start_call
from tests._support.paths import CALLS
from utd_stream_engine.state import CallRecord, dump_record, load_call
from utd_stream_rx.models import (
    UTDCall,
    UTDCallEndReason,
    UTDCallStatus,
    UTDStreamType,
    structure,
)

GRACE = 0.4  # a short rejoin grace (seconds); the sweeper runs at least once a second


async def act(local: Local, call_id: str, action: str, bearer: str, **body: Any) -> dict[str, Any]:
    """``POST /calls/{id}/{action}`` that must succeed; the call it answers."""
    answer = await local.client.post(f"{CALLS}/{call_id}/{action}", body, bearer=bearer)
    assert answer.status == 200, answer
    data: dict[str, Any] = answer.body
    return data


async def wait_for_reason(
    client: EngineClient, call_id: str, bearer: str, timeout: float = 10.0
) -> dict[str, Any]:
    """The call once it is over (polled)."""
    async with asyncio.timeout(timeout):
        while True:
            body: dict[str, Any] = (await client.get(f"{CALLS}/{call_id}", bearer=bearer)).body
            if body["end_reason"] is not None:
                return body
            await asyncio.sleep(0.05)


@asynccontextmanager
async def call_events(client: EngineClient, bearer: str) -> AsyncIterator[aiohttp.ClientResponse]:
    """The bearer's open ``/calls/events`` stream."""
    headers = {
        "X-UTD-App-Id": client.app_id,
        "X-UTD-App-Key": client.app_key,
        "Authorization": f"Bearer {bearer}",
    }
    async with client.session.get(client.base_url + CALLS + "/events", headers=headers) as resp:
        assert resp.status == 200
        yield resp


def left(room_name: str, identity: str) -> dict[str, Any]:
    """The ``participant_left`` webhook of ``identity`` leaving a call room."""
    return {
        "event": "participant_left",
        "room": {"name": f"{APP_ID}__{room_name}"},
        "participant": {"identity": identity},
    }


# -- the callee declines ------------------------------------------------------------------------


async def test_reject_ends_the_call_declined_or_for_the_reason_given(local: Local) -> None:
    call, _, callee = await start_call(local)
    assert call["end_reason"] is None
    rejected = await act(local, call["call_id"], "reject", callee)
    assert (rejected["status"], rejected["end_reason"]) == ("rejected", "declined")

    second, _, callee = await start_call(local)
    await act(local, second["call_id"], "ringing", callee)
    rejected = await act(local, second["call_id"], "reject", callee, reason="in a meeting")
    assert (rejected["status"], rejected["end_reason"]) == ("rejected", "in a meeting")


async def test_busy_ends_the_call_busy(local: Local) -> None:
    call, _, callee = await start_call(local)
    busy = await act(local, call["call_id"], "busy", callee)
    assert (busy["status"], busy["end_reason"]) == ("busy", "busy")


# -- a party ends it ----------------------------------------------------------------------------


async def test_the_caller_ending_a_ringing_call_cancels_it(local: Local) -> None:
    call, caller, callee = await start_call(local)
    await act(local, call["call_id"], "ringing", callee)
    ended = await act(local, call["call_id"], "end", caller)
    assert (ended["status"], ended["end_reason"]) == ("ended", "cancelled")
    # Both parties read the same reason, and so does the call room's state.
    seen = (await local.client.get(f"{CALLS}/{call['call_id']}", bearer=callee)).body
    assert seen["end_reason"] == "cancelled"
    [*_, last] = local.ops("metadata")
    assert json.loads(last[2])["call"]["end_reason"] == "cancelled"


async def test_the_callee_ending_a_ringing_call_declines_it(local: Local) -> None:
    call, _, callee = await start_call(local)
    ended = await act(local, call["call_id"], "end", callee)
    assert (ended["status"], ended["end_reason"]) == ("ended", "declined")


async def test_ending_an_active_call_hangs_up_or_gives_the_reason(local: Local) -> None:
    call, caller, callee = await start_call(local)
    await act(local, call["call_id"], "accept", callee)
    ended = await act(local, call["call_id"], "end", callee)
    assert (ended["status"], ended["end_reason"]) == ("ended", "hung_up")
    notes = [op for op in local.ops("data") if op[2] == "utd.call"]
    assert notes[-1][3]["call"]["end_reason"] == "hung_up"

    second, caller, callee = await start_call(local)
    await act(local, second["call_id"], "accept", callee)
    ended = await act(local, second["call_id"], "end", caller, reason="battery low")
    assert (ended["status"], ended["end_reason"]) == ("ended", "battery low")


async def test_a_call_nobody_answers_is_missed_for_timeout(make_local: LocalFactory) -> None:
    local = await make_local(ring_timeout=0.3)
    call, caller, callee = await start_call(local)
    await act(local, call["call_id"], "ringing", callee)
    missed = await wait_for_reason(local.client, call["call_id"], caller, timeout=5)
    assert (missed["status"], missed["end_reason"]) == ("missed", "timeout")


# -- reasons are checked, and never change once given ---------------------------------------------


@pytest.mark.parametrize("reason", ["", "x" * 65, 7, True, ["no"], {"why": "no"}])
@pytest.mark.parametrize("action", ["reject", "end"])
async def test_a_reason_must_be_a_string_of_1_to_64_characters(
    local: Local, action: str, reason: object
) -> None:
    call, caller, callee = await start_call(local)
    bearer = callee if action == "reject" else caller
    answer = await local.client.post(
        f"{CALLS}/{call['call_id']}/{action}", {"reason": reason}, bearer=bearer
    )
    assert (answer.status, answer.code) == (400, "invalid_request"), reason
    still = (await local.client.get(f"{CALLS}/{call['call_id']}", bearer=caller)).body
    assert (still["status"], still["end_reason"]) == ("initiating", None)
    longest = await act(local, call["call_id"], action, bearer, reason="x" * 64)
    assert longest["end_reason"] == "x" * 64


async def test_the_first_reason_stays(local: Local) -> None:
    call, caller, callee = await start_call(local)
    cid = call["call_id"]
    first = await act(local, cid, "reject", callee, reason="not now")
    assert await act(local, cid, "reject", callee, reason="later") == first
    assert await act(local, cid, "busy", callee) == first
    assert await act(local, cid, "end", caller, reason="gave up") == first
    assert (await local.client.get(f"{CALLS}/{cid}", bearer=caller)).body == first

    second, caller, callee = await start_call(local)
    await act(local, second["call_id"], "accept", callee)
    hung_up = await act(local, second["call_id"], "end", caller)
    assert await act(local, second["call_id"], "end", callee, reason="bye") == hung_up
    # A departure after the end changes nothing either.
    assert await post_webhook(local, left(second["room_name"], "callee")) == 200
    finished = {"event": "room_finished", "room": {"name": f"{APP_ID}__{second['room_name']}"}}
    assert await post_webhook(local, finished) == 200
    after = (await local.client.get(f"{CALLS}/{second['call_id']}", bearer=caller)).body
    assert after == hung_up


# -- the engine ends it: departures, the room, the grace, a ban ---------------------------------


async def test_departures_and_a_finished_room_end_calls_for_their_reasons(local: Local) -> None:
    ringing, caller, _ = await start_call(local)
    assert await post_webhook(local, left(ringing["room_name"], "caller")) == 200
    gone = await wait_for_reason(local.client, ringing["call_id"], caller)
    assert (gone["status"], gone["end_reason"]) == ("ended", "cancelled")

    active, caller, callee = await start_call(local)
    await act(local, active["call_id"], "accept", callee)
    assert await post_webhook(local, left(active["room_name"], "callee")) == 200
    gone = await wait_for_reason(local.client, active["call_id"], caller)
    assert (gone["status"], gone["end_reason"]) == ("ended", "hung_up")

    finished, caller, _ = await start_call(local)
    event = {"event": "room_finished", "room": {"name": f"{APP_ID}__{finished['room_name']}"}}
    assert await post_webhook(local, event) == 200
    gone = await wait_for_reason(local.client, finished["call_id"], caller)
    assert (gone["status"], gone["end_reason"]) == ("ended", "hung_up")


async def test_a_party_that_never_comes_back_fails_the_call(make_local: LocalFactory) -> None:
    local = await make_local(rejoin_grace=GRACE, reconcile_interval=0)
    call, caller, callee = await start_call(local)
    await act(local, call["call_id"], "accept", callee)
    lk = f"{APP_ID}__{call['room_name']}"
    local.bridge.present[(lk, "caller")] = "PA_caller"
    local.bridge.permissions[(lk, "caller")] = True
    # The callee is not in the room: given the grace.
    assert await local.engine.background.reconcile()
    gone = await wait_for_reason(local.client, call["call_id"], caller)
    assert (gone["status"], gone["end_reason"]) == ("ended", "failed")


async def test_a_ban_fails_the_call(local: Local) -> None:
    call, caller, callee = await start_call(local)
    await act(local, call["call_id"], "accept", callee)
    headers = {"X-UTD-App-Id": APP_ID, "X-UTD-App-Secret": APP_SECRET}
    banned = await local.client.post(
        "/api/v1/admin/bans", {"identity": "callee"}, app=False, headers=headers
    )
    assert banned.status == 200, banned
    gone = await wait_for_reason(local.client, call["call_id"], caller)
    assert (gone["status"], gone["end_reason"]) == ("ended", "failed")


def test_a_call_saved_before_reasons_existed_loads_without_one() -> None:
    record = CallRecord(
        call_id="c1", app_id=APP_ID, status=UTDCallStatus.ENDED, type=UTDStreamType.AUDIO_CALL,
        room_name="call-c1", caller_identity="caller", callee_identity="callee",
    )
    saved = dump_record(record)
    del saved["end_reason"]
    loaded = load_call(saved)
    assert loaded == record and loaded.end_reason is None
    assert loaded.to_model().end_reason is None


# -- reject_when_busy -----------------------------------------------------------------------------


async def busy_callee(local: Local, *, reject_when_busy: bool) -> tuple[str, str, str]:
    """``bee`` (preference as given) in an active call with ``ann``; a third user ``cy``.
    Their bearers: (bee, cy, ann)."""
    mint = await local.client.post(
        "/api/v1/auth/user-token", {"identity": "bee", "reject_when_busy": reject_when_busy}
    )
    assert mint.status == 200, mint
    bee: str = mint.body["user_token"]
    ann = await local.client.user("ann")
    cy = await local.client.user("cy")
    first = await local.client.post(
        CALLS, {"callee_identity": "bee", "type": "audio_call"}, bearer=ann
    )
    await act(local, first.body["call_id"], "accept", bee)
    return bee, cy, ann


async def test_reject_when_busy_answers_a_busy_callee_at_once(local: Local) -> None:
    bee, cy, _ = await busy_callee(local, reject_when_busy=True)
    async with call_events(local.client, bee) as bee_events, call_events(
        local.client, cy
    ) as cy_events:
        answer = await local.client.post(
            CALLS, {"callee_identity": "bee", "type": "video_call"}, bearer=cy
        )
        assert answer.status == 201, answer
        busy = answer.body
        assert (busy["status"], busy["end_reason"]) == ("busy", "busy")
        assert busy["token"] is None and busy["url"] is None
        for stream in (bee_events, cy_events):
            [seen] = await asyncio.wait_for(read_events(stream, 1), 5)
            assert (seen.call_id, seen.status, seen.end_reason) == (
                busy["call_id"], UTDCallStatus.BUSY, "busy"
            )
        # Once: the next event of each stream is a later change, not the busy call again.
        later = await local.client.post(
            CALLS, {"callee_identity": "ann", "type": "audio_call"}, bearer=cy
        )
        [next_for_cy] = await asyncio.wait_for(read_events(cy_events, 1), 5)
        assert next_for_cy.call_id == later.body["call_id"]
    # It never rang: nothing pending for bee, no call room, no LiveKit room made for it.
    assert (await local.client.get(CALLS, bearer=bee)).body["calls"] == []
    room = await local.client.get(f"/api/v1/rooms/{busy['room_name']}", bearer=cy)
    assert room.status == 404
    assert not [op for op in local.ops("ensure_room") if busy["room_name"] in op[1]]
    assert (await local.client.get(f"{CALLS}/{busy['call_id']}", bearer=bee)).body == busy


async def test_without_reject_when_busy_the_second_call_rings(local: Local) -> None:
    bee, cy, _ = await busy_callee(local, reject_when_busy=False)
    answer = await local.client.post(
        CALLS, {"callee_identity": "bee", "type": "audio_call"}, bearer=cy
    )
    assert answer.status == 201 and answer.body["status"] == "initiating"
    assert answer.body["token"] and answer.body["end_reason"] is None
    pending = (await local.client.get(CALLS, bearer=bee)).body["calls"]
    assert [c["call_id"] for c in pending] == [answer.body["call_id"]]


async def test_the_preference_follows_the_latest_mint(local: Local) -> None:
    _, cy, _ = await busy_callee(local, reject_when_busy=True)
    # A mint without the field keeps it; one with false turns it off (room tokens too).
    assert (await local.client.post("/api/v1/auth/user-token", {"identity": "bee"})).status == 200
    kept = await local.client.post(CALLS, {"callee_identity": "bee", "type": "audio_call"},
                                   bearer=cy)
    assert kept.body["status"] == "busy"
    off = await local.client.post(
        "/api/v1/token",
        {"identity": "bee", "room_name": "lobby", "type": "audio_room", "reject_when_busy": False},
    )
    assert off.status == 200, off
    rings = await local.client.post(CALLS, {"callee_identity": "bee", "type": "audio_call"},
                                    bearer=cy)
    assert rings.body["status"] == "initiating"


async def test_a_callee_not_in_a_call_rings_whatever_its_preference(local: Local) -> None:
    mint = await local.client.post(
        "/api/v1/auth/user-token", {"identity": "bee", "reject_when_busy": True}
    )
    assert mint.status == 200
    cy = await local.client.user("cy")
    answer = await local.client.post(
        CALLS, {"callee_identity": "bee", "type": "audio_call"}, bearer=cy
    )
    assert answer.body["status"] == "initiating"


@pytest.mark.parametrize("value", ["yes", 1, 0, [], {}])
@pytest.mark.parametrize("path", ["/api/v1/auth/user-token", "/api/v1/token"])
async def test_reject_when_busy_must_be_a_boolean(local: Local, path: str, value: object) -> None:
    body: dict[str, object] = {"identity": "bee", "room_name": "lobby", "type": "audio_room"}
    body["reject_when_busy"] = value
    answer = await local.client.post(path, body)
    assert (answer.status, answer.code) == (400, "invalid_request"), value


# -- leaving the call room of the real livekit-server ---------------------------------------------


async def connect(call: dict[str, Any]) -> rtc.Room:
    room = rtc.Room()
    await room.connect(call["url"], call["token"], rtc.RoomOptions(connect_timeout=10))
    return room


@pytest.mark.e2e
async def test_the_caller_leaving_a_ringing_call_cancels_it(
    stack_client: EngineClient, unique: Callable[[str], str]
) -> None:
    caller_id, callee_id = unique("carol"), unique("dave")
    caller = await stack_client.user(caller_id)
    await stack_client.user(callee_id)
    created = await stack_client.post(
        CALLS, {"callee_identity": callee_id, "type": "audio_call"}, bearer=caller
    )
    room = await connect(created.body)
    await room.disconnect()
    gone = await wait_for_reason(stack_client, created.body["call_id"], caller, timeout=20)
    assert (gone["status"], gone["end_reason"]) == ("ended", "cancelled")


@pytest.mark.e2e
async def test_a_party_leaving_an_active_call_hangs_it_up(
    stack_client: EngineClient, unique: Callable[[str], str]
) -> None:
    caller_id, callee_id = unique("carol"), unique("dave")
    caller = await stack_client.user(caller_id)
    callee = await stack_client.user(callee_id)
    created = await stack_client.post(
        CALLS, {"callee_identity": callee_id, "type": "audio_call"}, bearer=caller
    )
    cid = created.body["call_id"]
    caller_room = await connect(created.body)
    try:
        accepted = await stack_client.post(f"{CALLS}/{cid}/accept", bearer=callee)
        callee_room = await connect(accepted.body)
        await callee_room.disconnect()
        gone = await wait_for_reason(stack_client, cid, caller, timeout=20)
        assert (gone["status"], gone["end_reason"]) == ("ended", "hung_up")
        assert structure(gone, UTDCall).end_reason == UTDCallEndReason.HUNG_UP
    finally:
        await caller_room.disconnect()
