"""The schema's numbered migrations, on both storages: from an empty database, from the
previous version with data in it, and (PostgreSQL) with several instances starting at once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from tests._support.databases import TestDatabases
from utd_stream_engine.migrations import LATEST, MIGRATIONS, statements_for
from utd_stream_engine.postgres_storage import PostgresStorage
from utd_stream_engine.sql_rows import record_json
from utd_stream_engine.sqlite_storage import SQLiteStorage
from utd_stream_engine.state import RoomRecord
from utd_stream_engine.storage import Storage
from utd_stream_rx.models import UTDSeat, UTDStreamType

PREVIOUS = LATEST - 1


def _room() -> RoomRecord:
    room = RoomRecord(app_id="app", room_name="kept", type=UTDStreamType.AUDIO_ROOM)
    room.seats = [UTDSeat(index=0, identity="ann")]
    room.version = 7
    return room


async def _check_current(storage: Storage) -> None:
    """The data of the previous version is there, and what the latest one added works."""
    room = await storage.load_room("app", "kept")
    assert room is not None
    assert (room.version, room.seats[0].identity) == (7, "ann")
    assert await storage.is_banned("app", "mallory")
    await storage.open_join_window("app", "kept", "bob", 2_000.0)
    assert await storage.join_window_end("app", "kept", "bob", 1_000.0) == 2_000.0


def test_migrations_are_numbered_in_order_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


async def test_sqlite_from_empty_reaches_the_latest_version(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "new.sqlite3")
    await storage.close()
    with sqlite3.connect(tmp_path / "new.sqlite3") as db:
        versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
    assert versions == list(range(1, LATEST + 1))


async def test_sqlite_from_the_previous_version_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        for migration in MIGRATIONS[:PREVIOUS]:
            for statement in statements_for(migration, "sqlite"):
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations VALUES (?, ?)", (migration.version, migration.name)
            )
        db.execute("INSERT INTO rooms VALUES (?, ?, ?)", ("app", "kept", record_json(_room())))
        db.execute("INSERT INTO bans VALUES ('app', 'mallory')")
    storage = SQLiteStorage(path)
    try:
        await _check_current(storage)
    finally:
        await storage.close()


@pytest.fixture
def databases(request: pytest.FixtureRequest) -> TestDatabases:
    found: TestDatabases = request.getfixturevalue("test_databases")
    return found


async def _versions(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
    finally:
        await conn.close()


async def test_postgresql_from_empty_with_instances_starting_together(
    databases: TestDatabases,
) -> None:
    url = await databases.empty()
    storages = [PostgresStorage(url, pool_size=2) for _ in range(3)]
    await asyncio.gather(*(storage.open() for storage in storages))
    try:
        assert await _versions(url) == list(range(1, LATEST + 1))
    finally:
        await asyncio.gather(*(storage.close() for storage in storages))


async def test_postgresql_from_the_previous_version_keeps_its_data(
    databases: TestDatabases,
) -> None:
    url = await databases.empty()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        for migration in MIGRATIONS[:PREVIOUS]:
            for statement in statements_for(migration, "postgresql"):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations VALUES ($1, $2)", migration.version, migration.name
            )
        row = ("app", "kept", record_json(_room()))
        await conn.execute("INSERT INTO rooms VALUES ($1, $2, $3)", *row)
        await conn.execute("INSERT INTO bans VALUES ('app', 'mallory')")
    finally:
        await conn.close()
    assert await _versions(url) == list(range(1, PREVIOUS + 1))
    storage = PostgresStorage(url, pool_size=2)
    await storage.open()
    try:
        await _check_current(storage)
        assert await _versions(url) == list(range(1, LATEST + 1))
    finally:
        await storage.close()
