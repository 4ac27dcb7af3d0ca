"""Who may come to hold something in a room, and webhooks applied once (in-process engine).

A seat, a request or a place on stage is only worth honouring for someone in the LiveKit room:
nobody reports the departure of an identity that never joined. LiveKit is played by the
recording bridge; ``bridge.present`` is who it says is in a room.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from tests._support.engine import APP_ID, Local, LocalFactory, post_webhook
from tests._support.engine_seats import seated
from tests._support.paths import SEATS

WINDOW = 0.5  # join_window for the tests that wait for it to end


def event(kind: str, room: str, identity: str, sid: str, created_at: int, **more: Any) -> Any:
    """A webhook as livekit-server posts it, with its id and creation time."""
    return {
        "event": kind,
        "id": f"EV_{uuid.uuid4().hex}",
        "createdAt": str(created_at),
        "room": {"name": f"{APP_ID}__{room}"},
        "participant": {"identity": identity, "sid": sid, **more},
    }


async def version(local: Local, room: str, bearer: str) -> int:
    state = (await local.client.get(f"/api/v1/rooms/{room}", bearer=bearer)).body
    number: int = state["version"]
    return number


async def test_an_identity_not_in_the_room_comes_to_hold_nothing(local: Local) -> None:
    host = (await local.client.token("host", "hall", "audio_room", role="host"))["user_token"]
    star = (await local.client.token("star", "gig", "live_stream", role="host"))["user_token"]
    # A bearer alone: no token for the room, never in it.
    ghost = await local.client.user("ghost")
    seats = SEATS.format(room="hall")
    await local.client.post(seats + "/invite", {"identity": "ghost"}, bearer=host)
    before = await version(local, "hall", host)
    for path, body in (
        (seats + "/take", {"seat_index": 1}),
        (seats + "/request", {}),
        (seats + "/invitation/accept", {}),
    ):
        answer = await local.client.post(path, body, bearer=ghost)
        assert (answer.status, answer.code) == (409, "not_in_room"), (path, answer)
    answer = await local.client.post("/api/v1/live/gig/stage/request", bearer=ghost)
    assert (answer.status, answer.code) == (409, "not_in_room"), answer
    assert await version(local, "hall", host) == before
    state = (await local.client.get("/api/v1/rooms/gig", bearer=star)).body
    assert state["stage_requests"] == []

    # LiveKit lists it (its participant_joined has not come): admitted, and kept.
    local.bridge.present[(f"{APP_ID}__hall", "ghost")] = "PA_ghost"
    taken = await local.client.post(seats + "/take", {"seat_index": 1}, bearer=ghost)
    assert taken.status == 200, taken
    assert (await seated(local, "hall", host))[1] == "ghost"
    # Leaving needs no presence: an identity may always give back what it holds.
    del local.bridge.present[(f"{APP_ID}__hall", "ghost")]
    left = await local.client.post(seats + "/leave", bearer=ghost)
    assert left.status == 200 and left.body["seats"]["seats"][1]["identity"] is None


async def test_a_token_alone_holds_a_seat_only_for_the_join_window(
    make_local: LocalFactory,
) -> None:
    local = await make_local(join_window=WINDOW)
    host = (await local.client.token("host", "win", "audio_room", role="host"))["user_token"]
    seats = SEATS.format(room="win")
    bearers = {}
    for index, user in enumerate(("ann", "bob", "cid"), start=1):
        bearers[user] = (await local.client.token(user, "win", "audio_room"))["user_token"]
        taken = await local.client.post(
            seats + "/take", {"seat_index": index}, bearer=bearers[user]
        )
        assert taken.status == 200, taken
    # Bob's participant_joined arrives; cid's is lost, but LiveKit lists cid; ann never comes.
    now = int(time.time())
    assert await post_webhook(local, event("participant_joined", "win", "bob", "PA_b", now)) == 200
    local.bridge.present[(f"{APP_ID}__win", "cid")] = "PA_c"
    before = await version(local, "win", host)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (await seated(local, "win", host))[1] is not None:
        assert loop.time() - started < WINDOW + 3, "ann's seat was never released"
        await asyncio.sleep(0.05)
    assert await seated(local, "win", host) == {
        0: None, 1: None, 2: "bob", 3: "cid", 4: None, 5: None, 6: None, 7: None,
    }
    assert await version(local, "win", host) == before + 1
    # Once the window is over the token alone admits nobody.
    answer = await local.client.post(seats + "/request", bearer=bearers["ann"])
    assert (answer.status, answer.code) == (409, "not_in_room"), answer


async def test_a_replayed_or_late_webhook_changes_nothing(make_local: LocalFactory) -> None:
    local = await make_local(rejoin_grace=WINDOW)
    host = (await local.client.token("host", "rp", "audio_room", role="host"))["user_token"]
    ann = (await local.client.token("ann", "rp", "audio_room"))["user_token"]
    now = int(time.time())
    arrived = event("participant_joined", "rp", "ann", "PA_1", now - 5)
    assert await post_webhook(local, arrived) == 200
    seats = SEATS.format(room="rp")
    assert (await local.client.post(seats + "/take", {"seat_index": 1}, bearer=ann)).status == 200

    # LiveKit shuts down: ann keeps the seat for the grace, unless she comes back.
    lost = event("participant_left", "rp", "ann", "PA_1", now, disconnectReason="SERVER_SHUTDOWN")
    assert await post_webhook(local, lost) == 200
    before = await version(local, "rp", host)
    # Her old arrival, posted again, is not her coming back: the seat is released.
    assert await post_webhook(local, arrived) == 200
    # Neither is a copy of it under a new id (a late retry of an older event).
    assert await post_webhook(local, {**arrived, "id": "EV_other"}) == 200
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (await seated(local, "rp", host))[1] is not None:
        assert loop.time() - started < WINDOW + 3, "the replayed arrival kept ann's seat"
        await asyncio.sleep(0.05)
    assert await version(local, "rp", host) == before + 1

