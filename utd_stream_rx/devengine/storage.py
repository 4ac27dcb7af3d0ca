"""Where the engine keeps its state: a small protocol and a SQLite implementation.

Each room and each call is saved whole as JSON inside one transaction, so a crash leaves either
the old or the new record, never half of one. Calls are short (a few rows), so running them on
the event loop thread is fine.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from ..models import UTDCallStatus
from .state import (
    CallRecord,
    PendingRequests,
    RoomRecord,
    dump_record,
    load_call,
    load_requests,
    load_room,
)

__all__ = ["SQLiteStorage", "Storage"]


class Storage(Protocol):
    """Persistence the engine needs; every method is short and synchronous."""

    def load_room(self, app_id: str, room_name: str) -> RoomRecord | None:
        """The room, or ``None``; its pending requests are read when first used."""
        ...

    def load_call(self, call_id: str) -> CallRecord | None:
        """The call, or ``None``."""
        ...

    def save(self, *, rooms: Iterable[RoomRecord] = (), calls: Iterable[CallRecord] = ()) -> None:
        """Write rooms (with their requests, if changed) and calls in one transaction."""
        ...

    def calls_of(
        self, app_id: str, identity: str, statuses: Collection[UTDCallStatus] | None = None
    ) -> list[CallRecord]:
        """Calls where ``identity`` is caller or callee, newest first."""
        ...

    def calls_changed_since(
        self,
        app_id: str,
        identity: str,
        since: float,
        limit: int,
        statuses: Collection[UTDCallStatus] | None = None,
    ) -> list[CallRecord]:
        """Up to ``limit`` calls of ``identity`` whose ``updated_at >= since``, oldest change
        first."""
        ...

    def calls_with_status(self, statuses: Collection[UTDCallStatus]) -> list[CallRecord]:
        """Every call (any app) in one of ``statuses``."""
        ...

    def rooms_due(self, now: float) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms whose :attr:`RoomRecord.next_release` is due."""
        ...

    def is_banned(self, app_id: str, identity: str) -> bool:
        """True while ``identity`` is banned from the app."""
        ...

    def set_banned(self, app_id: str, identity: str, banned: bool) -> None:
        """Ban or unban ``identity``."""
        ...

    def room_names(self, app_id: str) -> list[str]:
        """Every room (calls' rooms included) the app has."""
        ...

    def rooms_with_holders(self) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms in which :meth:`RoomRecord.holders` is not empty."""
        ...

    def get_meta(self, key: str) -> str | None:
        """An engine setting kept across restarts."""
        ...

    def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` exists; return the stored value."""
        ...

    def close(self) -> None:
        """Release the database."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    app_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (app_id, room_name)
);
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    caller TEXT NOT NULL,
    callee TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    data TEXT NOT NULL,
    updated_at REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_caller ON calls (app_id, caller);
CREATE INDEX IF NOT EXISTS calls_callee ON calls (app_id, callee);
CREATE INDEX IF NOT EXISTS calls_status ON calls (status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- When a room next has holdings of absent participants to release (a row only while it has).
CREATE TABLE IF NOT EXISTS room_releases (
    app_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    due REAL NOT NULL,
    PRIMARY KEY (app_id, room_name)
);
CREATE INDEX IF NOT EXISTS room_releases_due ON room_releases (due);
CREATE TABLE IF NOT EXISTS bans (
    app_id TEXT NOT NULL,
    identity TEXT NOT NULL,
    PRIMARY KEY (app_id, identity)
);
-- Rooms in which someone holds something (a row only while RoomRecord.holders() is not empty).
CREATE TABLE IF NOT EXISTS room_holdings (
    app_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    PRIMARY KEY (app_id, room_name)
);
-- A room's pending requests, apart from its record (a row only while it has some), and who
-- made them (so that a change can ask whether someone has one without reading them all).
CREATE TABLE IF NOT EXISTS room_requests (
    app_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (app_id, room_name)
);
CREATE TABLE IF NOT EXISTS room_requesters (
    app_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    identity TEXT NOT NULL,
    PRIMARY KEY (app_id, room_name, identity)
);
"""

# After the columns they cover exist (an older database gains ``updated_at`` first).
_INDEXES = """
CREATE INDEX IF NOT EXISTS calls_caller_updated ON calls (app_id, caller, updated_at);
CREATE INDEX IF NOT EXISTS calls_callee_updated ON calls (app_id, callee, updated_at);
"""


class SQLiteStorage:
    """:class:`Storage` in one SQLite file (or ``":memory:"``)."""

    def __init__(self, path: str | Path) -> None:
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        if target != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        had_holdings = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'room_holdings'"
        ).fetchone()
        self._db.executescript(_SCHEMA)
        if not had_holdings:
            self._fill_holdings()
        self._add_updated_at()
        self._db.executescript(_INDEXES)

    def _fill_holdings(self) -> None:
        # A database written before room_holdings existed: index the rooms it has.
        rooms = [
            load_room(json.loads(row[0])) for row in self._db.execute("SELECT data FROM rooms")
        ]
        self._db.executemany(
            "INSERT OR IGNORE INTO room_holdings (app_id, room_name) VALUES (?, ?)",
            [(r.app_id, r.room_name) for r in rooms if r.holds_anything()],
        )

    def _add_updated_at(self) -> None:
        """Give a database made before ``calls.updated_at`` existed that column, filled from
        each call's saved record."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(calls)")}
        if "updated_at" in columns:
            return
        with self._transaction():
            self._db.execute("ALTER TABLE calls ADD COLUMN updated_at REAL NOT NULL DEFAULT 0")
            rows = self._db.execute("SELECT call_id, data FROM calls").fetchall()
            self._db.executemany(
                "UPDATE calls SET updated_at = ? WHERE call_id = ?",
                [(load_call(json.loads(data)).updated_at, call_id) for call_id, data in rows],
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: committed if the block completes, rolled back if it raises."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def load_room(self, app_id: str, room_name: str) -> RoomRecord | None:
        """The room, or ``None``; its pending requests are read when first used."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM rooms WHERE app_id = ? AND room_name = ?", (app_id, room_name)
            ).fetchone()
        if not row:
            return None
        return load_room(json.loads(row[0]), _SQLiteRequests(self, app_id, room_name))

    def load_call(self, call_id: str) -> CallRecord | None:
        """The call, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM calls WHERE call_id = ?", (call_id,)
            ).fetchone()
        return load_call(json.loads(row[0])) if row else None

    def save(self, *, rooms: Iterable[RoomRecord] = (), calls: Iterable[CallRecord] = ()) -> None:
        """Write rooms and calls in one transaction."""
        rooms = list(rooms)
        # Requests first: saving them brings each record's ``request_count`` up to date.
        request_rows: list[tuple[str, str, str]] = []
        no_request_rows: list[tuple[str, str]] = []
        new_requesters: list[tuple[str, str, str]] = []
        gone_requesters: list[tuple[str, str, str]] = []
        for room in rooms:
            changed = room.requests_to_save()
            if changed is None:
                continue
            pending, before = changed
            key = (room.app_id, room.room_name)
            if pending.stage or pending.speak:
                request_rows.append((*key, json.dumps(dump_record(pending), separators=(",", ":"))))
            else:
                no_request_rows.append(key)
            after = {r.identity for r in pending.stage} | {r.identity for r in pending.speak}
            new_requesters.extend((*key, identity) for identity in after - before)
            gone_requesters.extend((*key, identity) for identity in before - after)
        room_rows = [
            (r.app_id, r.room_name, json.dumps(dump_record(r), separators=(",", ":")))
            for r in rooms
        ]
        call_rows = [
            (
                c.call_id,
                c.app_id,
                c.caller_identity,
                c.callee_identity,
                c.status.value,
                c.created_at,
                json.dumps(dump_record(c), separators=(",", ":")),
                c.updated_at,
            )
            for c in calls
        ]
        releases = [(r.app_id, r.room_name, r.next_release) for r in rooms]
        due_rows = [row for row in releases if row[2] is not None]
        gone_rows = [row[:2] for row in releases if row[2] is None]
        holding = [((r.app_id, r.room_name), r.holds_anything()) for r in rooms]
        held_rows = [key for key, held in holding if held]
        unheld_rows = [key for key, held in holding if not held]
        with self._lock, self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO rooms (app_id, room_name, data) VALUES (?, ?, ?)",
                room_rows,
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO room_releases (app_id, room_name, due)"
                " VALUES (?, ?, ?)",
                due_rows,
            )
            self._db.executemany(
                "DELETE FROM room_releases WHERE app_id = ? AND room_name = ?", gone_rows
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO room_holdings (app_id, room_name) VALUES (?, ?)",
                held_rows,
            )
            self._db.executemany(
                "DELETE FROM room_holdings WHERE app_id = ? AND room_name = ?", unheld_rows
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO room_requests (app_id, room_name, data) VALUES (?, ?, ?)",
                request_rows,
            )
            self._db.executemany(
                "DELETE FROM room_requests WHERE app_id = ? AND room_name = ?", no_request_rows
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO room_requesters (app_id, room_name, identity)"
                " VALUES (?, ?, ?)",
                new_requesters,
            )
            self._db.executemany(
                "DELETE FROM room_requesters WHERE app_id = ? AND room_name = ? AND identity = ?",
                gone_requesters,
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO calls (call_id, app_id, caller, callee, status,"
                " created_at, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                call_rows,
            )

    def calls_of(
        self, app_id: str, identity: str, statuses: Collection[UTDCallStatus] | None = None
    ) -> list[CallRecord]:
        """Calls where ``identity`` is caller or callee, newest first."""
        sql = "SELECT data FROM calls WHERE app_id = ? AND (caller = ? OR callee = ?)"
        params: list[object] = [app_id, identity, identity]
        if statuses is not None:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params.extend(s.value for s in statuses)
        sql += " ORDER BY created_at DESC"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [load_call(json.loads(row[0])) for row in rows]

    def calls_changed_since(
        self,
        app_id: str,
        identity: str,
        since: float,
        limit: int,
        statuses: Collection[UTDCallStatus] | None = None,
    ) -> list[CallRecord]:
        """Up to ``limit`` calls of ``identity`` whose ``updated_at >= since``, oldest change
        first."""
        # Two indexed halves rather than one OR, so each walks its (app, party, time) index.
        sql = (
            "SELECT data, updated_at, call_id FROM calls"
            " WHERE app_id = ? AND caller = ? AND updated_at >= ?{status}"
            " UNION"
            " SELECT data, updated_at, call_id FROM calls"
            " WHERE app_id = ? AND callee = ? AND updated_at >= ?{status}"
            " ORDER BY updated_at, call_id LIMIT ?"
        )
        status = ""
        values: list[object] = []
        if statuses is not None:
            status = f" AND status IN ({','.join('?' * len(statuses))})"
            values = [s.value for s in statuses]
        params: list[object] = [app_id, identity, since, *values, app_id, identity, since, *values]
        params.append(limit)
        with self._lock:
            rows = self._db.execute(sql.format(status=status), params).fetchall()
        return [load_call(json.loads(row[0])) for row in rows]

    def calls_with_status(self, statuses: Collection[UTDCallStatus]) -> list[CallRecord]:
        """Every call (any app) in one of ``statuses``."""
        sql = f"SELECT data FROM calls WHERE status IN ({','.join('?' * len(statuses))})"
        with self._lock:
            rows = self._db.execute(sql, [s.value for s in statuses]).fetchall()
        return [load_call(json.loads(row[0])) for row in rows]

    def rooms_due(self, now: float) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms whose :attr:`RoomRecord.next_release` is due."""
        with self._lock:
            rows = self._db.execute(
                "SELECT app_id, room_name FROM room_releases WHERE due <= ?", (now,)
            ).fetchall()
        return [(str(app_id), str(room_name)) for app_id, room_name in rows]

    def is_banned(self, app_id: str, identity: str) -> bool:
        """True while ``identity`` is banned from the app."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM bans WHERE app_id = ? AND identity = ?", (app_id, identity)
            ).fetchone()
        return row is not None

    def set_banned(self, app_id: str, identity: str, banned: bool) -> None:
        """Ban or unban ``identity``."""
        sql = (
            "INSERT OR IGNORE INTO bans (app_id, identity) VALUES (?, ?)"
            if banned
            else "DELETE FROM bans WHERE app_id = ? AND identity = ?"
        )
        with self._lock:
            self._db.execute(sql, (app_id, identity))

    def room_names(self, app_id: str) -> list[str]:
        """Every room (calls' rooms included) the app has."""
        with self._lock:
            rows = self._db.execute(
                "SELECT room_name FROM rooms WHERE app_id = ? ORDER BY room_name", (app_id,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def rooms_with_holders(self) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms in which :meth:`RoomRecord.holders` is not empty."""
        with self._lock:
            rows = self._db.execute("SELECT app_id, room_name FROM room_holdings").fetchall()
        return [(str(app_id), str(room_name)) for app_id, room_name in rows]

    def get_meta(self, key: str) -> str | None:
        """An engine setting kept across restarts."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` exists; return the stored value."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    def close(self) -> None:
        """Release the database."""
        with self._lock:
            self._db.close()


class _SQLiteRequests:
    """The pending requests of one room in a :class:`SQLiteStorage`."""

    def __init__(self, storage: SQLiteStorage, app_id: str, room_name: str) -> None:
        self._storage = storage
        self._key = (app_id, room_name)

    def load(self) -> PendingRequests:
        """Every pending request of the room."""
        storage = self._storage
        with storage._lock:
            row = storage._db.execute(
                "SELECT data FROM room_requests WHERE app_id = ? AND room_name = ?", self._key
            ).fetchone()
        return load_requests(json.loads(row[0])) if row else PendingRequests()

    def has(self, identity: str) -> bool:
        """True when ``identity`` has a pending request in the room."""
        storage = self._storage
        with storage._lock:
            row = storage._db.execute(
                "SELECT 1 FROM room_requesters WHERE app_id = ? AND room_name = ? AND identity = ?",
                (*self._key, identity),
            ).fetchone()
        return row is not None
