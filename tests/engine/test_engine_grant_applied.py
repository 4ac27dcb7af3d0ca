"""A command answers once its grants reached LiveKit, says when the caller's own new grant is
confirmed (``grant_applied``), and leaves the rest of its push (metadata, notes) to follow,
still under the room's lock so that LiveKit gets a room's changes in version order."""

from __future__ import annotations

import asyncio
import json

from tests._support.engine import APP_ID, APP_KEY, EngineClient, Local
from tests._support.paths import SEATS, STAGE


def _metadata_versions(local: Local, room: str) -> list[int]:
    lk = f"{APP_ID}__{room}"
    return [json.loads(op[2])["version"] for op in local.ops("metadata") if op[1] == lk]


def _present(local: Local, room: str, *identities: str) -> None:
    for identity in identities:
        local.bridge.present[(f"{APP_ID}__{room}", identity)] = f"PA_{identity}"


async def test_the_caller_s_confirmed_grant_is_in_its_answer_only(local: Local) -> None:
    client = local.client
    host = (await client.token("host", "hall", "audio_room", role="host"))["user_token"]
    ann = (await client.token("ann", "hall", "audio_room"))["user_token"]
    bob = (await client.token("bob", "hall", "audio_room"))["user_token"]
    _present(local, "hall", "host", "ann")  # bob minted but is not in LiveKit's room yet

    taken = await client.post(SEATS.format(room="hall") + "/take", {"seat_index": 1}, bearer=ann)
    assert taken.status == 200 and taken.body["grant_applied"] is True, taken
    assert local.ops("grant")[-1][2] == "ann"
    # Nobody else's answer says it, nor the metadata: the word is the caller's alone.
    assert all("grant_applied" not in json.loads(op[2]) for op in local.ops("metadata"))
    absent = await client.post(SEATS.format(room="hall") + "/take", {"seat_index": 2}, bearer=bob)
    assert absent.status == 200 and "grant_applied" not in absent.body, absent
    kicked = await client.post(SEATS.format(room="hall") + "/1/kick", {}, bearer=host)
    assert kicked.status == 200 and "grant_applied" not in kicked.body, kicked
    locked = await client.post(SEATS.format(room="hall") + "/3/lock", {"locked": True}, bearer=host)
    assert locked.status == 200 and "grant_applied" not in locked.body, locked


async def test_a_stage_place_taken_by_the_caller_says_it_too(local: Local) -> None:
    client = local.client
    star = (await client.token("star", "gig", "live_stream", role="host"))["user_token"]
    fan = (await client.token("fan", "gig", "live_stream"))["user_token"]
    _present(local, "gig", "star", "fan")
    invited = await client.post(
        STAGE.format(room="gig") + "/invite", {"identity": "fan"}, bearer=star
    )
    assert invited.status == 200 and "grant_applied" not in invited.body, invited
    accepted = await client.post(STAGE.format(room="gig") + "/invitation/accept", bearer=fan)
    assert accepted.status == 200 and accepted.body["grant_applied"] is True, accepted


async def test_the_answer_does_not_wait_for_the_metadata_which_keeps_version_order(
    local: Local,
) -> None:
    client = local.client
    host = (await client.token("host", "slow", "audio_room", role="host"))["user_token"]
    ann = (await client.token("ann", "slow", "audio_room"))["user_token"]
    _present(local, "slow", "host", "ann")
    before = _metadata_versions(local, "slow")
    # A client that does not wait for the engine's remaining work after each answer.
    raw = EngineClient(client.base_url, APP_ID, APP_KEY)
    gate = local.bridge.metadata_gate = asyncio.Event()
    try:
        taken = await raw.post(SEATS.format(room="slow") + "/take", {"seat_index": 0}, bearer=ann)
        assert taken.status == 200 and taken.body["grant_applied"] is True
        # Answered with the grant sent and its metadata still on its way to LiveKit.
        assert local.ops("grant")[-1][2] == "ann"
        assert _metadata_versions(local, "slow") == before
        # The room stays locked until that push is over: the next change waits its turn.
        lock = asyncio.ensure_future(
            raw.post(SEATS.format(room="slow") + "/3/lock", {"locked": True}, bearer=host)
        )
        done, _ = await asyncio.wait([lock], timeout=0.3)
        assert not done
        gate.set()
        locked = await lock
        assert locked.status == 200 and locked.body["version"] == taken.body["version"] + 1
        await local.settle()
        assert _metadata_versions(local, "slow") == [
            *before,
            taken.body["version"],
            locked.body["version"],
        ]
    finally:
        gate.set()
        local.bridge.metadata_gate = None
        await raw.aclose()


async def test_stopping_the_engine_finishes_what_answered_commands_left(local: Local) -> None:
    client = local.client
    ann = (await client.token("ann", "last", "audio_room"))["user_token"]
    _present(local, "last", "ann")
    raw = EngineClient(client.base_url, APP_ID, APP_KEY)
    gate = local.bridge.metadata_gate = asyncio.Event()
    try:
        taken = await raw.post(SEATS.format(room="last") + "/take", {"seat_index": 0}, bearer=ann)
        assert taken.status == 200
        assert len(local.engine.after_answer) == 1
        stopping = asyncio.ensure_future(local.engine.stop())
        await asyncio.sleep(0.1)
        assert not stopping.done()  # it waits for the push still under way
        gate.set()
        await stopping
        assert len(local.engine.after_answer) == 0
        assert taken.body["version"] in _metadata_versions(local, "last")
    finally:
        gate.set()
        local.bridge.metadata_gate = None
        await raw.aclose()


async def test_a_push_that_finds_the_room_closed_forgets_it_and_notifies_nobody(
    local: Local,
) -> None:
    client = local.client
    host = (await client.token("host", "shut", "audio_room", role="host"))["user_token"]
    await client.post(SEATS.format(room="shut") + "/setup", {"seat_mode": "request"}, bearer=host)
    ann = (await client.token("ann", "shut", "audio_room"))["user_token"]
    _present(local, "shut", "host", "ann")
    created = len(local.ops("ensure_room"))
    before = len(local.ops("data"))
    cy = (await client.token("cy", "shut", "audio_room"))["user_token"]
    _present(local, "shut", "cy")
    await client.post(SEATS.format(room="shut") + "/request", bearer=cy)
    notes = len(local.ops("data"))
    assert notes > before  # a request tells the host, while the room is open
    # LiveKit closed the room, and this instance never heard it finish (another one did).
    local.bridge.closed.add(f"{APP_ID}__shut")
    asked = await client.post(SEATS.format(room="shut") + "/request", bearer=ann)
    assert asked.status == 200, asked
    assert len(local.ops("data")) == notes  # nobody to tell in a room that is gone
    # The next mint creates the room again instead of trusting it is open.
    local.bridge.closed.clear()
    await client.token("bob", "shut", "audio_room")
    assert len(local.ops("ensure_room")) == created + 1
    assert created >= 1
    requested = await client.post(SEATS.format(room="shut") + "/request", bearer=ann)
    assert requested.status == 200
