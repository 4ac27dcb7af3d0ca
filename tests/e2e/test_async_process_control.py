"""The test tooling's awaitable process control: an async restart leaves the event loop
running, a child it starts outlives the loop that awaited it, and the plugin's old fixture
names still work for one release, with a warning naming the new ones."""

from __future__ import annotations

import asyncio
import time
import urllib.request

import pytest

from tests._support.loop_ticker import TICK, ticking
from utd_stream_rx.testing import EngineProcess, LiveKitServer, PrivateStackFactory


def _answers(server: LiveKitServer) -> bool:
    with urllib.request.urlopen(server.http_url + "/", timeout=2) as answer:
        return bool(answer.status == 200)


async def test_an_async_restart_keeps_the_loop_ticking() -> None:
    server = LiveKitServer()
    await server.astart()
    try:
        pid = server.pid
        async with ticking() as ticks:
            started = time.monotonic()
            await server.arestart()
            took = time.monotonic() - started
        assert server.running and server.pid != pid
        assert await asyncio.to_thread(_answers, server)
        # A 10 ms ticker on a free loop ticks close to took/10ms times; a blocked one, never.
        assert ticks.count >= (took / TICK) / 3, (ticks, took)
        assert took > 0.2, took  # a real stop and start happened, long enough to tell
    finally:
        await server.acleanup()
    assert not server.running


async def test_a_whole_stack_restarts_while_the_loop_keeps_ticking(
    utd_private_stack: PrivateStackFactory,
) -> None:
    stack = utd_private_stack()
    pids = (stack.engine.pid, stack.livekit.pid)
    async with ticking() as ticks:
        started = time.monotonic()
        await stack.arestart()
        took = time.monotonic() - started
    assert (stack.engine.pid, stack.livekit.pid) != pids
    assert stack.engine.running and stack.livekit.running
    assert ticks.count >= (took / TICK) / 3, (ticks, took)
    await stack.astop()
    assert not stack.engine.running and not stack.livekit.running


def test_a_child_restarted_from_a_short_lived_loop_outlives_it(
    utd_livekit_server: LiveKitServer,
) -> None:
    # A child dies with the thread that started it (PR_SET_PDEATHSIG): a loop's own worker
    # threads end when the loop closes, the tooling's do not. The engine stops at the first
    # SIGTERM (livekit-server may go on draining), so it shows the difference.
    engine = EngineProcess(
        livekit_url=utd_livekit_server.url,
        livekit_api_key=utd_livekit_server.api_key,
        livekit_api_secret=utd_livekit_server.api_secret,
    ).start()
    try:
        asyncio.run(engine.arestart())
        time.sleep(1.0)  # a SIGTERM from the kernel would have landed by now
        assert engine.running
        with urllib.request.urlopen(engine.base_url + "/healthz", timeout=2) as answer:
            assert answer.status == 200
    finally:
        engine.cleanup()


def test_the_old_fixture_names_warn_and_name_the_new_ones(request: pytest.FixtureRequest) -> None:
    renamed = "'livekit_server' is deprecated.*use 'utd_livekit_server'"
    with pytest.warns(DeprecationWarning, match=renamed):
        old_server = request.getfixturevalue("livekit_server")
    assert old_server is request.getfixturevalue("utd_livekit_server")
    with pytest.warns(DeprecationWarning, match="'livekit_api' is deprecated.*'utd_livekit_api'"):
        old_api = request.getfixturevalue("livekit_api")
    assert old_api is request.getfixturevalue("utd_livekit_api")
