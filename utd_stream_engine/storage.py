"""Where the engine keeps its state: a small protocol and a SQLite implementation.

Each room and each call is saved whole as JSON inside one transaction, so a crash leaves either
the old or the new record, never half of one. Calls are short (a few rows), so running them on
the event loop thread is fine.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from utd_stream_rx.models import UTDCallStatus

from .errors import StorageUnavailable
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

# Errors of the engine's own SQL or data, not of the storage: they stay bugs (500).
_NOT_STORAGE_FAULTS = (
    sqlite3.IntegrityError,
    sqlite3.ProgrammingError,
    sqlite3.DataError,
    sqlite3.NotSupportedError,
)


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    """Turn SQLite's storage faults (full, read-only, I/O error, locked, unopenable, corrupt)
    into :class:`StorageUnavailable`."""
    try:
        yield
    except _NOT_STORAGE_FAULTS:
        raise
    except sqlite3.DatabaseError as exc:
        raise StorageUnavailable(str(exc)) from exc


def _connect(target: str) -> sqlite3.Connection:
    """A connection to ``target``, its folder made if needed; :class:`StorageUnavailable`
    saying why when the path cannot hold a database."""
    if target != ":memory:":
        folder = Path(target).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            blocker = next((p for p in (folder, *folder.parents) if p.exists()), folder)
            if not blocker.is_dir():
                raise StorageUnavailable(f"{blocker} is a file, not a folder") from exc
            raise StorageUnavailable(f"cannot create the folder {folder}: {exc.strerror}") from exc
        if Path(target).is_dir():
            raise StorageUnavailable("it is a folder, not a file")
    try:
        return sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StorageUnavailable(_os_reason(target) or str(exc)) from exc


def _os_reason(target: str) -> str | None:
    """Why the system refuses to open ``target`` for writing (SQLite only says "unable to
    open database file" or "readonly"), or ``None``."""
    if target == ":memory:":
        return None
    try:
        os.close(os.open(target, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        return f"cannot open it for writing: {exc.strerror}"
    return None


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

    def rooms_with_requests(self, made_by: float | None = None) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms with pending stage or speak requests; with
        ``made_by``, only those with one made at or before that time (or at an unknown time)."""
        ...

    def get_meta(self, key: str) -> str | None:
        """An engine setting kept across restarts."""
        ...

    def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` exists; return the stored value."""
        ...

    def claim_webhook(
        self,
        event_id: str,
        livekit_room: str,
        identity: str,
        created_at: float,
        *,
        received_at: float,
        forget_before: float,
    ) -> bool:
        """Record a webhook event as applied; ``False`` (nothing recorded) when it was
        already, or when an event about the same room and participant created later was.
        Events received before ``forget_before`` are forgotten first."""
        ...

    def unclaim_webhook(self, event_id: str) -> None:
        """Forget an event whose application failed (LiveKit's retry may apply it)."""
        ...

    def rejects_when_busy(self, app_id: str, identity: str) -> bool:
        """True when ``identity`` asked the engine to answer calls ``busy`` while it is in
        an active call."""
        ...

    def set_rejects_when_busy(self, app_id: str, identity: str, on: bool) -> None:
        """Keep the identity's ``reject_when_busy`` preference."""
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
-- LiveKit webhook events applied lately: each is applied once, never after a newer one about
-- the same room and participant (identity '' for the room's own events).
CREATE TABLE IF NOT EXISTS webhook_events (
    event_id TEXT PRIMARY KEY,
    livekit_room TEXT NOT NULL,
    identity TEXT NOT NULL,
    created_at REAL NOT NULL,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_events_subject
    ON webhook_events (livekit_room, identity, created_at);
CREATE INDEX IF NOT EXISTS webhook_events_received ON webhook_events (received_at);
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
-- Identities whose calls are answered busy while they are in an active call (a row only
-- while the preference is on).
CREATE TABLE IF NOT EXISTS busy_rejecters (
    app_id TEXT NOT NULL,
    identity TEXT NOT NULL,
    PRIMARY KEY (app_id, identity)
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
        """Open (or create) the database and check that it can be written.

        Raises:
            StorageUnavailable: the folder cannot be made, or the file cannot be opened,
                read or written; the reason says which.
        """
        target = str(path)
        self._lock = threading.Lock()
        self._db = _connect(target)
        try:
            with _storage_errors():
                self._prepare(target)
            with self._writing():
                pass  # a database that cannot be written is refused now, not at the first save
        except StorageUnavailable as exc:
            self._db.close()
            raise StorageUnavailable(_os_reason(target) or exc.reason) from exc
        except BaseException:
            self._db.close()
            raise

    def _prepare(self, target: str) -> None:
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
        with self._writing():
            self._db.execute("ALTER TABLE calls ADD COLUMN updated_at REAL NOT NULL DEFAULT 0")
            rows = self._db.execute("SELECT call_id, data FROM calls").fetchall()
            self._db.executemany(
                "UPDATE calls SET updated_at = ? WHERE call_id = ?",
                [(load_call(json.loads(data)).updated_at, call_id) for call_id, data in rows],
            )

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; SQLite's storage faults become
        :class:`StorageUnavailable`."""
        with self._lock, _storage_errors():
            yield self._db

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one write transaction, under the lock: committed if the
        block completes, rolled back on any failure (COMMIT's own included: a full disk or a
        deferred constraint fails there), so the next write starts clean."""
        with self._reading() as db:
            if db.in_transaction:  # an earlier ROLLBACK failed too: end that one first
                db.execute("ROLLBACK")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise

    def load_room(self, app_id: str, room_name: str) -> RoomRecord | None:
        """The room, or ``None``; its pending requests are read when first used."""
        with self._reading():
            row = self._db.execute(
                "SELECT data FROM rooms WHERE app_id = ? AND room_name = ?", (app_id, room_name)
            ).fetchone()
        if not row:
            return None
        return load_room(json.loads(row[0]), _SQLiteRequests(self, app_id, room_name))

    def load_call(self, call_id: str) -> CallRecord | None:
        """The call, or ``None``."""
        with self._reading():
            row = self._db.execute(
                "SELECT data FROM calls WHERE call_id = ?", (call_id,)
            ).fetchone()
        return load_call(json.loads(row[0])) if row else None

    def save(self, *, rooms: Iterable[RoomRecord] = (), calls: Iterable[CallRecord] = ()) -> None:
        """Write rooms and calls in one transaction."""
        rooms = list(rooms)
        # Requests first: saving them brings each record's ``request_count`` up to date.
        statements = [*_request_statements(rooms), *_room_statements(rooms)]
        statements.append((_SAVE_CALL, [_call_row(call) for call in calls]))
        with self._writing():
            for sql, rows in statements:
                self._db.executemany(sql, rows)

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
        with self._reading():
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
        with self._reading():
            rows = self._db.execute(sql.format(status=status), params).fetchall()
        return [load_call(json.loads(row[0])) for row in rows]

    def calls_with_status(self, statuses: Collection[UTDCallStatus]) -> list[CallRecord]:
        """Every call (any app) in one of ``statuses``."""
        sql = f"SELECT data FROM calls WHERE status IN ({','.join('?' * len(statuses))})"
        with self._reading():
            rows = self._db.execute(sql, [s.value for s in statuses]).fetchall()
        return [load_call(json.loads(row[0])) for row in rows]

    def rooms_due(self, now: float) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms whose :attr:`RoomRecord.next_release` is due."""
        with self._reading():
            rows = self._db.execute(
                "SELECT app_id, room_name FROM room_releases WHERE due <= ?", (now,)
            ).fetchall()
        return [(str(app_id), str(room_name)) for app_id, room_name in rows]

    def is_banned(self, app_id: str, identity: str) -> bool:
        """True while ``identity`` is banned from the app."""
        with self._reading():
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
        with self._writing() as db:
            db.execute(sql, (app_id, identity))

    def room_names(self, app_id: str) -> list[str]:
        """Every room (calls' rooms included) the app has."""
        with self._reading():
            rows = self._db.execute(
                "SELECT room_name FROM rooms WHERE app_id = ? ORDER BY room_name", (app_id,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def rooms_with_holders(self) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms in which :meth:`RoomRecord.holders` is not empty."""
        with self._reading():
            rows = self._db.execute("SELECT app_id, room_name FROM room_holdings").fetchall()
        return [(str(app_id), str(room_name)) for app_id, room_name in rows]

    def rooms_with_requests(self, made_by: float | None = None) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms with pending stage or speak requests; with
        ``made_by``, only those with one made at or before that time (or at an unknown time)."""
        sql = "SELECT app_id, room_name FROM room_requests"
        params: tuple[float, ...] = ()
        if made_by is not None:
            # Read inside SQLite: no room record or request list is loaded into Python.
            sql += _MADE_BY
            params = (made_by, made_by)
        with self._reading():
            rows = self._db.execute(sql, params).fetchall()
        return [(str(app_id), str(room_name)) for app_id, room_name in rows]

    def get_meta(self, key: str) -> str | None:
        """An engine setting kept across restarts."""
        with self._reading():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` exists; return the stored value."""
        with self._writing() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    def claim_webhook(
        self,
        event_id: str,
        livekit_room: str,
        identity: str,
        created_at: float,
        *,
        received_at: float,
        forget_before: float,
    ) -> bool:
        """Record a webhook event as applied; ``False`` (nothing recorded) when it was
        already, or when an event about the same room and participant created later was.
        Events received before ``forget_before`` are forgotten first."""
        with self._writing() as db:
            db.execute(
                "DELETE FROM webhook_events WHERE received_at < ?", (forget_before,)
            )
            seen = db.execute(
                "SELECT 1 FROM webhook_events WHERE event_id = ?", (event_id,)
            ).fetchone()
            newer = db.execute(
                "SELECT 1 FROM webhook_events"
                " WHERE livekit_room = ? AND identity = ? AND created_at > ? LIMIT 1",
                (livekit_room, identity, created_at),
            ).fetchone()
            if seen is not None or newer is not None:
                return False
            db.execute(
                "INSERT INTO webhook_events"
                " (event_id, livekit_room, identity, created_at, received_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (event_id, livekit_room, identity, created_at, received_at),
            )
        return True

    def unclaim_webhook(self, event_id: str) -> None:
        """Forget an event whose application failed (LiveKit's retry may apply it)."""
        with self._writing() as db:
            db.execute("DELETE FROM webhook_events WHERE event_id = ?", (event_id,))

    def rejects_when_busy(self, app_id: str, identity: str) -> bool:
        """True when ``identity`` asked the engine to answer calls ``busy`` while it is in
        an active call."""
        with self._reading():
            row = self._db.execute(
                "SELECT 1 FROM busy_rejecters WHERE app_id = ? AND identity = ?",
                (app_id, identity),
            ).fetchone()
        return row is not None

    def set_rejects_when_busy(self, app_id: str, identity: str, on: bool) -> None:
        """Keep the identity's ``reject_when_busy`` preference."""
        sql = (
            "INSERT OR IGNORE INTO busy_rejecters (app_id, identity) VALUES (?, ?)"
            if on
            else "DELETE FROM busy_rejecters WHERE app_id = ? AND identity = ?"
        )
        with self._writing() as db:
            db.execute(sql, (app_id, identity))

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
        with storage._reading() as db:
            row = db.execute(
                "SELECT data FROM room_requests WHERE app_id = ? AND room_name = ?", self._key
            ).fetchone()
        return load_requests(json.loads(row[0])) if row else PendingRequests()

    def has(self, identity: str) -> bool:
        """True when ``identity`` has a pending request in the room."""
        storage = self._storage
        with storage._reading() as db:
            row = db.execute(
                "SELECT 1 FROM room_requesters WHERE app_id = ? AND room_name = ? AND identity = ?",
                (*self._key, identity),
            ).fetchone()
        return row is not None

# Rooms one of whose requests (of either list of the saved PendingRequests) was made by then.
_MADE_BY = "".join(
    f"{joint} EXISTS (SELECT 1 FROM json_each(data, '$.{kind}')"
    " WHERE COALESCE(json_extract(value, '$.created_at'), 0) <= ?)"
    for joint, kind in ((" WHERE", "stage"), (" OR", "speak"))
)

_Statement = tuple[str, list[tuple[object, ...]]]
"""One SQL statement and the rows it runs for."""

_SAVE_CALL = (
    "INSERT OR REPLACE INTO calls (call_id, app_id, caller, callee, status,"
    " created_at, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _json(record: RoomRecord | CallRecord | PendingRequests) -> str:
    return json.dumps(dump_record(record), separators=(",", ":"))


def _request_statements(rooms: list[RoomRecord]) -> list[_Statement]:
    """The writes of the rooms' changed pending requests and of who has one."""
    saved: list[tuple[object, ...]] = []
    emptied: list[tuple[object, ...]] = []
    new_requesters: list[tuple[object, ...]] = []
    gone_requesters: list[tuple[object, ...]] = []
    for room in rooms:
        changed = room.requests_to_save()
        if changed is None:
            continue
        pending, before = changed
        key = (room.app_id, room.room_name)
        if pending.stage or pending.speak:
            saved.append((*key, _json(pending)))
        else:
            emptied.append(key)
        after = {r.identity for r in pending.stage} | {r.identity for r in pending.speak}
        new_requesters.extend((*key, identity) for identity in after - before)
        gone_requesters.extend((*key, identity) for identity in before - after)
    return [
        ("INSERT OR REPLACE INTO room_requests (app_id, room_name, data) VALUES (?, ?, ?)", saved),
        ("DELETE FROM room_requests WHERE app_id = ? AND room_name = ?", emptied),
        (
            "INSERT OR IGNORE INTO room_requesters (app_id, room_name, identity) VALUES (?, ?, ?)",
            new_requesters,
        ),
        (
            "DELETE FROM room_requesters WHERE app_id = ? AND room_name = ? AND identity = ?",
            gone_requesters,
        ),
    ]


def _room_statements(rooms: list[RoomRecord]) -> list[_Statement]:
    """The writes of the rooms themselves, their release times and whether they hold anyone."""
    keys = [(room.app_id, room.room_name) for room in rooms]
    return [
        (
            "INSERT OR REPLACE INTO rooms (app_id, room_name, data) VALUES (?, ?, ?)",
            [(*key, _json(room)) for key, room in zip(keys, rooms, strict=True)],
        ),
        (
            "INSERT OR REPLACE INTO room_releases (app_id, room_name, due) VALUES (?, ?, ?)",
            [
                (*k, r.next_release)
                for k, r in zip(keys, rooms, strict=True)
                if r.next_release is not None
            ],
        ),
        (
            "DELETE FROM room_releases WHERE app_id = ? AND room_name = ?",
            [k for k, r in zip(keys, rooms, strict=True) if r.next_release is None],
        ),
        (
            "INSERT OR IGNORE INTO room_holdings (app_id, room_name) VALUES (?, ?)",
            [k for k, r in zip(keys, rooms, strict=True) if r.holds_anything()],
        ),
        (
            "DELETE FROM room_holdings WHERE app_id = ? AND room_name = ?",
            [k for k, r in zip(keys, rooms, strict=True) if not r.holds_anything()],
        ),
    ]


def _call_row(call: CallRecord) -> tuple[object, ...]:
    return (
        call.call_id,
        call.app_id,
        call.caller_identity,
        call.callee_identity,
        call.status.value,
        call.created_at,
        _json(call),
        call.updated_at,
    )
