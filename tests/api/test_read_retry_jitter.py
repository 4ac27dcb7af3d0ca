"""Read retries over real HTTP: two clients refused together by a restarting engine (503)
come back at their own jittered instants, each delay below its doubling ceiling."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import defaultdict

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests._support.api import APP_ID, APP_KEY, room_json
from utd_stream_rx.api import UTDApiClient

REFUSALS = 3  # 503s each client gets before the engine is back
BACKOFF = 0.2
CEILINGS = (0.2, 0.4, 0.8)


async def test_two_clients_retry_at_their_own_jittered_instants(
    caplog: pytest.LogCaptureFixture,
) -> None:
    arrivals: dict[str, list[float]] = defaultdict(list)

    async def restarting(request: web.Request) -> web.Response:
        seen = arrivals[request.headers["Authorization"]]
        seen.append(time.monotonic())
        if len(seen) <= REFUSALS:
            return web.Response(status=503)
        return web.json_response(room_json())

    app = web.Application()
    app.router.add_get("/api/v1/rooms/lobby", restarting)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    clients = {
        seed: UTDApiClient(
            APP_ID, APP_KEY, str(server.make_url("")), user_token=f"bearer-{seed}",
            read_retries=REFUSALS, retry_backoff=BACKOFF,
        )
        for seed in (1, 2)
    }
    for seed, client in clients.items():
        client._transport.retry_random = random.Random(seed)
    caplog.set_level(logging.DEBUG, logger="utd_stream_rx.api")
    try:
        rooms = await asyncio.gather(*(c.rooms.get_room("lobby") for c in clients.values()))
    finally:
        for client in clients.values():
            await client.aclose()
        await server.close()
    assert [room.room_name for room in rooms] == ["lobby", "lobby"]

    schedules = {seed: _draws(seed) for seed in clients}
    for seed, schedule in schedules.items():
        assert all(0 <= d <= c for d, c in zip(schedule, CEILINGS, strict=True))
        # Each retry came no earlier than its drawn delay after the refusal before it.
        times = arrivals[f"Bearer bearer-{seed}"]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert len(gaps) == REFUSALS
        assert all(gap >= delay for gap, delay in zip(gaps, schedule, strict=True))
    # The two clients do not retry in step.
    assert all(a != b for a, b in zip(schedules[1], schedules[2], strict=True))
    logged = sorted(
        float(record.args[2])  # type: ignore[arg-type,index]
        for record in caplog.records
        if record.name == "utd_stream_rx.api" and record.msg.startswith("retrying")
    )
    assert logged == pytest.approx(sorted(schedules[1] + schedules[2]))


def _draws(seed: int) -> list[float]:
    """The delays a client with ``random.Random(seed)`` draws for its retries."""
    rng = random.Random(seed)
    return [rng.uniform(0, ceiling) for ceiling in CEILINGS]
