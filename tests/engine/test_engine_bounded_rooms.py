"""Room state that stays small: capped requests and invitations, requests out of the metadata
past a few, requests kept apart from the room's record, names forgotten."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

import pytest

from tests._support.engine import APP_ID, EngineClient, Local, LocalFactory, post_webhook
from tests._support.paths import SEATS, STAGE
from utd_stream_engine.sqlite_storage import SQLiteStorage
from utd_stream_engine.state import MAX_NAMES, METADATA_REQUESTS, dump_record

# Hundreds of listeners mint from one address here: no limit on tokens gets in the way.
NO_TOKEN_LIMITS = {"rate_limit": 0, "mint_limit_per_address": 0, "mint_limit_per_app": 0}


async def requesters(client: EngineClient, room: str, count: int, prefix: str = "fan") -> None:
    """``count`` listeners who each ask to speak."""

    async def ask(n: int) -> None:
        bearer = (await client.token(f"{prefix}-{n:04d}", room, "audio_room"))["user_token"]
        answer = await client.post(SEATS.format(room=room) + "/request", bearer=bearer)
        assert answer.status == 200, answer

    # The first asks alone, so it is the oldest; concurrent ones arrive in no set order.
    await ask(0)
    for start in range(1, count, 50):
        await asyncio.gather(*(ask(n) for n in range(start, min(count, start + 50))))


def last_metadata(local: Local, room: str) -> dict[str, Any]:
    found = [op[2] for op in local.ops("metadata") if op[1] == f"{APP_ID}__{room}"]
    data: dict[str, Any] = json.loads(found[-1])
    return data


def room_row_bytes(local: Local, room: str) -> int:
    storage = local.engine.storage
    assert isinstance(storage, SQLiteStorage)
    row = storage._db.execute(
        "SELECT length(data) FROM rooms WHERE app_id = ? AND room_name = ?", (APP_ID, room)
    ).fetchone()
    return int(row[0])


async def test_a_room_holds_at_most_its_cap_of_pending_requests(
    make_local: LocalFactory,
) -> None:
    local = await make_local(max_pending_requests=3)
    client = local.client
    host = (await client.token("host", "capped", "audio_room", role="host"))["user_token"]
    await client.post(SEATS.format(room="capped") + "/setup", {"seat_mode": "request"}, bearer=host)
    await requesters(client, "capped", 3)

    late = (await client.token("late", "capped", "audio_room"))["user_token"]
    answer = await client.post(SEATS.format(room="capped") + "/request", bearer=late)
    assert (answer.status, answer.code) == (409, "queue_full"), answer
    # Asking again while already waiting is still the no-op it always was.
    first = (await client.token("fan-0000", "capped", "audio_room"))["user_token"]
    assert (await client.post(SEATS.format(room="capped") + "/request", bearer=first)).status == 200

    # A requester who leaves the room makes a place.
    left = {
        "event": "participant_left",
        "room": {"name": f"{APP_ID}__capped"},
        "participant": {"identity": "fan-0001", "sid": "PA_fan1"},
    }
    assert await post_webhook(local, left) == 200
    answer = await client.post(SEATS.format(room="capped") + "/request", bearer=late)
    assert answer.status == 200, answer
    waiting = [r["identity"] for r in answer.body["speak_requests"]]
    assert waiting == ["fan-0000", "fan-0002", "late"]


async def test_stage_requests_share_the_cap(make_local: LocalFactory) -> None:
    local = await make_local(max_pending_requests=2)
    client = local.client
    await client.token("star", "show", "live_stream", role="host")
    for n in range(3):
        fan = (await client.token(f"fan{n}", "show", "live_stream"))["user_token"]
        answer = await client.post(STAGE.format(room="show") + "/request", bearer=fan)
        assert answer.status == (200 if n < 2 else 409), answer
    assert answer.code == "queue_full"


async def test_a_room_holds_at_most_its_cap_of_invitations(make_local: LocalFactory) -> None:
    local = await make_local(max_invitations=2)
    client = local.client
    host = (await client.token("host", "invites", "audio_room", role="host"))["user_token"]
    for name in ("ann", "bob"):
        answer = await client.post(
            SEATS.format(room="invites") + "/invite", {"identity": name}, bearer=host
        )
        assert answer.status == 200, answer
    # Inviting someone already invited again replaces their invitation: not one more.
    again = await client.post(
        SEATS.format(room="invites") + "/invite", {"identity": "bob", "seat_index": 2}, bearer=host
    )
    assert again.status == 200, again
    answer = await client.post(
        SEATS.format(room="invites") + "/invite", {"identity": "cid"}, bearer=host
    )
    assert (answer.status, answer.code) == (409, "queue_full"), answer


async def test_metadata_lists_a_few_requests_and_leaves_many_out(
    make_local: LocalFactory,
) -> None:
    local = await make_local(**NO_TOKEN_LIMITS)
    client = local.client
    host = (await client.token("host", "busy", "audio_room", role="host"))["user_token"]
    await client.post(SEATS.format(room="busy") + "/setup", {"seat_mode": "request"}, bearer=host)
    await requesters(local.client, "busy", METADATA_REQUESTS)
    few = last_metadata(local, "busy")
    assert len(few["speak_requests"]) == METADATA_REQUESTS and not few["requests_omitted"]

    await requesters(local.client, "busy", 300, prefix="crowd")
    many = last_metadata(local, "busy")
    assert many["requests_omitted"] and many["speak_requests"] == []
    assert many["requests_version"] == many["version"]
    assert len(json.dumps(many)) < 2_000

    # A seat change leaves the requests (and their version) as they were.
    locked = await client.post(SEATS.format(room="busy") + "/3/lock", {"locked": True}, bearer=host)
    assert locked.status == 200 and locked.body["requests_omitted"], locked
    assert locked.body["requests_version"] == many["requests_version"]
    assert last_metadata(local, "busy")["version"] == many["version"] + 1

    # The GET endpoints list every one, oldest first.
    full = await client.get(SEATS.format(room="busy"), bearer=host)
    assert not full.body["requests_omitted"]
    assert len(full.body["speak_requests"]) == METADATA_REQUESTS + 300
    assert full.body["speak_requests"][0]["identity"] == "fan-0000"
    listed = await client.get(SEATS.format(room="busy") + "/requests", bearer=host)
    assert len(listed.body["speak_requests"]) == METADATA_REQUESTS + 300


@pytest.mark.sqlite_only  # reads SQLite's own tables
async def test_pending_requests_are_kept_apart_from_the_room_record(
    make_local: LocalFactory,
) -> None:
    local = await make_local(**NO_TOKEN_LIMITS)
    client = local.client
    host = (await client.token("host", "apart", "audio_room", role="host"))["user_token"]
    await client.post(SEATS.format(room="apart") + "/setup", {"seat_mode": "request"}, bearer=host)
    empty = room_row_bytes(local, "apart")
    await requesters(client, "apart", 400)
    # The requests are not in the record: it does not grow with them.
    assert room_row_bytes(local, "apart") < empty + 100

    # Approving one reads them, seats the requester and drops the request.
    listed = await client.get(SEATS.format(room="apart") + "/requests", bearer=host)
    target = listed.body["speak_requests"][123]
    approved = await client.post(
        SEATS.format(room="apart") + f"/requests/{target['request_id']}/approve", bearer=host
    )
    assert approved.status == 200, approved
    assert approved.body["seats"]["seats"][0]["identity"] == target["identity"]
    after = await client.get(SEATS.format(room="apart") + "/requests", bearer=host)
    assert len(after.body["speak_requests"]) == 399
    assert target["identity"] not in {r["identity"] for r in after.body["speak_requests"]}


async def test_a_room_saved_with_its_requests_inline_keeps_them(tmp_path: Any) -> None:
    path = tmp_path / "engine.sqlite3"
    storage = SQLiteStorage(path)
    await storage.close()
    # A record as the engine wrote it before requests were kept apart.
    record = {
        "app_id": APP_ID,
        "room_name": "old",
        "type": "audio_room",
        "version": 7,
        "host_identity": "host",
        "seat_mode": "request",
        "seats": [{"index": 0, "identity": None, "name": None, "locked": False, "muted": False}],
        "speak_requests": [
            {"request_id": 1, "identity": "ann", "seat_index": None, "name": "Ann",
             "created_at": 1.0},
        ],
        "stage_requests": [],
        "invitations": [],
        "names": {"ann": "Ann"},
        "next_request_id": 2,
    }
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO rooms (app_id, room_name, data) VALUES (?, ?, ?)",
            (APP_ID, "old", json.dumps(record)),
        )
    storage = SQLiteStorage(path)
    try:
        room = await storage.load_room(APP_ID, "old")
        assert room is not None and [r.identity for r in room.speak_requests] == ["ann"]
        assert room.holders() == {"ann"}
        await storage.save(rooms=[room])
        again = await storage.load_room(APP_ID, "old")
        assert again is not None and again.request_count == 1 and again.has_request("ann")
        assert [r.identity for r in again.speak_requests] == ["ann"]
        assert "speak_requests" not in dump_record(again)
    finally:
        await storage.close()


async def test_names_are_forgotten_when_their_identity_leaves(local: Local) -> None:
    client = local.client
    await client.token("host", "names", "live_stream", role="host", name="Host")
    await client.token("viewer", "names", "live_stream", name="Viewer")
    room = await local.engine.storage.load_room(APP_ID, "names")
    assert room is not None and room.names.get("viewer") == "Viewer"
    left = {
        "event": "participant_left",
        "room": {"name": f"{APP_ID}__names"},
        "participant": {"identity": "viewer", "sid": "PA_viewer"},
    }
    assert await post_webhook(local, left) == 200
    room = await local.engine.storage.load_room(APP_ID, "names")
    assert room is not None and "viewer" not in room.names and room.names["host"] == "Host"


async def test_a_room_remembers_a_bounded_number_of_names(
    make_local: LocalFactory,
) -> None:
    local = await make_local(**NO_TOKEN_LIMITS)
    client = local.client
    await client.token("host", "crowd", "live_stream", role="host", name="Host")
    for start in range(0, MAX_NAMES + 100, 50):
        await asyncio.gather(
            *(
                client.token(f"v{n:04d}", "crowd", "live_stream", name=f"Viewer {n}")
                for n in range(start, start + 50)
            )
        )
    room = await local.engine.storage.load_room(APP_ID, "crowd")
    assert room is not None and len(room.names) == MAX_NAMES
    # The most recent are the ones kept.
    assert room.names[f"v{MAX_NAMES + 99:04d}"] == f"Viewer {MAX_NAMES + 99}"
    assert "v0000" not in room.names
