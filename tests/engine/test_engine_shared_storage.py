"""Two engine instances on one database: whatever one does, the other sees and honours.

Each test starts two in-process engines on the same storage. On PostgreSQL that is the
deployment the engine is built for (any number of instances behind a load balancer); the same
tests run on SQLite too, where two processes on one file must at least agree on what is saved.
The cluster tests (``tests/cluster``) do the same through real processes, nginx and LiveKit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests._support.engine import APP_ID, APP_KEY, Local, LocalFactory, post_webhook
from tests._support.incoming_calls import IncomingCalls
from tests._support.paths import BANS, CALLS, SEATS
from utd_stream_rx import UTDCallStatus, UTDStreamClient

RACERS = 50
RING_CALLEE = {"callee_identity": "callee", "type": "audio_call"}


@pytest.fixture
async def pair(make_local: LocalFactory, storage_kind: str, tmp_path: Any) -> tuple[Local, Local]:
    """Engines A and B on one database (on SQLite, one file)."""
    if storage_kind == "sqlite":
        pytest.skip("one SQLite file serves one engine process; instances share PostgreSQL")
    shared = str(tmp_path / "shared.sqlite3")
    first = await make_local(db_path=shared, ring_timeout=1.0)
    second = await make_local(db_path=shared, ring_timeout=1.0)
    return first, second


async def _take(local: Local, bearer: str, index: int = 0) -> tuple[int, str | None]:
    answer = await local.client.post(
        SEATS.format(room="race") + "/take", {"seat_index": index}, bearer=bearer
    )
    return answer.status, answer.code


async def test_a_seat_race_over_both_instances_has_one_winner(pair: tuple[Local, Local]) -> None:
    a, b = pair
    await a.client.token("host", "race", "audio_room", role="host")
    bearers = []
    for n in range(RACERS):
        # Minted on one instance, taking the seat through the other: the join window is shared.
        minted = await pair[(n + 1) % 2].client.token(f"racer-{n:02}", "race", "audio_room")
        bearers.append(minted["user_token"])
    results = await asyncio.gather(
        *(_take(pair[n % 2], bearer) for n, bearer in enumerate(bearers))
    )
    assert sorted(results, key=str).count((200, None)) == 1, results
    assert [r for r in results if r != (200, None)] == [(409, "seat_taken")] * (RACERS - 1)
    # Both instances see the same holder and the same version.
    states = [
        (await local.client.get("/api/v1/rooms/race", bearer=bearers[0])).body
        for local in (a, b)
    ]
    assert states[0]["seats"] == states[1]["seats"]
    assert states[0]["version"] == states[1]["version"]


async def test_versions_only_grow_across_instances(pair: tuple[Local, Local]) -> None:
    a, b = pair
    host = (await a.client.token("host", "race", "audio_room", role="host"))["user_token"]
    seen = []
    for n in range(6):
        local = pair[n % 2]
        user = (await local.client.token(f"u{n}", "race", "audio_room"))["user_token"]
        taken = await local.client.post(
            SEATS.format(room="race") + "/take", {"seat_index": n}, bearer=user
        )
        assert taken.status == 200, taken
        seen.append(taken.body["version"])
    assert seen == sorted(set(seen)), seen
    final = (await b.client.get("/api/v1/rooms/race", bearer=host)).body
    assert final["version"] == seen[-1]


class _Callee(IncomingCalls):
    pass


@pytest.fixture
async def callee_on_b(pair: tuple[Local, Local]) -> AsyncIterator[_Callee]:
    client = UTDStreamClient(APP_ID, APP_KEY, pair[1].client.base_url, pair[1].client.base_url)
    try:
        yield _Callee(client)
    finally:
        await client.aclose()


async def test_a_call_made_on_one_instance_rings_a_callee_listening_on_the_other(
    pair: tuple[Local, Local], callee_on_b: _Callee
) -> None:
    a, b = pair
    caller = await a.client.user("caller")
    await callee_on_b.client.authenticate("callee")
    await asyncio.sleep(0.2)  # the stream is open on B before the call is made on A
    made = await a.client.post(CALLS, RING_CALLEE, bearer=caller)
    assert made.status == 201, made
    call_id = made.body["call_id"]
    await callee_on_b.until(lambda: bool(callee_on_b.versions(call_id)))

    callee = await b.client.user("callee")
    assert (await b.client.post(f"{CALLS}/{call_id}/accept", bearer=callee)).status == 200
    assert (await a.client.post(f"{CALLS}/{call_id}/end", bearer=caller)).status == 200
    await callee_on_b.until_status(call_id, UTDCallStatus.ENDED)
    # In order, each change once, and what each side reads is the same.
    assert callee_on_b.statuses(call_id) == [
        UTDCallStatus.INITIATING, UTDCallStatus.ACTIVE, UTDCallStatus.ENDED
    ]
    callee_on_b.assert_each_version_once()
    seen_by_a = (await a.client.get(f"{CALLS}/{call_id}", bearer=caller)).body
    seen_by_b = (await b.client.get(f"{CALLS}/{call_id}", bearer=callee)).body
    assert seen_by_a == seen_by_b
    assert seen_by_a["status"] == "ended"


async def test_the_ring_timeout_fires_once_whichever_instance_sweeps(
    pair: tuple[Local, Local], callee_on_b: _Callee
) -> None:
    a, b = pair
    caller = await a.client.user("caller")
    await callee_on_b.client.authenticate("callee")
    await asyncio.sleep(0.2)
    made = await a.client.post(CALLS, RING_CALLEE, bearer=caller)
    call_id = made.body["call_id"]
    # Both instances sweep (ring_timeout 1 s, a sweep every 0.25 s): one of them ends it.
    await callee_on_b.until_status(call_id, UTDCallStatus.MISSED)
    await asyncio.sleep(1.0)  # room for a second firing to show up
    assert callee_on_b.statuses(call_id) == [UTDCallStatus.INITIATING, UTDCallStatus.MISSED]
    final = (await b.client.get(f"{CALLS}/{call_id}", bearer=caller)).body
    assert (final["status"], final["end_reason"]) == ("missed", "timeout")
    assert final["version"] == made.body["version"] + 1


async def test_a_webhook_delivered_to_both_instances_is_applied_once(
    pair: tuple[Local, Local],
) -> None:
    a, b = pair
    await a.client.token("host", "race", "audio_room", role="host")
    user = (await a.client.token("ann", "race", "audio_room"))["user_token"]
    assert (await _take(a, user, 2)) == (200, None)

    def grants_to_ann() -> int:
        return sum(1 for local in (a, b) for op in local.ops("grant") if op[2] == "ann")

    before = grants_to_ann()
    joined = {
        "id": "EV_joined_once",
        "event": "participant_joined",
        "createdAt": str(int(time.time())),
        "room": {"name": f"{APP_ID}__race"},
        "participant": {"identity": "ann", "sid": "PA_ann"},
    }
    # LiveKit retried, and the load balancer sent each delivery to another instance.
    statuses = await asyncio.gather(post_webhook(a, joined), post_webhook(b, joined))
    assert list(statuses) == [200, 200]
    assert grants_to_ann() - before == 1  # the join re-applies ann's grant, once


async def test_a_ban_made_on_one_instance_holds_on_the_other(pair: tuple[Local, Local]) -> None:
    a, b = pair
    host = (await a.client.token("host", "race", "audio_room", role="host"))["user_token"]
    await a.client.token("mallory", "race", "audio_room")
    banned = await a.client.post(BANS.format(room="race"), {"identity": "mallory"}, bearer=host)
    assert banned.status == 200, banned
    answer = await b.client.post(
        "/api/v1/token",
        {"identity": "mallory", "room_name": "race", "type": "audio_room", "role": "audience"},
    )
    assert (answer.status, answer.code) == (403, "banned"), answer
