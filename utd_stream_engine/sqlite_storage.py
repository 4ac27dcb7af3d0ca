"""The embedded storage: one SQLite file (or ``:memory:``) used by one engine process.

Each room and each call is saved whole as JSON inside one transaction, so a crash leaves either
the old or the new record, never half of one. Statements are short, so they run on the event
loop thread; the room lock is the process's own (:class:`~.locks.RoomLocks`): one instance only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from utd_stream_rx.models import UTDCallStatus

from . import queries as q
from .errors import StorageUnavailable
from .migrations import MIGRATIONS, statements_for
from .sql_rows import save_statements
from .state import CallRecord, PendingRequests, RoomRecord, load_call, load_requests, load_room
from .storage import CallListener, TrustHold, no_lock

__all__ = ["SQLiteStorage"]

log = logging.getLogger(__name__)

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


class SQLiteStorage:
    """:class:`~.storage.Storage` in one SQLite file (or ``":memory:"``)."""

    shared = False

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the database, bring its schema up to date and check that it can
        be written.

        Raises:
            StorageUnavailable: the folder cannot be made, or the file cannot be opened,
                read or written; the reason says which.
        """
        target = str(path)
        self._lock = threading.Lock()
        self._listeners: list[CallListener] = []
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
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        applied = {row[0] for row in self._db.execute("SELECT version FROM schema_migrations")}
        for migration in MIGRATIONS:
            if migration.version in applied:
                continue
            with self._writing() as db:
                # Tables but no version: written before migrations were numbered.
                if migration.version == 1 and (_has_table(db, "rooms") or _has_table(db, "calls")):
                    _upgrade_unversioned(db)
                for statement in statements_for(migration, "sqlite"):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                    (migration.version, migration.name),
                )
            log.info("database schema at version %d (%s)", migration.version, migration.name)

    async def open(self) -> None:
        """Nothing left to do: the file was opened and migrated when made."""

    def room_lock(
        self, app_id: str, room_name: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """No database lock: only this process uses the file."""
        return no_lock()

    def listen_calls(
        self, listener: CallListener, on_gap: Callable[[], None] | None = None
    ) -> None:
        """Deliver every call change saved from now on to ``listener`` (this process makes
        them all: nothing is ever missed, ``on_gap`` is never told)."""
        self._listeners.append(listener)

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

    def _rows(self, sql: str, params: Iterable[object] = ()) -> list[tuple[Any, ...]]:
        with self._reading() as db:
            return db.execute(sql, tuple(params)).fetchall()

    def _write(self, sql: str, params: Iterable[object] = ()) -> None:
        with self._writing() as db:
            db.execute(sql, tuple(params))

    async def load_room(self, app_id: str, room_name: str) -> RoomRecord | None:
        """The room, or ``None``; its pending requests are read when first used."""
        rows = self._rows(
            "SELECT data FROM rooms WHERE app_id = ? AND room_name = ?", (app_id, room_name)
        )
        if not rows:
            return None
        return load_room(json.loads(rows[0][0]), _SQLiteRequests(self, app_id, room_name))

    async def load_call(self, call_id: str) -> CallRecord | None:
        """The call, or ``None``."""
        rows = self._rows("SELECT data FROM calls WHERE call_id = ?", (call_id,))
        return load_call(json.loads(rows[0][0])) if rows else None

    async def save(
        self,
        *,
        rooms: Iterable[RoomRecord] = (),
        calls: Iterable[CallRecord] = (),
        holds: Iterable[TrustHold] = (),
    ) -> None:
        """Write rooms, calls and trust holds in one transaction; then announce the calls."""
        calls = list(calls)
        statements = save_statements(list(rooms), calls)
        held = [(h.app_id, h.room_name, h.identity, h.until) for h in holds]
        with self._writing() as db:
            for sql, rows in statements:
                db.executemany(sql, rows)
            db.executemany(_SAVE_HOLD, held)
        for call in calls:
            for listener in self._listeners:
                listener(call)

    async def calls_of(
        self, app_id: str, identity: str, statuses: Collection[UTDCallStatus] | None = None
    ) -> list[CallRecord]:
        """Calls where ``identity`` is caller or callee, newest first."""
        sql = "SELECT data FROM calls WHERE app_id = ? AND (caller = ? OR callee = ?)"
        params: list[object] = [app_id, identity, identity]
        if statuses is not None:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params.extend(s.value for s in statuses)
        sql += " ORDER BY created_at DESC"
        return [load_call(json.loads(row[0])) for row in self._rows(sql, params)]

    async def calls_changed_since(
        self,
        app_id: str,
        identity: str,
        since: float,
        limit: int,
        statuses: Collection[UTDCallStatus] | None = None,
    ) -> list[CallRecord]:
        """Up to ``limit`` calls of ``identity`` whose ``updated_at >= since``, oldest change
        first."""
        status = ""
        values: list[object] = []
        if statuses is not None:
            status = f" AND status IN ({','.join('?' * len(statuses))})"
            values = [s.value for s in statuses]
        params: list[object] = [app_id, identity, since, *values, app_id, identity, since, *values]
        params.append(limit)
        rows = self._rows(q.CHANGED_SINCE.format(status=status), params)
        return [load_call(json.loads(row[0])) for row in rows]

    async def calls_with_status(self, statuses: Collection[UTDCallStatus]) -> list[CallRecord]:
        """Every call (any app) in one of ``statuses``."""
        sql = f"SELECT data FROM calls WHERE status IN ({','.join('?' * len(statuses))})"
        return [load_call(json.loads(r[0])) for r in self._rows(sql, [s.value for s in statuses])]

    async def rooms_due(self, now: float) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms whose :attr:`RoomRecord.next_release` is due."""
        rows = self._rows("SELECT app_id, room_name FROM room_releases WHERE due <= ?", (now,))
        return [(str(app_id), str(room_name)) for app_id, room_name in rows]

    async def is_banned(self, app_id: str, identity: str) -> bool:
        """True while ``identity`` is banned from the app."""
        return bool(
            self._rows("SELECT 1 FROM bans WHERE app_id = ? AND identity = ?", (app_id, identity))
        )

    async def set_banned(self, app_id: str, identity: str, banned: bool) -> None:
        """Ban or unban ``identity``."""
        self._write(q.BAN if banned else q.UNBAN, (app_id, identity))

    async def room_names(self, app_id: str) -> list[str]:
        """Every room (calls' rooms included) the app has."""
        rows = self._rows(
            "SELECT room_name FROM rooms WHERE app_id = ? ORDER BY room_name", (app_id,)
        )
        return [str(row[0]) for row in rows]

    async def rooms_with_holders(self) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms in which :meth:`RoomRecord.holders` is not empty."""
        rows = self._rows("SELECT app_id, room_name FROM room_holdings")
        return [(str(app_id), str(room_name)) for app_id, room_name in rows]

    async def rooms_with_requests(self, made_by: float | None = None) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms with pending stage or speak requests; with
        ``made_by``, only those with one made at or before that time (or at an unknown time)."""
        sql = "SELECT app_id, room_name FROM room_requests"
        params: tuple[float, ...] = ()
        if made_by is not None:
            # Read inside SQLite: no room record or request list is loaded into Python.
            sql += _MADE_BY
            params = (made_by, made_by)
        return [(str(app_id), str(room_name)) for app_id, room_name in self._rows(sql, params)]

    async def get_meta(self, key: str) -> str | None:
        """An engine setting kept across restarts."""
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` exists; return the stored value."""
        with self._writing() as db:
            db.execute(q.SET_META_IF_ABSENT, (key, value))
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    async def claim_webhook(
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
            db.execute(q.FORGET_WEBHOOKS, (forget_before,))
            seen = db.execute(q.WEBHOOK_SEEN, (event_id,)).fetchone()
            newer = db.execute(q.WEBHOOK_NEWER, (livekit_room, identity, created_at)).fetchone()
            if seen is not None or newer is not None:
                return False
            db.execute(
                q.CLAIM_WEBHOOK, (event_id, livekit_room, identity, created_at, received_at)
            )
        return True

    async def unclaim_webhook(self, event_id: str) -> None:
        """Forget an event whose application failed (LiveKit's retry may apply it)."""
        self._write("DELETE FROM webhook_events WHERE event_id = ?", (event_id,))

    async def rejects_when_busy(self, app_id: str, identity: str) -> bool:
        """True when ``identity`` asked the engine to answer calls ``busy`` while it is in
        an active call."""
        return bool(self._rows(q.IS_BUSY_REJECTER, (app_id, identity)))

    async def set_rejects_when_busy(self, app_id: str, identity: str, on: bool) -> None:
        """Keep the identity's ``reject_when_busy`` preference."""
        self._write(q.ADD_BUSY_REJECTER if on else q.DROP_BUSY_REJECTER, (app_id, identity))

    async def open_join_window(
        self, app_id: str, room_name: str, identity: str, until: float
    ) -> None:
        """``identity`` counts as on its way into the room until ``until``."""
        with self._writing() as db:
            db.execute(q.FORGET_JOIN_WINDOWS, (until - q.JOIN_WINDOW_MEMORY,))
            db.execute(q.OPEN_JOIN_WINDOW, (app_id, room_name, identity, until))

    async def join_window_end(
        self, app_id: str, room_name: str, identity: str, now: float
    ) -> float | None:
        """The end of the identity's join window for the room, if still open at ``now``."""
        rows = self._rows(q.JOIN_WINDOW_END, (app_id, room_name, identity, now))
        return float(rows[0][0]) if rows else None

    async def trust_holds_due(self, now: float) -> list[TrustHold]:
        """Every trust hold whose time is up."""
        rows = self._rows(q.TRUST_HOLDS_DUE, (now,))
        return [TrustHold(str(a), str(r), str(i), float(u)) for a, r, i, u in rows]

    async def drop_trust_hold(self, app_id: str, room_name: str, identity: str) -> None:
        """No trust hold for ``identity`` in the room any more."""
        self._write(q.DROP_TRUST_HOLD, (app_id, room_name, identity))

    async def close(self) -> None:
        """Release the database."""
        self.close_now()

    def close_now(self) -> None:
        """Release the database (from code that runs no event loop)."""
        with self._lock:
            self._db.close()


class _SQLiteRequests:
    """The pending requests of one room in a :class:`SQLiteStorage`."""

    def __init__(self, storage: SQLiteStorage, app_id: str, room_name: str) -> None:
        self._storage = storage
        self._key = (app_id, room_name)

    def load(self) -> PendingRequests:
        """Every pending request of the room."""
        rows = self._storage._rows(
            "SELECT data FROM room_requests WHERE app_id = ? AND room_name = ?", self._key
        )
        return load_requests(json.loads(rows[0][0])) if rows else PendingRequests()

    def has(self, identity: str) -> bool:
        """True when ``identity`` has a pending request in the room."""
        return bool(self._storage._rows(q.HAS_REQUEST, (*self._key, identity)))


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _upgrade_unversioned(db: sqlite3.Connection) -> None:
    """Bring a database written before migrations were numbered to version 1's shape."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
    if columns and "updated_at" not in columns:
        db.execute("ALTER TABLE calls ADD COLUMN updated_at REAL NOT NULL DEFAULT 0")
        rows = db.execute("SELECT call_id, data FROM calls").fetchall()
        db.executemany(
            "UPDATE calls SET updated_at = ? WHERE call_id = ?",
            [(load_call(json.loads(data)).updated_at, call_id) for call_id, data in rows],
        )
    if _has_table(db, "rooms") and not _has_table(db, "room_holdings"):
        db.execute(
            "CREATE TABLE room_holdings (app_id TEXT NOT NULL, room_name TEXT NOT NULL,"
            " PRIMARY KEY (app_id, room_name))"
        )
        rooms = [load_room(json.loads(row[0])) for row in db.execute("SELECT data FROM rooms")]
        db.executemany(
            "INSERT OR IGNORE INTO room_holdings (app_id, room_name) VALUES (?, ?)",
            [(r.app_id, r.room_name) for r in rooms if r.holds_anything()],
        )


# Rooms one of whose requests (of either list of the saved PendingRequests) was made by then.
_MADE_BY = "".join(
    f"{joint} EXISTS (SELECT 1 FROM json_each(data, '$.{kind}')"
    " WHERE COALESCE(json_extract(value, '$.created_at'), 0) <= ?)"
    for joint, kind in ((" WHERE", "stage"), (" OR", "speak"))
)

_SAVE_HOLD = (
    "INSERT INTO trust_holds (app_id, room_name, identity, until) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (app_id, room_name, identity) DO UPDATE"
    " SET until = MIN(trust_holds.until, excluded.until)"
)
