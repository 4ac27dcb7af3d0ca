"""Two engines on one PostgreSQL database are one engine to their clients: a seat race split
over both has one winner, and a call made through one rings, is answered and ends through the
other, with both parties seeing the same changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from tests._support.engine import EngineClient
from tests._support.engine_calls import read_events
from tests._support.paths import CALLS, SEATS
from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.testing.cluster import LocalCluster

pytestmark = pytest.mark.cluster


@pytest.fixture
async def engines(utd_cluster: LocalCluster) -> AsyncIterator[list[EngineClient]]:
    """Checked plain HTTP to each engine directly, then to the load balancer (last)."""
    urls = [*utd_cluster.engine_urls, utd_cluster.base_url]
    clients = [EngineClient(url, utd_cluster.app_id, utd_cluster.app_key) for url in urls]
    yield clients
    for client in clients:
        await client.aclose()


@pytest.mark.slow
async def test_fifty_racers_split_over_both_engines_leave_one_holder(
    engines: list[EngineClient], utd_unique: Callable[[str], str]
) -> None:
    first, second, _ = engines
    room = utd_unique("cluster-race")
    await first.token(utd_unique("host"), room, "audio_room", role="host")
    racers = [utd_unique(f"racer{n:02d}") for n in range(50)]
    # Half race through each engine, each minting its room token where it then races.
    through = [first if n % 2 == 0 else second for n in range(50)]
    pairs = list(zip(through, racers, strict=True))
    tokens = await asyncio.gather(*(engine.token(who, room, "audio_room") for engine, who in pairs))

    answers = await asyncio.gather(
        *(
            engine.post(SEATS.format(room=room) + "/take", {"seat_index": 2},
                        bearer=token["user_token"])
            for engine, token in zip(through, tokens, strict=True)
        )
    )

    winners = [racers[n] for n, answer in enumerate(answers) if answer.status == 200]
    refusals = [answer for answer in answers if answer.status != 200]
    assert len(winners) == 1, [(a.status, a.code) for a in answers]
    assert {(a.status, a.code) for a in refusals} == {(409, ErrorCode.SEAT_TAKEN)}
    assert len(refusals) == 49
    # Both engines tell the same: one holder, the winner.
    for engine in (first, second):
        seats = await engine.get(SEATS.format(room=room), bearer=tokens[0]["user_token"])
        holders = [seat["identity"] for seat in seats.body["seats"]["seats"]]
        assert holders.count(winners[0]) == 1 and holders[2] == winners[0], holders


async def _events(
    engine: EngineClient, base_url: str, bearer: str
) -> aiohttp.ClientResponse:
    """An open ``/calls/events`` stream of ``bearer`` at ``base_url``."""
    headers = {"X-UTD-App-Id": engine.app_id, "X-UTD-App-Key": engine.app_key,
               "Authorization": f"Bearer {bearer}"}
    stream = await engine.session.get(base_url + CALLS + "/events", headers=headers,
                                      timeout=aiohttp.ClientTimeout(total=None, sock_read=30))
    assert stream.status == 200
    return stream


async def test_a_call_made_through_one_engine_rings_is_answered_and_ends_through_the_other(
    engines: list[EngineClient], utd_unique: Callable[[str], str]
) -> None:
    first, second, balancer = engines
    caller_identity, callee_identity = utd_unique("caller"), utd_unique("callee")
    caller = await first.user(caller_identity)
    callee = await second.user(callee_identity)
    # The callee listens on engine B; the caller through the load balancer (unbuffered).
    callee_stream = await _events(second, second.base_url, callee)
    caller_stream = await _events(balancer, balancer.base_url, caller)
    try:
        created = await first.post(
            CALLS, {"callee_identity": callee_identity, "type": "audio_call"}, bearer=caller
        )
        assert created.status == 201, created
        call_id = created.body["call_id"]
        [incoming] = await asyncio.wait_for(read_events(callee_stream, 1), 10)
        assert incoming.call_id == call_id
        ringing = await second.post(f"{CALLS}/{call_id}/ringing", bearer=callee)
        accepted = await second.post(f"{CALLS}/{call_id}/accept", bearer=callee)
        ended = await first.post(f"{CALLS}/{call_id}/end", bearer=caller)
        assert [ringing.status, accepted.status, ended.status] == [200, 200, 200]
        callee_saw = [incoming, *await asyncio.wait_for(read_events(callee_stream, 3), 10)]
        caller_saw = await asyncio.wait_for(read_events(caller_stream, 4), 10)
    finally:
        callee_stream.close()
        caller_stream.close()

    statuses = ["initiating", "ringing", "active", "ended"]
    assert [call.status.value for call in callee_saw] == statuses
    assert [call.status.value for call in caller_saw] == statuses
    assert [c.version for c in callee_saw] == [c.version for c in caller_saw]
    assert [c.version for c in callee_saw] == sorted({c.version for c in callee_saw})
    for engine, bearer in ((first, callee), (second, caller)):
        final = await engine.get(f"{CALLS}/{call_id}", bearer=bearer)
        assert final.body["status"] == "ended" and final.body["version"] == callee_saw[-1].version
