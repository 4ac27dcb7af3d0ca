"""Reconciliation with LiveKit's participants (in-process engine, recording NullBridge).

LiveKit drops a webhook after a few retries, so a departure while the engine was down is never
reported. A reconciliation pass compares the engine's holders and calls with who LiveKit lists:
the absent get the rejoin grace and lose what they hold when it ends; lost grants are sent
again; while LiveKit cannot be asked nothing is released.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests._support.engine import APP_ID, Local, LocalFactory, post_webhook
from tests._support.engine_calls import start_call
from tests._support.engine_seats import GRACE, seat_room, seated, wait_until_freed
from tests._support.paths import CALLS
from utd_stream_engine import NullBridge, ParticipantPresence, SQLiteStorage
from utd_stream_engine.state import RoomRecord
from utd_stream_rx.models import UTDStageMember, UTDStreamType

NEVER = 0  # reconcile_interval: no periodic pass, only the ones a test asks for


async def away(local: Local, room: str) -> dict[str, float]:
    record = await local.engine.storage.load_room(APP_ID, room)
    assert record is not None
    return record.away


async def call_status(local: Local, call_id: str, bearer: str) -> str:
    status: str = (await local.client.get(f"{CALLS}/{call_id}", bearer=bearer)).body["status"]
    return status


async def wait_for_status(local: Local, call_id: str, bearer: str, want: str) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (status := await call_status(local, call_id, bearer)) != want:
        assert loop.time() - started < 5, f"the call stayed {status}"
        await asyncio.sleep(0.05)
    return loop.time() - started


async def test_the_periodic_pass_releases_an_absent_holder_after_the_grace(
    make_local: LocalFactory,
) -> None:
    # bob left while the engine was down: no webhook will ever say so.
    local = await make_local(rejoin_grace=GRACE, reconcile_interval=0.2)
    b = await seat_room(local, "pr", "ann", "bob")
    local.bridge.present[(f"{APP_ID}__pr", "ann")] = "PA_ann"
    local.bridge.permissions[(f"{APP_ID}__pr", "ann")] = True
    waited = await wait_until_freed(local, "pr", b["host"], 2)
    assert waited >= GRACE / 2, waited  # given the grace first, not released at once
    now = await seated(local, "pr", b["host"])
    assert now[1] == "ann"  # present: kept
    revoked = [op for op in local.ops("grant") if op[2] == "bob" and not op[3].can_publish]
    assert len(revoked) == 1
    assert (await away(local, "pr")) == {}
    await asyncio.sleep(GRACE + 1.2)  # later passes leave a present holder alone
    assert (await seated(local, "pr", b["host"]))[1] == "ann"
    assert not [op for op in local.ops("grant") if op[2] == "ann" and not op[3].can_publish]


async def test_a_holder_back_within_the_grace_keeps_the_seat(make_local: LocalFactory) -> None:
    local = await make_local(rejoin_grace=GRACE, reconcile_interval=NEVER)
    b = await seat_room(local, "bk", "ann", "bob")
    assert await local.engine.reconcile()
    assert set(await away(local, "bk")) == {"ann", "bob"}
    # ann's connection shows up before the grace ends (her participant_joined may never come).
    local.bridge.present[(f"{APP_ID}__bk", "ann")] = "PA_ann"
    await wait_until_freed(local, "bk", b["host"], 2)
    assert (await seated(local, "bk", b["host"]))[1] == "ann"


async def test_requests_and_invitations_of_the_absent_are_dropped(
    make_local: LocalFactory,
) -> None:
    local = await make_local(rejoin_grace=GRACE, reconcile_interval=NEVER)
    host = (await local.client.token("host", "rq", "audio_room", role="host"))["user_token"]
    asker = (await local.client.token("asker", "rq", "audio_room"))["user_token"]
    asked = await local.client.post("/api/v1/audio-rooms/rq/seats/request", bearer=asker)
    assert asked.status == 200, asked
    assert await local.engine.reconcile()
    assert set(await away(local, "rq")) == {"asker"}
    for _ in range(100):
        state = (await local.client.get("/api/v1/rooms/rq", bearer=host)).body
        if not state["speak_requests"]:
            break
        await asyncio.sleep(0.05)
    assert state["speak_requests"] == []


async def test_a_grant_livekit_lost_is_sent_again(make_local: LocalFactory) -> None:
    local = await make_local(reconcile_interval=NEVER)
    await seat_room(local, "gl", "ann")
    lk = f"{APP_ID}__gl"
    # ann reconnected with her audience token while the engine could not push; eve, an
    # audience member, still publishes after a revocation LiveKit never received.
    local.bridge.present.update({(lk, "ann"): "PA_a", (lk, "eve"): "PA_e", (lk, "host"): "PA_h"})
    local.bridge.permissions.update({(lk, "ann"): False, (lk, "eve"): True})
    before = len(local.ops("grant"))
    assert await local.engine.reconcile()
    sent = {op[2]: op[3] for op in local.ops("grant")[before:]}
    assert set(sent) == {"ann", "eve"}
    assert sent["ann"].can_publish and sent["ann"].seat == 1
    assert not sent["eve"].can_publish
    assert (await away(local, "gl")) == {}
    # LiveKit now agrees: the next pass sends nothing.
    again = len(local.ops("grant"))
    assert await local.engine.reconcile()
    assert len(local.ops("grant")) == again


async def test_an_active_call_whose_party_vanished_ends_after_the_grace(
    make_local: LocalFactory,
) -> None:
    local = await make_local(rejoin_grace=GRACE, reconcile_interval=NEVER)
    call, caller, callee = await start_call(local)
    cid = call["call_id"]
    assert (await local.client.post(f"{CALLS}/{cid}/accept", bearer=callee)).status == 200
    lk = f"{APP_ID}__{call['room_name']}"
    local.bridge.present[(lk, "caller")] = "PA_c"
    local.bridge.permissions[(lk, "caller")] = True
    assert await local.engine.reconcile()
    assert await call_status(local, cid, caller) == "active"  # the callee has the grace
    waited = await wait_for_status(local, cid, caller, "ended")
    assert waited >= GRACE / 2, waited
    ended = [op for op in local.ops("data") if op[3]["call"]["status"] == "ended"]
    assert ended, "the parties were not told"


async def test_an_active_call_whose_party_comes_back_goes_on(make_local: LocalFactory) -> None:
    local = await make_local(rejoin_grace=GRACE, reconcile_interval=NEVER)
    call, caller, callee = await start_call(local)
    cid = call["call_id"]
    await local.client.post(f"{CALLS}/{cid}/accept", bearer=callee)
    room = call["room_name"]
    lk = f"{APP_ID}__{room}"
    local.bridge.present[(lk, "caller")] = "PA_c"
    local.bridge.permissions[(lk, "caller")] = True
    assert await local.engine.reconcile()
    joined = {
        "event": "participant_joined",
        "room": {"name": lk},
        "participant": {"identity": "callee", "sid": "PA_k"},
    }
    assert await post_webhook(local, joined) == 200
    assert (await away(local, room)) == {}
    await asyncio.sleep(GRACE + 1.2)
    assert await call_status(local, cid, caller) == "active"


async def test_a_ringing_call_whose_caller_is_gone_ends(make_local: LocalFactory) -> None:
    local = await make_local(rejoin_grace=GRACE, reconcile_interval=NEVER)
    call, _caller, callee = await start_call(local)
    cid = call["call_id"]
    assert (await local.client.post(f"{CALLS}/{cid}/ringing", bearer=callee)).status == 200
    assert await local.engine.reconcile()
    assert await wait_for_status(local, cid, callee, "ended") >= GRACE / 2


async def test_a_restarted_call_room_asks_for_a_pass(make_local: LocalFactory) -> None:
    # The room of an active call started again on a restarted livekit-server: only the caller
    # came back.
    local = await make_local(rejoin_grace=GRACE, reconcile_interval=NEVER)
    call, caller, callee = await start_call(local)
    cid = call["call_id"]
    lk = f"{APP_ID}__{call['room_name']}"
    started = {"event": "room_started", "room": {"name": lk}}
    assert await post_webhook(local, started) == 200  # a new room: no pass
    await asyncio.sleep(GRACE + 1.2)
    assert await call_status(local, cid, caller) == "initiating"
    await local.client.post(f"{CALLS}/{cid}/accept", bearer=callee)
    local.bridge.present[(lk, "caller")] = "PA_c"
    assert await post_webhook(local, started) == 200
    assert await wait_for_status(local, cid, caller, "ended") >= GRACE / 2


async def test_livekit_unreachable_releases_nothing(make_local: LocalFactory) -> None:
    local = await make_local(rejoin_grace=GRACE, reconcile_interval=NEVER)
    b = await seat_room(local, "down", "ann")
    local.bridge.unreachable = True
    assert not await local.engine.reconcile()
    # A command whose push fails also wakes the reconciler, whose passes fail too.
    bob = (await local.client.token("bob", "down", "audio_room"))["user_token"]
    taken = await local.client.post(
        "/api/v1/audio-rooms/down/seats/take", {"seat_index": 2}, bearer=bob
    )
    assert taken.status == 200, taken
    await asyncio.sleep(GRACE + 1.5)
    assert (await away(local, "down")) == {}
    now = await seated(local, "down", b["host"])
    assert (now[1], now[2]) == ("ann", "bob")

    # LiveKit is back: the reconciler, retrying on its own, catches up (ann is there, bob is
    # not), although the periodic pass is off.
    local.bridge.unreachable = False
    local.bridge.present[(f"{APP_ID}__down", "ann")] = "PA_ann"
    waited = await wait_until_freed_within(local, "down", b["host"], 2, limit=10)
    assert (await seated(local, "down", b["host"]))[1] == "ann"
    assert waited < 5 + GRACE + 2, waited


async def wait_until_freed_within(
    local: Local, room: str, bearer: str, index: int, *, limit: float
) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (await seated(local, room, bearer))[index] is not None:
        assert loop.time() - started < limit, f"seat {index} was never released"
        await asyncio.sleep(0.1)
    return loop.time() - started


async def test_the_pass_at_start_up_catches_departures_while_the_engine_was_down(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    db = str(tmp_path / "engine.sqlite3")
    first = await make_local(db_path=db, rejoin_grace=GRACE, reconcile_interval=NEVER)
    b = await seat_room(first, "su", "ann", "bob")
    await first.server.close()
    # ann left while the engine was down; bob is still there.
    second = await make_local(db_path=db, rejoin_grace=GRACE, reconcile_interval=NEVER)
    second.bridge.present[(f"{APP_ID}__su", "bob")] = "PA_bob"
    second.bridge.permissions[(f"{APP_ID}__su", "bob")] = True
    await wait_until_freed(second, "su", b["host"], 1)
    assert (await seated(second, "su", b["host"]))[2] == "bob"


async def test_storage_knows_the_rooms_with_holders(tmp_path: Path) -> None:
    path = tmp_path / "engine.sqlite3"
    storage = SQLiteStorage(path)
    show = RoomRecord(
        app_id="a", room_name="show", type=UTDStreamType.LIVE_STREAM, host_identity="star"
    )
    show.stage = [UTDStageMember("star", None, "host")]
    await storage.save(rooms=[show])
    assert await storage.rooms_with_holders() == []  # the host alone holds nothing
    show.stage.append(UTDStageMember("fan", None, "stage"))
    await storage.save(rooms=[show])
    assert await storage.rooms_with_holders() == [("a", "show")]
    await storage.close()
    # A database written before the index existed (and before migrations were numbered)
    # gets it filled when opened.
    db = sqlite3.connect(path)
    db.execute("DROP TABLE room_holdings")
    db.execute("DROP TABLE schema_migrations")
    db.commit()
    db.close()
    reopened = SQLiteStorage(path)
    assert await reopened.rooms_with_holders() == [("a", "show")]
    show.stage.pop()
    await reopened.save(rooms=[show])
    assert await reopened.rooms_with_holders() == []
    await reopened.close()


async def test_null_bridge_lists_and_removes_participants() -> None:
    bridge = NullBridge()
    assert await bridge.list_participants("r") is None
    bridge.present[("r", "ann")] = "PA_a"
    bridge.present[("other", "bob")] = "PA_b"
    assert await bridge.list_participants("r") == {"ann": ParticipantPresence("PA_a", False)}
    await bridge.remove_participant("r", "ann")
    await bridge.remove_participant("r", "ann")  # absent: not an error
    assert await bridge.list_participants("r") is None
    assert [op for op in bridge.operations if op[0] == "remove"] == [("remove", "r", "ann")] * 2
