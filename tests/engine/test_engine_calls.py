"""The call state machine, ring timeout, event stream, webhooks and persistence (in-process)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

import jwt
import pytest

from tests._support.engine import APP_ID, Local, LocalFactory, post_webhook
from tests._support.engine_calls import read_events, start_call
from tests._support.paths import CALLS
from utd_stream_engine import calls as calls_module
from utd_stream_engine.sqlite_storage import SQLiteStorage
from utd_stream_engine.state import CallRecord, dump_record
from utd_stream_rx.models import UTDCallStatus, UTDRoomState, UTDStreamType, structure


async def test_call_happy_path(local: Local) -> None:
    call, caller, callee = await start_call(local)
    assert call["status"] == "initiating" and call["token"] and call["url"]
    assert call["caller_name"] == "Carol" and call["callee_name"] == "Cal"
    assert call["metadata"] == {"k": 1}
    grants = jwt.decode(call["token"], options={"verify_signature": False})
    assert grants["sub"] == "caller" and grants["video"]["canPublish"] is True
    assert grants["video"]["room"] == f"{APP_ID}__{call['room_name']}"
    [room_op] = local.ops("ensure_room")
    assert room_op[3] == 2  # max_participants
    cid = call["call_id"]

    pending = await local.client.get(CALLS, bearer=callee)
    assert [c["call_id"] for c in pending.body["calls"]] == [cid]
    assert pending.body["calls"][0]["token"] is None
    answer = await local.client.post(f"{CALLS}/{cid}/accept", bearer=caller)
    assert (answer.status, answer.code) == (403, "forbidden")
    stranger = await local.client.user("stranger")
    answer = await local.client.get(f"{CALLS}/{cid}", bearer=stranger)
    assert (answer.status, answer.code) == (403, "forbidden")
    answer = await local.client.get(f"{CALLS}/nope", bearer=caller)
    assert (answer.status, answer.code) == (404, "not_found")

    ringing = await local.client.post(f"{CALLS}/{cid}/ringing", bearer=callee)
    assert ringing.body["status"] == "ringing" and ringing.body["version"] > call["version"]
    accepted = await local.client.post(f"{CALLS}/{cid}/accept", bearer=callee)
    assert accepted.body["status"] == "active" and accepted.body["token"]
    assert (
        jwt.decode(accepted.body["token"], options={"verify_signature": False})["sub"] == "callee"
    )
    rejoin = await local.client.post(f"{CALLS}/{cid}/accept", bearer=callee)
    assert rejoin.status == 200 and rejoin.body["version"] == accepted.body["version"]
    answer = await local.client.post(f"{CALLS}/{cid}/reject", bearer=callee)
    assert (answer.status, answer.code) == (409, "conflict")

    room = await local.client.get(f"/api/v1/rooms/{call['room_name']}", bearer=caller)
    state = structure(room.body, UTDRoomState)
    assert state.call is not None and state.call.status.value == "active"
    assert state.call.token is None and state.host_identity == "caller"

    ended = await local.client.post(f"{CALLS}/{cid}/end", bearer=caller)
    assert ended.body["status"] == "ended"
    again = await local.client.post(f"{CALLS}/{cid}/end", bearer=callee)
    assert again.status == 200 and again.body == ended.body
    answer = await local.client.post(f"{CALLS}/{cid}/ringing", bearer=callee)
    assert (answer.status, answer.code) == (409, "call_ended")
    answer = await local.client.post(f"{CALLS}/{cid}/accept", bearer=callee)
    assert (answer.status, answer.code) == (409, "call_ended")
    assert (await local.client.get(CALLS, bearer=callee)).body["calls"] == []
    everything = await local.client.get(CALLS + "?status=all", bearer=caller)
    assert [c["status"] for c in everything.body["calls"]] == ["ended"]
    answer = await local.client.get(CALLS + "?status=weird", bearer=caller)
    assert answer.status == 400

    notes = [op for op in local.ops("data") if op[2] == "utd.call"]
    assert [n[3]["call"]["status"] for n in notes] == ["ringing", "active", "ended"]
    assert all(set(n[4]) == {"caller", "callee"} for n in notes)
    versions = [structure(json.loads(op[2]), UTDRoomState).version for op in local.ops("metadata")]
    assert versions == sorted(versions)


async def test_reject_and_busy_are_final_and_idempotent(local: Local) -> None:
    call, caller, callee = await start_call(local, "audio_call")
    rejected = await local.client.post(f"{CALLS}/{call['call_id']}/reject", bearer=callee)
    assert rejected.body["status"] == "rejected"
    again = await local.client.post(f"{CALLS}/{call['call_id']}/reject", bearer=callee)
    assert again.body == rejected.body
    ended = await local.client.post(f"{CALLS}/{call['call_id']}/end", bearer=caller)
    assert ended.body["status"] == "rejected"
    second = await local.client.post(
        CALLS, {"callee_identity": "callee", "type": "audio_call"}, bearer=caller
    )
    busy = await local.client.post(f"{CALLS}/{second.body['call_id']}/busy", bearer=callee)
    assert busy.body["status"] == "busy"


async def test_bad_call_requests(local: Local) -> None:
    caller = await local.client.user("caller")
    for body in (
        {"callee_identity": "caller", "type": "audio_call"},
        {"callee_identity": "x", "type": "live_stream"},
        {"callee_identity": "x", "type": "audio_call", "metadata": [1]},
        {"type": "audio_call"},
    ):
        answer = await local.client.post(CALLS, body, bearer=caller)
        assert (answer.status, answer.code) == (400, "invalid_request"), body
    call, _, _ = await start_call(local)
    foreign = await local.other.user("callee")
    answer = await local.other.get(f"{CALLS}/{call['call_id']}", bearer=foreign)
    assert (answer.status, answer.code) == (404, "not_found")


async def test_ring_timeout_makes_the_call_missed(make_local: LocalFactory) -> None:
    local = await make_local(ring_timeout=0.3)
    call, caller, callee = await start_call(local)
    await local.client.post(f"{CALLS}/{call['call_id']}/ringing", bearer=callee)
    for _ in range(40):
        answer = await local.client.get(f"{CALLS}/{call['call_id']}", bearer=caller)
        if answer.body["status"] != "ringing":
            break
        await asyncio.sleep(0.1)
    assert answer.body["status"] == "missed"
    late = await local.client.post(f"{CALLS}/{call['call_id']}/accept", bearer=callee)
    assert (late.status, late.code) == (409, "call_ended")


async def test_event_stream_delivers_call_changes(local: Local) -> None:
    callee = await local.client.user("callee")
    caller = await local.client.user("caller")
    headers = {
        "X-UTD-App-Id": local.client.app_id,
        "X-UTD-App-Key": local.client.app_key,
        "Authorization": f"Bearer {callee}",
    }
    async with local.client.session.get(
        local.client.base_url + CALLS + "/events", headers=headers
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        created = await local.client.post(
            CALLS, {"callee_identity": "callee", "type": "audio_call"}, bearer=caller
        )
        [incoming] = await asyncio.wait_for(read_events(resp, 1), 5)
        assert incoming.call_id == created.body["call_id"] and incoming.status.value == "initiating"
        assert incoming.token is None
        await local.client.post(f"{CALLS}/{incoming.call_id}/end", bearer=caller)
        [ended] = await asyncio.wait_for(read_events(resp, 1), 5)
        assert ended.status.value == "ended" and ended.version > incoming.version
    unauthorized = await local.client.get(CALLS + "/events")
    assert unauthorized.status == 401


async def test_webhook_left_frees_seat_and_ends_call(local: Local) -> None:
    host = (await local.client.token("host", "w", "audio_room", role="host"))["user_token"]
    ann = (await local.client.token("ann", "w", "audio_room"))["user_token"]
    await local.client.post("/api/v1/audio-rooms/w/seats/take", {"seat_index": 2}, bearer=ann)
    await local.client.post("/api/v1/audio-rooms/w/seats/invite", {"identity": "bob"}, bearer=host)
    left = {
        "event": "participant_left",
        "room": {"name": f"{APP_ID}__w"},
        "participant": {"identity": "ann"},
    }
    assert await post_webhook(local, left, secret="y" * 40) == 401
    assert (await local.client.get("/api/v1/rooms/w", bearer=host)).body["seats"]["seats"][2][
        "identity"
    ] == "ann"
    assert await post_webhook(local, left) == 200
    state = (await local.client.get("/api/v1/rooms/w", bearer=host)).body
    assert state["seats"]["seats"][2]["identity"] is None
    bob_left = {**left, "participant": {"identity": "bob"}}
    assert await post_webhook(local, bob_left) == 200
    assert (await local.client.get("/api/v1/rooms/w", bearer=host)).body["invitations"] == []

    joined = {
        "event": "participant_joined",
        "room": {"name": f"{APP_ID}__w"},
        "participant": {"identity": "host"},
    }
    assert await post_webhook(local, joined) == 200
    assert local.ops("grant")[-1][2] == "host"

    call, caller, callee = await start_call(local)
    await local.client.post(f"{CALLS}/{call['call_id']}/accept", bearer=callee)
    gone = {
        "event": "participant_left",
        "room": {"name": f"{APP_ID}__{call['room_name']}"},
        "participant": {"identity": "callee"},
    }
    assert await post_webhook(local, gone) == 200
    assert (await local.client.get(f"{CALLS}/{call['call_id']}", bearer=caller)).body[
        "status"
    ] == "ended"
    # The caller hanging up while it still rings cancels the call.
    second = await local.client.post(
        CALLS, {"callee_identity": "callee", "type": "audio_call"}, bearer=caller
    )
    gone = {
        **gone,
        "room": {"name": f"{APP_ID}__{second.body['room_name']}"},
        "participant": {"identity": "caller"},
    }
    assert await post_webhook(local, gone) == 200
    assert (await local.client.get(f"{CALLS}/{second.body['call_id']}", bearer=caller)).body[
        "status"
    ] == "ended"
    third = await local.client.post(
        CALLS, {"callee_identity": "callee", "type": "audio_call"}, bearer=caller
    )
    finished = {"event": "room_finished", "room": {"name": f"{APP_ID}__{third.body['room_name']}"}}
    assert await post_webhook(local, finished) == 200
    assert (await local.client.get(f"{CALLS}/{third.body['call_id']}", bearer=caller)).body[
        "status"
    ] == "ended"


async def test_state_and_bearers_survive_a_restart(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    db = str(tmp_path / "engine.sqlite3")
    first = await make_local(db_path=db)
    host = (await first.client.token("host", "keep", "audio_room", role="host"))["user_token"]
    ann = (await first.client.token("ann", "keep", "audio_room"))["user_token"]
    await first.client.post(
        "/api/v1/audio-rooms/keep/seats/setup", {"seat_mode": "request"}, bearer=host
    )
    await first.client.post("/api/v1/audio-rooms/keep/seats/take", {"seat_index": 0}, bearer=host)
    await first.client.post("/api/v1/audio-rooms/keep/seats/request", {"seat_index": 3}, bearer=ann)
    call, caller, _ = await start_call(first)
    before = (await first.client.get("/api/v1/rooms/keep", bearer=host)).body
    await first.server.close()

    second = await make_local(db_path=db)
    after = await second.client.get("/api/v1/rooms/keep", bearer=host)  # same bearer still valid
    assert after.status == 200 and after.body == before
    again = await second.client.get(f"{CALLS}/{call['call_id']}", bearer=caller)
    assert again.body["status"] == "initiating"
    request_id = before["speak_requests"][0]["request_id"]
    approved = await second.client.post(
        f"/api/v1/audio-rooms/keep/seats/requests/{request_id}/approve", bearer=host
    )
    assert approved.body["seats"]["seats"][3]["identity"] == "ann"
    assert approved.body["version"] == before["version"] + 1


# -- catching up: GET /calls?since= -------------------------------------------------------------


async def test_calls_since_lists_every_change_from_that_time_oldest_first(local: Local) -> None:
    first, caller, callee = await start_call(local)
    second = await local.client.post(
        CALLS, {"callee_identity": "callee", "type": "audio_call"}, bearer=caller
    )
    other = await local.client.user("other")
    await local.client.post(CALLS, {"callee_identity": "other", "type": "audio_call"},
                            bearer=caller)
    ended = await local.client.post(f"{CALLS}/{first['call_id']}/end", bearer=callee)
    assert ended.body["updated_at"] > first["updated_at"] == first["created_at"]

    changed = await local.client.get(f"{CALLS}?since={first['updated_at']!r}", bearer=callee)
    assert changed.status == 200
    # Any status, oldest change first: the second call (ringing), then the first (ended now).
    assert [(c["call_id"], c["status"]) for c in changed.body["calls"]] == [
        (second.body["call_id"], "initiating"),
        (first["call_id"], "ended"),
    ]
    stamps = [c["updated_at"] for c in changed.body["calls"]]
    assert stamps == sorted(stamps)
    # The bound is inclusive: a call changed exactly at ``since`` is in.
    at_end = await local.client.get(f"{CALLS}?since={ended.body['updated_at']!r}", bearer=callee)
    assert [c["call_id"] for c in at_end.body["calls"]] == [first["call_id"]]
    later = ended.body["updated_at"] + 0.001
    assert (await local.client.get(f"{CALLS}?since={later!r}", bearer=callee)).body["calls"] == []
    # status narrows it; the caller sees its calls too; a third party sees only theirs.
    pending = await local.client.get(f"{CALLS}?since=0&status=pending", bearer=callee)
    assert [c["call_id"] for c in pending.body["calls"]] == [second.body["call_id"]]
    assert len((await local.client.get(f"{CALLS}?since=0", bearer=caller)).body["calls"]) == 3
    assert len((await local.client.get(f"{CALLS}?since=0", bearer=other)).body["calls"]) == 1
    # Without since nothing changed: pending only, newest first.
    plain = await local.client.get(CALLS, bearer=callee)
    assert [c["call_id"] for c in plain.body["calls"]] == [second.body["call_id"]]


async def test_calls_since_is_bounded_and_pages_on(
    local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls_module, "CHANGED_CALLS_LIMIT", 3)
    caller = await local.client.user("caller")
    callee = await local.client.user("callee")
    made = []
    for _ in range(5):
        answer = await local.client.post(
            CALLS, {"callee_identity": "callee", "type": "audio_call"}, bearer=caller
        )
        made.append(answer.body["call_id"])
    page = (await local.client.get(f"{CALLS}?since=0", bearer=callee)).body["calls"]
    assert [c["call_id"] for c in page] == made[:3]
    rest = await local.client.get(f"{CALLS}?since={page[-1]['updated_at']!r}", bearer=callee)
    assert [c["call_id"] for c in rest.body["calls"]] == made[2:]


@pytest.mark.parametrize(
    "since", ["", "abc", "-1", "-0.5", "nan", "NaN", "inf", "-inf", "1e999", "0x10", "1_0", "1,5"]
)
async def test_calls_since_refuses_what_is_not_a_time(local: Local, since: str) -> None:
    callee = await local.client.user("callee")
    answer = await local.client.get(f"{CALLS}?since={quote(since)}", bearer=callee)
    assert (answer.status, answer.code) == (400, "invalid_request"), since


@pytest.mark.parametrize("since", ["0", "1700000000", "1700000000.25", "1.7e9", ".5", "-0"])
async def test_calls_since_takes_plain_numbers(local: Local, since: str) -> None:
    callee = await local.client.user("callee")
    answer = await local.client.get(f"{CALLS}?since={quote(since)}", bearer=callee)
    assert answer.status == 200, answer


async def test_a_database_from_before_updated_at_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    record = CallRecord(
        call_id="c1", app_id=APP_ID, status=UTDCallStatus.ENDED, type=UTDStreamType.AUDIO_CALL,
        room_name="call-c1", caller_identity="caller", callee_identity="callee",
        version=3, created_at=100.0, updated_at=160.5,
    )
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE calls (call_id TEXT PRIMARY KEY, app_id TEXT NOT NULL,"
            " caller TEXT NOT NULL, callee TEXT NOT NULL, status TEXT NOT NULL,"
            " created_at REAL NOT NULL, data TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("c1", APP_ID, "caller", "callee", "ended", 100.0, json.dumps(dump_record(record))),
        )
        db.commit()
    storage = SQLiteStorage(path)
    try:
        assert await storage.calls_changed_since(APP_ID, "callee", 160.5, 10) == [record]
        assert await storage.calls_changed_since(APP_ID, "callee", 160.6, 10) == []
    finally:
        await storage.close()
