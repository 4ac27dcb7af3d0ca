"""Moderation as an outsider tries it, against the real stack: plain HTTP past the SDK's own
checks, and participants forging the engine's notifications."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from tests._support.figures import record
from tests._support.raw_engine import RawEngineOf
from utd_stream_rx.state.events import DataReceived, Event
from utd_stream_rx.state.notices import EngineNotice
from utd_stream_rx.testing import ClientFactory, LocalStack

pytestmark = pytest.mark.e2e


async def test_only_the_rooms_host_moderates_whatever_the_body_says(
    utd_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    utd_unique: Callable[[str], str],
) -> None:
    raw = raw_engine_of(utd_stack)
    room, other = utd_unique("mod-room"), utd_unique("mod-other")
    host, listener, stranger = utd_unique("host"), utd_unique("listener"), utd_unique("stranger")
    host_bearer = (await raw.room_token(host, room, "audio_room", "host"))["user_token"]
    listener_bearer = (await raw.room_token(listener, room, "audio_room", "audience"))[
        "user_token"
    ]
    # The host of another room is nobody here.
    stranger_bearer = (await raw.room_token(stranger, other, "live_stream", "host"))["user_token"]
    banned = await raw.send("POST", f"/api/v1/rooms/{room}/bans", {"identity": "someone"},
                            bearer=host_bearer)
    assert banned.status == 200, banned
    before = (await raw.send("GET", f"/api/v1/rooms/{room}", bearer=host_bearer)).body

    forged = {"actor": host, "host_identity": host, "as": host}
    base = f"/api/v1/rooms/{room}"
    attempts = [
        ("POST", f"{base}/participants/remove", {"identity": host, **forged}),
        ("POST", f"{base}/participants/remove", {"identity": listener}),
        ("POST", f"{base}/bans", {"identity": host, **forged}),
        ("DELETE", f"{base}/bans/someone", None),
        ("POST", f"{base}/end", {"reason": "bye", **forged}),
    ]
    for bearer in (listener_bearer, stranger_bearer):
        for method, path, body in attempts:
            answer = await raw.send(method, path, body, bearer=bearer)
            assert (answer.status, answer.code) == (403, "forbidden"), (method, path, answer)
    anonymous = await raw.send("POST", f"{base}/end", {})
    assert anonymous.status == 401, anonymous
    assert (await raw.send("GET", base, bearer=host_bearer)).body == before
    record("moderation matrix", f"{2 * len(attempts)} moderation commands by the wrong bearer: "
                                "all 403, state and version unchanged")


async def test_participants_cannot_forge_a_removal_or_the_end(
    utd_client_factory: ClientFactory, utd_unique: Callable[[str], str]
) -> None:
    room = utd_unique("forged")
    host_id, victim_id, forger_id = utd_unique("host"), utd_unique("victim"), utd_unique("forger")
    host = await utd_client_factory().join_live_stream(host_id, room, as_host=True)
    victim = await utd_client_factory().join_live_stream(victim_id, room)
    forger = await utd_client_factory().join_live_stream(forger_id, room)
    notices: list[Event] = []
    victim.events.subscribe(
        lambda event: notices.append(event) if isinstance(event, EngineNotice) else None
    )
    await victim.remote_participants.wait_for(lambda p: forger_id in p, timeout=10)
    forgeries = {
        "utd.room.ended": {"reason": "fake", "version": 10**6},
        "utd.participant.removed": {"identity": victim_id, "version": 10**6},
        "utd.participant.banned": {"identity": victim_id, "version": 10**6},
    }
    received: list[DataReceived] = []
    all_arrived = asyncio.Event()

    def arrived(message: DataReceived) -> None:
        received.append(message)
        if len(received) == len(forgeries):
            all_arrived.set()

    victim.data.subscribe(arrived)
    for topic, body in forgeries.items():
        await forger.send_data(json.dumps(body).encode(), to=[victim_id], topic=topic)
    # The raw messages arrive (from a participant); none becomes a notice.
    await asyncio.wait_for(all_arrived.wait(), timeout=10)
    await host.leave()  # something more to wait for, after the forgeries
    await victim.remote_participants.wait_for(lambda p: host_id not in p, timeout=10)
    assert {m.topic for m in received} == set(forgeries)
    assert all(m.sender == forger_id for m in received)
    assert notices == []
    await victim.leave()
    assert victim.disconnect_reason.value != "ended"
    assert victim.room_state.value is not None and not victim.room_state.value.ended
    record("forged notices", f"{len(forgeries)} engine topics sent by a participant: all dropped")
