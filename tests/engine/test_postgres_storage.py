"""What the PostgreSQL storage guarantees to the instances sharing it, shown on a real server:
a room lock dies with the connection of an instance that dies, call changes reach every
instance once (large ones too), a lost listener reports the gap and comes back, and a server
that cannot be reached is a clear ``StorageUnavailable``."""

from __future__ import annotations

import asyncio
import time
import urllib.parse

import asyncpg
import pytest

from tests._support.databases import TestDatabases
from utd_stream_engine.errors import StorageUnavailable
from utd_stream_engine.postgres_storage import PostgresStorage
from utd_stream_engine.state import CallRecord
from utd_stream_rx.models import UTDCallStatus, UTDStreamType
from utd_stream_rx.testing.children import free_port


@pytest.fixture
async def url(request: pytest.FixtureRequest) -> str:
    databases: TestDatabases = request.getfixturevalue("test_databases")
    return await databases.fresh()


async def _open(url: str) -> PostgresStorage:
    storage = PostgresStorage(url, pool_size=3)
    await storage.open()
    return storage


def _call(call_id: str, version: int, metadata_size: int = 0) -> CallRecord:
    return CallRecord(
        call_id=call_id, app_id="app", status=UTDCallStatus.RINGING, type=UTDStreamType.AUDIO_CALL,
        room_name=f"call-{call_id}", caller_identity="caller", callee_identity="callee",
        metadata={"blob": "x" * metadata_size} if metadata_size else {}, version=version,
        created_at=time.time(), updated_at=time.time(),
    )


async def _terminate(url: str, query: str) -> int:
    """Terminate the backends ``query`` (selecting pids) finds; how many."""
    conn = await asyncpg.connect(url)
    try:
        pids = [row[0] for row in await conn.fetch(query)]
        for pid in pids:
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
        return len(pids)
    finally:
        await conn.close()


async def test_a_room_lock_is_released_when_its_holder_dies(url: str) -> None:
    first, second = await _open(url), await _open(url)
    try:
        holding = asyncio.Event()
        release = asyncio.Event()

        async def hold() -> None:
            async with first.room_lock("app", "room"):
                holding.set()
                await release.wait()

        holder = asyncio.create_task(hold())
        await holding.wait()
        waiting = asyncio.create_task(_acquire(second))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the other instance waits for the room
        # The holder's process dies: its connection goes, and the lock with it.
        killed = await _terminate(
            url, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
        assert killed == 1
        await asyncio.wait_for(waiting, 5)
        release.set()
        holder.cancel()
        await asyncio.gather(holder, return_exceptions=True)
    finally:
        await first.close()
        await second.close()


async def _acquire(storage: PostgresStorage) -> None:
    async with storage.room_lock("app", "room"):
        pass


async def test_every_instance_hears_each_call_change_once_in_order(url: str) -> None:
    maker, listener = await _open(url), await _open(url)
    heard: list[tuple[str, int]] = []
    all_heard = asyncio.Event()

    def hear(call: CallRecord) -> None:
        heard.append((call.call_id, call.version))
        if len(heard) >= 6:
            all_heard.set()

    listener.listen_calls(hear)
    await asyncio.sleep(0.3)  # the LISTEN connection is up
    try:
        for version in range(5):
            await maker.save(calls=[_call("c1", version)])
        await maker.save(calls=[_call("big", 0, metadata_size=20_000)])  # past NOTIFY's limit
        await asyncio.wait_for(all_heard.wait(), 5)
        await asyncio.sleep(0.2)  # room for a duplicate to show up
        assert heard == [("c1", v) for v in range(5)] + [("big", 0)]
    finally:
        await maker.close()
        await listener.close()


async def test_a_lost_listener_reports_the_gap_and_listens_again(url: str) -> None:
    storage = await _open(url)
    gap = asyncio.Event()
    heard: list[str] = []
    storage.listen_calls(lambda call: heard.append(call.call_id), on_gap=gap.set)
    await asyncio.sleep(0.3)
    try:
        lost = await _terminate(
            url, "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
        )
        assert lost == 1
        await asyncio.wait_for(gap.wait(), 5)
        async with asyncio.timeout(5):
            while "after" not in heard:
                await storage.save(calls=[_call("after", len(heard))])
                await asyncio.sleep(0.2)
    finally:
        await storage.close()


async def test_a_server_out_of_reach_is_storage_unavailable(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    nowhere = urllib.parse.urlunsplit(parts._replace(netloc=f"utd@127.0.0.1:{free_port()}"))
    storage = PostgresStorage(nowhere, connect_patience=0.5)
    with pytest.raises(StorageUnavailable, match="cannot connect to PostgreSQL"):
        await storage.open()
    await storage.close()


async def test_more_rooms_changing_at_once_than_connections_never_deadlock(url: str) -> None:
    storage = PostgresStorage(url, pool_size=2)
    await storage.open()

    async def change(n: int) -> None:
        async with storage.room_lock("app", f"room-{n}"):
            await storage.load_room("app", f"room-{n}")  # needs a connection of its own
            await storage.save(calls=[_call(f"c{n}", 0)])

    try:
        # Four times as many rooms as the pool has connections, each holding its lock.
        await asyncio.wait_for(asyncio.gather(*(change(n) for n in range(8))), 10)
        assert all([await storage.load_call(f"c{n}") for n in range(8)])
    finally:
        await storage.close()


async def test_what_a_locked_change_raises_is_no_database_fault(url: str) -> None:
    storage = await _open(url)
    try:
        # A LiveKit connection error inside a change stays what it is (not a 503 of the
        # database), and the room is free again afterwards.
        with pytest.raises(ConnectionRefusedError):
            async with storage.room_lock("app", "room"):
                raise ConnectionRefusedError("LiveKit is down")
        await asyncio.wait_for(_acquire(storage), 2)
    finally:
        await storage.close()
