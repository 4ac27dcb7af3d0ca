"""Losing a part of the cluster loses nothing: a killed engine's commands go to the other, its
ring timeout still fires once, and it serves again once restarted; sessions of a killed
LiveKit node come back through the other with their seat and stage place granted again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
import pytest
from livekit import api

from tests._support.engine import EngineClient
from tests._support.paths import CALLS
from tests._support.seats import holder_is
from tests.cluster.conftest import PrivateCluster
from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDCallStatus,
    UTDLiveStreamSession,
    UTDStreamType,
)
from utd_stream_rx.state import ConnectionState
from utd_stream_rx.state.view_specs import CONNECTION_STATE
from utd_stream_rx.testing import ClientsOf, back_in_room
from utd_stream_rx.testing.livekit_server import LiveKitServer

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

RING_TIMEOUT = 6.0


async def _statuses_of(stream: aiohttp.ClientResponse, call_id: str, until: str,
                       linger: float) -> list[str]:
    """The statuses ``call_id`` takes on an open event stream, read until ``until`` and then
    ``linger`` seconds more (so a second ``until`` would be seen)."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    while deadline is None or loop.time() < deadline:
        timeout = 30.0 if deadline is None else max(deadline - loop.time(), 0.01)
        try:
            line = await asyncio.wait_for(stream.content.readline(), timeout)
        except TimeoutError:
            break
        text = line.decode().strip()
        if text.startswith("data:"):
            call = json.loads(text[5:])
            if call["call_id"] == call_id:
                seen.append(call["status"])
                if call["status"] == until and deadline is None:
                    deadline = loop.time() + linger
    return seen


async def test_an_engine_killed_while_a_call_rings_and_seats_are_held_loses_nothing(
    private_cluster: PrivateCluster, utd_clients_of: ClientsOf
) -> None:
    cluster = private_cluster(["--ring-timeout", str(RING_TIMEOUT)])
    make = utd_clients_of(cluster, timeout=3.0)
    host = await make().join_audio_room("host", "den", as_host=True, seat_count=4)
    ann = await make().join_audio_room("ann", "den")
    await host.take_seat(0)
    await ann.take_seat(2)
    await ann.can_publish.wait_for(bool, timeout=10)
    survivor = EngineClient(cluster.engine_urls[1], cluster.app_id, cluster.app_key)
    try:
        # The callee listens on the engine that survives; the caller rings through whichever.
        dave = await survivor.user("dave")
        headers = {"X-UTD-App-Id": cluster.app_id, "X-UTD-App-Key": cluster.app_key,
                   "Authorization": f"Bearer {dave}"}
        async with survivor.session.get(
            survivor.base_url + CALLS + "/events", headers=headers,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=60),
        ) as stream:
            caller = make()
            await caller.authenticate("carol")
            ringing = caller.call_session(UTDStreamType.AUDIO_CALL)
            call = await ringing.start("dave")
            seats_before = await host.get_seats()

            await cluster.engines[0].akill()  # SIGKILL: no shutdown hook runs

            # The next commands go to the other engine, which holds everything.
            assert await host.get_seats() == seats_before
            bob = await make().join_audio_room("bob", "den")
            await bob.take_seat(3)
            await bob.can_publish.wait_for(bool, timeout=10)
            statuses = await _statuses_of(stream, call.call_id, "missed", linger=3.0)
        await ringing.status.wait_for(lambda s: s is UTDCallStatus.MISSED, timeout=10)
        assert statuses.count("missed") == 1, statuses  # the ring timeout fired once

        await cluster.engines[0].astart()  # back on the same port and database: it serves again
        again = EngineClient(cluster.engine_urls[0], cluster.app_id, cluster.app_key)
        try:
            carol = await again.user("carol")
            answer = await again.get(f"{CALLS}/{call.call_id}", bearer=carol)
            assert answer.body["status"] == "missed"
        finally:
            await again.aclose()
        for session in (host, ann, bob):
            await session.seats.wait_for(holder_is(3, "bob"), timeout=10)
        assert [seat.identity for seat in (await host.get_seats()).seats] == [
            "host", None, "ann", "bob"]
    finally:
        await survivor.aclose()


async def _create_room_on(node: LiveKitServer, livekit_room: str) -> None:
    async with api.LiveKitAPI(node.http_url, node.api_key, node.api_secret) as lk:
        await lk.room.create_room(
            api.CreateRoomRequest(name=livekit_room, node_id=node.node_id, empty_timeout=60)
        )


async def _publishers(node: LiveKitServer, livekit_room: str) -> dict[str, bool]:
    async with api.LiveKitAPI(node.http_url, node.api_key, node.api_secret) as lk:
        found = await lk.room.list_participants(api.ListParticipantsRequest(room=livekit_room))
    return {p.identity: p.permission.can_publish for p in found.participants}


def _connection_trail(session: UTDAudioRoomSession | UTDLiveStreamSession) -> list[ConnectionState]:
    """Every connection state ``session`` takes from now on (the current one first)."""
    trail: list[ConnectionState] = []
    session.room.store.view(CONNECTION_STATE).subscribe(trail.append)
    return trail


def _was_lost(trail: list[ConnectionState]) -> bool:
    return any(state is not ConnectionState.CONNECTED for state in trail[1:])


async def _until(check: Callable[[], bool], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "not within the time given"
        await asyncio.sleep(0.1)


async def test_sessions_of_a_killed_livekit_node_come_back_through_the_other(
    private_cluster: PrivateCluster, utd_clients_of: ClientsOf
) -> None:
    cluster = private_cluster()
    lost, kept = cluster.livekit_nodes
    # Both rooms live on the node about to die, whichever node each participant signals to.
    for name in ("hall", "show"):
        await _create_room_on(lost, f"{cluster.app_id}__{name}")
    make = utd_clients_of(cluster, timeout=3.0)
    host = await make().join_audio_room("host", "hall", as_host=True, seat_count=4)
    ann = await make().join_audio_room("ann", "hall")
    await ann.take_seat(2)
    star = await make().join_live_stream("star", "show", as_host=True)
    fan = await make().join_live_stream("fan", "show")
    await star.invite_to_stage("fan", direct=True)
    for session in (ann, fan):
        await session.can_publish.wait_for(bool, timeout=10)
    sessions: list[UTDAudioRoomSession | UTDLiveStreamSession] = [host, ann, star, fan]
    trails = [_connection_trail(session) for session in sessions]

    # The machine of node one goes down: the node, and the engine that used it as its LiveKit.
    await lost.akill()
    await cluster.engines[0].akill()
    await _until(lambda: all(_was_lost(trail) for trail in trails), timeout=30)

    hows = [await back_in_room(session, timeout=60) for session in sessions]
    assert set(hows) <= {"resumed", "rejoined"}
    for session in (host, ann):
        await session.seats.wait_for(holder_is(2, "ann"), timeout=20)
    await ann.can_publish.wait_for(bool, timeout=20)
    await fan.can_publish.wait_for(bool, timeout=20)
    for room, identity in (("hall", "ann"), ("show", "fan")):
        held: dict[str, bool] = {}
        for _ in range(50):
            held = await _publishers(kept, f"{cluster.app_id}__{room}")
            if held.get(identity):
                break
            await asyncio.sleep(0.2)
        assert held.get(identity) is True, (room, held)
