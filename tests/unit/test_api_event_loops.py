"""One ``UTDApiClient`` used by one ``asyncio.run`` after another, against a small real HTTP
server on loopback: each loop gets its own connection pool, the previous one is closed with
its loop (no "Unclosed ..." warnings), and a caller's session on the wrong loop is refused."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Callable, Iterator

import aiohttp
import pytest
from aiohttp import web

from tests._support.threads import in_a_thread
from utd_stream_rx import UTDStreamException
from utd_stream_rx.api import UTDApiClient


def _call(request: web.Request) -> web.Response:
    return web.json_response({
        "call_id": request.match_info["call_id"], "status": "ringing", "type": "audio_call",
        "room_name": "call-1", "caller_identity": "alice", "callee_identity": "bob",
        "version": 1, "created_at": 1700000000.0,
    })


async def _serve_call(request: web.Request) -> web.Response:
    return _call(request)


@pytest.fixture
def engine_url() -> Iterator[str]:
    """A tiny engine answering ``GET /api/v1/calls/{id}``, on its own thread and loop."""
    started = threading.Event()
    stop: list[Callable[[], object]] = []
    address: list[str] = []

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/api/v1/calls/{call_id}", _serve_call)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        address.append(f"http://127.0.0.1:{port}")
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        stop.append(lambda: loop.call_soon_threadsafe(done.set))
        started.set()
        await done.wait()
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(serve(),))
    thread.start()
    assert started.wait(10)
    yield address[0]
    stop[0]()
    thread.join(10)



def test_one_client_one_asyncio_run_after_another(engine_url: str) -> None:
    api = UTDApiClient("app-1", "pk_app_key_1", engine_url, user_token="bearer-1")

    async def fetch() -> str:
        return (await api.calls.get_call("c-1")).status.value

    async def fetch_and_close() -> str:
        try:
            return await fetch()
        finally:
            await api.aclose()

    def three_runs() -> tuple[list[str], list[str]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            statuses = [asyncio.run(fetch()), asyncio.run(fetch()), asyncio.run(fetch_and_close())]
            gc.collect()
        return statuses, [str(w.message) for w in caught if "nclosed" in str(w.message)]

    statuses, leaks = in_a_thread(three_runs)
    assert statuses == ["ringing"] * 3
    assert leaks == []


def test_a_callers_session_used_from_another_loop_is_refused(engine_url: str) -> None:
    def two_runs() -> UTDStreamException:
        made: list[tuple[aiohttp.ClientSession, UTDApiClient]] = []

        async def first() -> None:
            session = aiohttp.ClientSession()
            api = UTDApiClient("app-1", "pk_app_key_1", engine_url, user_token="b",
                               session=session)
            made.append((session, api))
            await api.calls.get_call("c-1")

        async def second() -> UTDStreamException:
            session, api = made[0]
            try:
                with pytest.raises(UTDStreamException) as refused:
                    await api.calls.get_call("c-1")
                return refused.value
            finally:
                await session.close()

        asyncio.run(first())
        return asyncio.run(second())

    refusal = in_a_thread(two_runs)
    assert refusal.code == "wrong_loop"
