"""The SQLite storage leaves no transaction open behind a failed write, even when COMMIT itself
fails, and reports storage faults as :class:`StorageUnavailable`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from utd_stream_engine.errors import StorageUnavailable
from utd_stream_engine.sqlite_storage import SQLiteStorage
from utd_stream_engine.state import RoomRecord
from utd_stream_rx.models import UTDStreamType


def _room(name: str) -> RoomRecord:
    return RoomRecord(app_id="app", room_name=name, type=UTDStreamType.AUDIO_ROOM)


def _fail_commits(db: sqlite3.Connection) -> None:
    """Make every COMMIT that saved a room fail: a deferred foreign key is checked only then."""
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute(
        "CREATE TEMP TABLE child (parent_id INTEGER"
        " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    db.execute(
        "CREATE TEMP TRIGGER orphan AFTER INSERT ON main.rooms"
        " BEGIN INSERT INTO child VALUES (1); END"
    )


async def test_a_failed_commit_is_rolled_back_and_the_next_write_works(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "engine.sqlite3")
    _fail_commits(storage._db)
    with pytest.raises(sqlite3.IntegrityError):  # raised by COMMIT, not by the insert
        await storage.save(rooms=[_room("lost")])
    assert not storage._db.in_transaction
    assert await storage.load_room("app", "lost") is None
    storage._db.execute("DROP TRIGGER orphan")
    await storage.save(rooms=[_room("kept")])
    await storage.set_banned("app", "mallory", True)
    assert await storage.load_room("app", "kept") is not None
    assert await storage.is_banned("app", "mallory")
    await storage.close()


def test_an_unusable_path_is_storage_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StorageUnavailable, match="is a file, not a folder"):
        SQLiteStorage(blocker / "engine.sqlite3")
    with pytest.raises(StorageUnavailable, match="it is a folder"):
        SQLiteStorage(tmp_path)
