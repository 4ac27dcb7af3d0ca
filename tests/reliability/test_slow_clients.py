"""Slow clients do not take the engine offline: thousands of half-sent requests from one
address are capped and timed out while a real client is still served at once."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests._support.figures import record
from tests._support.raw_engine import RawEngineOf
from utd_stream_engine import EngineConfig, EngineServer
from utd_stream_engine.config import DEMO_APP_ID, DEMO_APP_KEY
from utd_stream_rx.testing import PrivateStackFactory
from utd_stream_rx.testing.livekit_server import free_port

pytestmark = pytest.mark.e2e

SLOW_CLIENTS = 2000
SLOW_ADDRESS = "127.0.0.2"  # loopback answers any 127/8 address: another client machine
HEADER_TIMEOUT = 3.0  # seconds, the engine's --header-timeout here
CAP = 256  # the engine's default --max-connections-per-client
ENGINE_START_FILES = 1024  # the common default soft limit the engine is started with
PROMPT = 2.0  # seconds a real client may wait for an answer


@contextlib.contextmanager
def open_files_soft_limit(soft: int) -> Iterator[None]:
    """This process's soft limit of open files set to ``soft`` for the block."""
    before, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (before, hard))


def open_files_limits(pid: int) -> tuple[int, int]:
    """The soft and hard limits of open files of process ``pid``."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError(f"no open files limit for {pid}")


@attrs.define
class SlowClient:
    """One connection that sends half a request line and headers, and never the rest."""

    opened: float | None = None
    closed_after: float | None = None
    answer: bytes = b""

    @property
    def open(self) -> bool:
        return self.opened is not None and self.closed_after is None

    async def run(self, port: int, connected: asyncio.Semaphore) -> None:
        async with connected:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port, local_addr=(SLOW_ADDRESS, 0)),
                    timeout=10,
                )
            except (OSError, TimeoutError):
                return  # never connected
            self.opened = time.monotonic()
            with contextlib.suppress(OSError):
                writer.write(b"POST /api/v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        with contextlib.suppress(OSError):  # a reset: closed at once
            self.answer = await reader.read()  # until the engine closes
        self.closed_after = time.monotonic() - self.opened
        writer.close()


async def test_slow_clients_are_capped_and_timed_out_while_a_real_client_is_served(
    utd_private_stack: PrivateStackFactory, raw_engine_of: RawEngineOf
) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < SLOW_CLIENTS + 500:
        pytest.skip(f"the hard limit of open files ({hard}) is too low for this test")
    # The engine inherits the soft limit it starts with: the common default of 1,024.
    with open_files_soft_limit(ENGINE_START_FILES):
        stack = utd_private_stack(["--header-timeout", str(HEADER_TIMEOUT)])
    assert stack.engine.pid is not None
    raw = raw_engine_of(stack)
    slow = [SlowClient() for _ in range(SLOW_CLIENTS)]
    with open_files_soft_limit(hard):  # this process holds every slow connection
        connecting = asyncio.Semaphore(100)
        began = time.monotonic()
        tasks = [asyncio.create_task(c.run(stack.engine.port, connecting)) for c in slow]
        try:
            while sum(c.opened is not None for c in slow) < SLOW_CLIENTS:
                if time.monotonic() - began > 30 or all(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.05)
            flooded = time.monotonic() - began
            await asyncio.sleep(0.3)  # the engine's closes reach this side
            held = sum(c.open for c in slow)
            # A real client from another address is served at once.
            started = time.monotonic()
            health = await raw.send("GET", "/healthz", headers={})
            health_took = time.monotonic() - started
            started = time.monotonic()
            minted = await raw.send(
                "POST", "/api/v1/token",
                {"identity": "ann", "room_name": "lobby", "type": "audio_room"},
            )
            mint_took = time.monotonic() - started
            # Every slow connection is closed by the engine once its headers are late.
            await asyncio.wait(tasks, timeout=HEADER_TIMEOUT + 5)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert health.status == 200 and health_took < PROMPT, (health, health_took)
    assert minted.status == 200 and mint_took < PROMPT, (minted, mint_took)
    connected = [c for c in slow if c.opened is not None]
    assert len(connected) == SLOW_CLIENTS
    assert held <= CAP, f"{held} slow connections held open at once (cap {CAP})"
    assert all(c.closed_after is not None for c in connected), "slow connections left open"
    timed_out = [c for c in connected if c.answer.startswith(b"HTTP/1.1 408")]
    refused = [c for c in connected if not c.answer]
    assert len(timed_out) + len(refused) == len(connected)
    closed_after = {id(c): c.closed_after or 0.0 for c in connected}  # none is None (above)
    assert timed_out and all(closed_after[id(c)] >= HEADER_TIMEOUT - 0.3 for c in timed_out)
    assert all(closed_after[id(c)] < 1.0 for c in refused)
    assert len(refused) >= SLOW_CLIENTS - 2 * CAP
    # The engine raised its own limit of open files from the one it was started with.
    soft, engine_hard = open_files_limits(stack.engine.pid)
    assert soft == engine_hard, (soft, engine_hard)
    record(
        "slow clients",
        f"{SLOW_CLIENTS} half-sent requests from {SLOW_ADDRESS} opened in {flooded:.1f}s: "
        f"{len(refused)} closed at once by the cap of {CAP}, {len(timed_out)} answered 408 "
        f"after the {HEADER_TIMEOUT:g}s header timeout; a real client got /healthz in "
        f"{health_took * 1000:.0f} ms and a mint in {mint_took * 1000:.0f} ms; "
        f"engine open files limit {soft} (started with {ENGINE_START_FILES})",
    )


async def test_a_body_that_never_arrives_is_answered_408_and_the_connection_closed() -> None:
    body_timeout = 1.0
    config = EngineConfig(
        port=free_port(),
        db_path=":memory:",
        livekit_url=None,
        dev_mode=True,
        body_timeout=body_timeout,
    )
    async with EngineServer(config):
        reader, writer = await asyncio.open_connection("127.0.0.1", config.port)
        try:
            writer.write(
                b"POST /api/v1/auth/user-token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"X-UTD-App-Id: " + DEMO_APP_ID.encode() + b"\r\n"
                b"X-UTD-App-Key: " + DEMO_APP_KEY.encode() + b"\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                b'{"identity": "sl'  # and nothing more
            )
            began = time.monotonic()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            answered = time.monotonic() - began
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            rest = await asyncio.wait_for(reader.readexactly(length), timeout=5)
        finally:
            writer.close()
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert b"connection: close" in head.lower(), head
    assert b'"request_timeout"' in rest, rest
    assert body_timeout - 0.1 <= answered < body_timeout + 1.5, answered
    record(
        "slow body",
        f"a body that never came: 408 request_timeout after {answered:.2f}s "
        f"(--body-timeout {body_timeout:g}s)",
    )
