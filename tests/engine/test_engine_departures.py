"""Which departures LiveKit reports free a seat or a stage place, and when (in-process engine).

LiveKit reports a participant gone in several situations that are not the user leaving: a
newer connection of the same identity replaced it (``DUPLICATE_IDENTITY``), a late webhook of
a connection that has since come back, or the server shutting down. Only a real departure of
the identity's current connection frees what it held; a participant lost to a server shutdown
or a restarted room keeps it for the rejoin grace.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests._support.engine import APP_ID, Local, LocalFactory, post_webhook
from tests._support.engine_calls import start_call
from tests._support.engine_seats import GRACE, seat_room, seated, wait_until_freed
from tests._support.paths import CALLS


def departure(room: str, identity: str, sid: str, reason: str) -> dict[str, Any]:
    return {
        "event": "participant_left",
        "room": {"name": f"{APP_ID}__{room}"},
        "participant": {"identity": identity, "sid": sid, "disconnectReason": reason},
    }


def arrival(room: str, identity: str, sid: str) -> dict[str, Any]:
    return {
        "event": "participant_joined",
        "room": {"name": f"{APP_ID}__{room}"},
        "participant": {"identity": identity, "sid": sid},
    }


async def test_only_the_current_connection_leaving_frees_its_seat(local: Local) -> None:
    b = await seat_room(local, "cur", "ann", "bob", "cid")
    lk = f"{APP_ID}__cur"

    # Replaced by a newer connection of the same identity (a reload, a second device).
    assert await post_webhook(local, departure("cur", "ann", "PA_old", "DUPLICATE_IDENTITY")) == 200
    # A late report of an old connection while a newer one is in the room.
    local.bridge.present[(lk, "bob")] = "PA_new"
    assert await post_webhook(local, departure("cur", "bob", "PA_old", "CLIENT_INITIATED")) == 200
    assert await seated(local, "cur", b["host"]) == {
        0: None, 1: "ann", 2: "bob", 3: "cid", 4: None, 5: None, 6: None, 7: None,
    }
    grants = [op for op in local.ops("grant") if op[2] in ("ann", "bob")]
    assert all(op[3].can_publish for op in grants), grants  # nothing was revoked

    # The current connection itself leaving, or nobody of that identity left: freed at once.
    assert await post_webhook(local, departure("cur", "bob", "PA_new", "CLIENT_INITIATED")) == 200
    assert await post_webhook(local, departure("cur", "cid", "PA_1", "CLIENT_INITIATED")) == 200
    after = await seated(local, "cur", b["host"])
    assert (after[1], after[2], after[3]) == ("ann", None, None)
    revoked = {op[2] for op in local.ops("grant") if not op[3].can_publish}
    assert revoked == {"bob", "cid"}


async def test_a_server_shutdown_holds_the_seat_for_the_grace(make_local: LocalFactory) -> None:
    local = await make_local(rejoin_grace=GRACE)
    b = await seat_room(local, "gr", "ann", "bob")
    for who in ("ann", "bob"):
        lost = departure("gr", who, "PA_" + who, "SERVER_SHUTDOWN")
        assert await post_webhook(local, lost) == 200
    now = await seated(local, "gr", b["host"])
    assert (now[1], now[2]) == ("ann", "bob")  # held while they reconnect

    # ann is back in time (a new connection joins); bob never comes back.
    assert await post_webhook(local, arrival("gr", "ann", "PA_ann2")) == 200
    waited = await wait_until_freed(local, "gr", b["host"], 2)
    assert waited >= GRACE / 2, waited  # not at once: after the grace
    assert (await seated(local, "gr", b["host"]))[1] == "ann"
    [bob_revoked] = [op for op in local.ops("grant") if op[2] == "bob" and not op[3].can_publish]
    assert bob_revoked[4] == (await local.client.get("/api/v1/rooms/gr", bearer=b["host"])).body[
        "version"
    ]
    await asyncio.sleep(GRACE + 1.2)  # ann's grace is long over: her return cancelled it
    assert (await seated(local, "gr", b["host"]))[1] == "ann"


async def test_a_restarted_room_gives_every_holder_the_grace(make_local: LocalFactory) -> None:
    # livekit-server may die before it reports anyone gone: the room starting again on the
    # new server is what tells the engine that its holders must come back.
    local = await make_local(rejoin_grace=GRACE)
    b = await seat_room(local, "rs", "ann", "bob")
    lk = f"{APP_ID}__rs"
    started = {"event": "room_started", "room": {"name": lk}}
    assert await post_webhook(local, started) == 200
    # ann reconnects, but her participant_joined is not processed before the grace ends (a
    # busy engine): LiveKit's own answer at that moment keeps her seat.
    local.bridge.present[(lk, "ann")] = "PA_ann2"
    await wait_until_freed(local, "rs", b["host"], 2)
    assert (await seated(local, "rs", b["host"]))[1] == "ann"


async def test_an_engine_restart_keeps_the_grace(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    db = str(tmp_path / "engine.sqlite3")
    first = await make_local(db_path=db, rejoin_grace=GRACE)
    b = await seat_room(first, "er", "ann")
    assert await post_webhook(first, departure("er", "ann", "PA_1", "SERVER_SHUTDOWN")) == 200
    await first.server.close()  # stops the engine before ann's grace is over

    second = await make_local(db_path=db, rejoin_grace=GRACE)
    await wait_until_freed(second, "er", b["host"], 1)


async def test_replaced_call_party_keeps_the_call(local: Local) -> None:
    call, caller, callee = await start_call(local)
    await local.client.post(f"{CALLS}/{call['call_id']}/accept", bearer=callee)
    room = call["room_name"]
    assert await post_webhook(local, departure(room, "callee", "PA_1", "DUPLICATE_IDENTITY")) == 200
    local.bridge.present[(f"{APP_ID}__{room}", "caller")] = "PA_2"
    assert await post_webhook(local, departure(room, "caller", "PA_1", "CLIENT_INITIATED")) == 200
    status = (await local.client.get(f"{CALLS}/{call['call_id']}", bearer=caller)).body["status"]
    assert status == "active"
    assert await post_webhook(local, departure(room, "callee", "PA_3", "CLIENT_INITIATED")) == 200
    status = (await local.client.get(f"{CALLS}/{call['call_id']}", bearer=caller)).body["status"]
    assert status == "ended"
