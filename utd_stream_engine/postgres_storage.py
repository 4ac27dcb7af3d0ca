"""The shared storage: PostgreSQL, used by any number of engine instances at once.

- Every change of a room runs under a PostgreSQL advisory lock of that room
  (:meth:`PostgresStorage.room_lock`), held by one pooled connection from the load to the end
  of the push to LiveKit; every save is one transaction. A seat race spread over every
  instance therefore has one winner, and a room's versions only grow. A lock dies with the
  connection of an instance that dies, so a killed instance never leaves a room locked.
- Each saved call change is announced with ``NOTIFY`` inside its transaction: PostgreSQL
  delivers notifications in commit order and only for committed transactions, so every
  instance's listener hears each change once, in order, whoever made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator

import asyncpg

from utd_stream_rx.models import UTDCallStatus

from . import queries as q
from .errors import StorageUnavailable
from .migrations import MIGRATIONS, statements_for
from .postgres_calls import CALLS_CHANNEL, FAULTS, CallChangeListener, notice_of
from .sql_rows import numbered, save_statements
from .state import (
    CallRecord,
    PendingRequests,
    RoomRecord,
    load_call,
    load_requests,
    load_room,
)
from .storage import CallListener, TrustHold, redacted

__all__ = ["PostgresStorage"]

log = logging.getLogger(__name__)

_CONNECT_PATIENCE = 15.0  # seconds a starting instance waits for PostgreSQL to accept it
_MIGRATION_LOCK = 0x7574645F6D696772  # advisory lock key: one instance migrates at a time
_STATEMENT_TIMEOUT = 10.0  # seconds any one statement may take


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    """The server's faults (gone, refusing, restarting) as :class:`StorageUnavailable`."""
    try:
        yield
    except StorageUnavailable:
        raise
    except FAULTS as exc:
        raise StorageUnavailable(f"PostgreSQL: {exc!r}") from exc


def _lock_key(*parts: str) -> int:
    """A signed 64-bit advisory lock key for ``parts``."""
    digest = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _in(column: str, position: int) -> str:
    """``column`` is one of the text array bound at ``$position``."""
    return f" AND {column} = ANY(${position}::text[])"


class PostgresStorage:
    """:class:`~.storage.Storage` on a PostgreSQL database shared by every instance.

    Args:
        url: ``postgresql://user:password@host:port/database``.
        pool_size: Most connections of each of this instance's two pools (one for the room
            locks, one for everything else); one more listens for call changes.
        connect_patience: Seconds :meth:`open` waits for a server that does not answer yet.
    """

    shared = True

    def __init__(
        self, url: str, *, pool_size: int = 10, connect_patience: float = _CONNECT_PATIENCE
    ) -> None:
        self._url = url
        self._connect_patience = connect_patience
        self._pool_size = max(2, pool_size)
        # Room locks wait, and are held through a push to LiveKit, on connections of their own:
        # a change holding a lock can always get the connection it loads and saves with.
        self._pool: asyncpg.Pool | None = None
        self._lock_pool: asyncpg.Pool | None = None
        self._listener = CallChangeListener(url, self.load_call)

    def __repr__(self) -> str:
        return f"PostgresStorage({redacted(self._url)!r})"

    # -- connections ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect (waiting for a server that is starting) and migrate.

        Raises:
            StorageUnavailable: no server answered within ``connect_patience``.
        """
        deadline = time.monotonic() + self._connect_patience
        while True:
            try:
                self._pool = await _create_pool(self._url, self._pool_size, _STATEMENT_TIMEOUT)
                break
            except FAULTS as exc:
                if time.monotonic() > deadline:
                    raise StorageUnavailable(f"cannot connect to PostgreSQL: {exc!r}") from exc
                await asyncio.sleep(0.25)
        # Waiting for a lock is no statement to time out: its holder may be pushing to LiveKit.
        self._lock_pool = await _create_pool(self._url, self._pool_size, None)
        await self._migrate()

    async def _migrate(self) -> None:
        async with self._connection() as conn:
            await _apply_migrations(conn)

    def _pool_for(self, *, locks: bool) -> asyncpg.Pool:
        pool = self._lock_pool if locks else self._pool
        if pool is None:
            raise StorageUnavailable("the storage is not open")
        return pool

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A data connection; the server's faults in the block become 503s."""
        with _storage_errors():
            async with self._pool_for(locks=False).acquire() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def room_lock(self, app_id: str, room_name: str) -> AsyncIterator[None]:
        """Hold the room's advisory lock on a connection of its own until the block ends.

        Returning the connection to the pool resets it, which releases the lock whatever
        happened inside (a cancellation included). What the block raises goes through as it
        is: a LiveKit connection error there is no database fault.
        """
        key = _lock_key("room", app_id, room_name)
        pool = self._pool_for(locks=True)
        with _storage_errors():
            conn = await pool.acquire()
        try:
            with _storage_errors():
                await conn.execute("SELECT pg_advisory_lock($1)", key)
            yield
            with contextlib.suppress(*FAULTS):
                await conn.execute("SELECT pg_advisory_unlock($1)", key)
        finally:
            with contextlib.suppress(*FAULTS):
                await pool.release(conn)

    async def _rows(self, sql: str, *params: object) -> list[asyncpg.Record]:
        async with self._connection() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *params)
        return rows

    async def _write(self, sql: str, *params: object) -> None:
        async with self._connection() as conn:
            await conn.execute(sql, *params)

    # -- call changes ---------------------------------------------------------------------------

    def listen_calls(
        self, listener: CallListener, on_gap: Callable[[], None] | None = None
    ) -> None:
        """Deliver every call change saved from now on, by any instance, to ``listener``;
        ``on_gap`` is told when the listening connection was lost (changes may have been
        missed: clients catch up from the database)."""
        self._listener.add(listener, on_gap)

    # -- records --------------------------------------------------------------------------------

    async def load_room(self, app_id: str, room_name: str) -> RoomRecord | None:
        """The room, its pending requests read in the same query."""
        rows = await self._rows(_LOAD_ROOM, app_id, room_name)
        if not rows:
            return None
        room_data, requests_data = rows[0]
        return load_room(json.loads(room_data), _LoadedRequests(requests_data))

    async def load_call(self, call_id: str) -> CallRecord | None:
        """The call, or ``None``."""
        rows = await self._rows("SELECT data FROM calls WHERE call_id = $1", call_id)
        return load_call(json.loads(rows[0][0])) if rows else None

    async def save(
        self,
        *,
        rooms: Iterable[RoomRecord] = (),
        calls: Iterable[CallRecord] = (),
        holds: Iterable[TrustHold] = (),
    ) -> None:
        """Write rooms, calls and trust holds in one transaction that also announces the
        calls to every instance."""
        calls = list(calls)
        statements = save_statements(list(rooms), calls)
        held = [(h.app_id, h.room_name, h.identity, h.until) for h in holds]
        async with self._connection() as conn, conn.transaction():
            for sql, rows in statements:
                await conn.executemany(numbered(sql), rows)
            if held:
                await conn.executemany(_SAVE_HOLD, held)
            for call in calls:
                await conn.execute("SELECT pg_notify($1, $2)", CALLS_CHANNEL, notice_of(call))

    async def calls_of(
        self, app_id: str, identity: str, statuses: Collection[UTDCallStatus] | None = None
    ) -> list[CallRecord]:
        """Calls where ``identity`` is caller or callee, newest first."""
        sql = "SELECT data FROM calls WHERE app_id = $1 AND (caller = $2 OR callee = $2)"
        params: list[object] = [app_id, identity]
        if statuses is not None:
            sql += _in("status", 3)
            params.append([s.value for s in statuses])
        rows = await self._rows(sql + " ORDER BY created_at DESC", *params)
        return [load_call(json.loads(row[0])) for row in rows]

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
        status = "" if statuses is None else " AND status = ANY(?::text[])"
        values: list[object] = [] if statuses is None else [[s.value for s in statuses]]
        params = [app_id, identity, since, *values, app_id, identity, since, *values, limit]
        rows = await self._rows(numbered(q.CHANGED_SINCE.format(status=status)), *params)
        return [load_call(json.loads(row[0])) for row in rows]

    async def calls_with_status(self, statuses: Collection[UTDCallStatus]) -> list[CallRecord]:
        """Every call (any app) in one of ``statuses``."""
        rows = await self._rows(
            "SELECT data FROM calls WHERE status = ANY($1::text[])", [s.value for s in statuses]
        )
        return [load_call(json.loads(row[0])) for row in rows]

    async def rooms_due(self, now: float) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms whose :attr:`RoomRecord.next_release` is due."""
        rows = await self._rows("SELECT app_id, room_name FROM room_releases WHERE due <= $1", now)
        return [(str(a), str(r)) for a, r in rows]

    async def is_banned(self, app_id: str, identity: str) -> bool:
        """True while ``identity`` is banned from the app."""
        rows = await self._rows(
            "SELECT 1 FROM bans WHERE app_id = $1 AND identity = $2", app_id, identity
        )
        return bool(rows)

    async def set_banned(self, app_id: str, identity: str, banned: bool) -> None:
        """Ban or unban ``identity``."""
        await self._write(numbered(q.BAN if banned else q.UNBAN), app_id, identity)

    async def room_names(self, app_id: str) -> list[str]:
        """Every room (calls' rooms included) the app has."""
        rows = await self._rows(
            "SELECT room_name FROM rooms WHERE app_id = $1 ORDER BY room_name", app_id
        )
        return [str(row[0]) for row in rows]

    async def rooms_with_holders(self) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms in which :meth:`RoomRecord.holders` is not empty."""
        rows = await self._rows("SELECT app_id, room_name FROM room_holdings")
        return [(str(a), str(r)) for a, r in rows]

    async def rooms_with_requests(self, made_by: float | None = None) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms with pending stage or speak requests; with
        ``made_by``, only those with one made at or before that time (or at an unknown time)."""
        if made_by is None:
            rows = await self._rows("SELECT app_id, room_name FROM room_requests")
        else:
            rows = await self._rows(_MADE_BY, made_by)
        return [(str(a), str(r)) for a, r in rows]

    async def get_meta(self, key: str) -> str | None:
        """An engine setting kept across restarts."""
        rows = await self._rows("SELECT value FROM meta WHERE key = $1", key)
        return str(rows[0][0]) if rows else None

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` exists; return the stored value (the same in every
        instance: the first to store wins)."""
        async with self._connection() as conn, conn.transaction():
            await conn.execute(numbered(q.SET_META_IF_ABSENT), key, value)
            stored = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return str(stored)

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
        """Record a webhook event as applied; ``False`` when it was already (by any instance),
        or when an event about the same room and participant created later was."""
        subject = _lock_key("webhook", livekit_room, identity)
        async with self._connection() as conn, conn.transaction():
            # Two instances claiming events about one subject take turns.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", subject)
            await conn.execute(numbered(q.FORGET_WEBHOOKS), forget_before)
            seen = await conn.fetchval(numbered(q.WEBHOOK_SEEN), event_id)
            newer = await conn.fetchval(
                numbered(q.WEBHOOK_NEWER), livekit_room, identity, created_at
            )
            if seen is not None or newer is not None:
                return False
            await conn.execute(
                numbered(q.CLAIM_WEBHOOK), event_id, livekit_room, identity, created_at,
                received_at,
            )
        return True

    async def unclaim_webhook(self, event_id: str) -> None:
        """Forget an event whose application failed (LiveKit's retry may apply it)."""
        await self._write("DELETE FROM webhook_events WHERE event_id = $1", event_id)

    async def rejects_when_busy(self, app_id: str, identity: str) -> bool:
        """True when ``identity`` asked for calls to be answered ``busy`` while in a call."""
        return bool(await self._rows(numbered(q.IS_BUSY_REJECTER), app_id, identity))

    async def set_rejects_when_busy(self, app_id: str, identity: str, on: bool) -> None:
        """Keep the identity's ``reject_when_busy`` preference."""
        sql = q.ADD_BUSY_REJECTER if on else q.DROP_BUSY_REJECTER
        await self._write(numbered(sql), app_id, identity)

    async def open_join_window(
        self, app_id: str, room_name: str, identity: str, until: float
    ) -> None:
        """``identity`` counts as on its way into the room until ``until``."""
        async with self._connection() as conn, conn.transaction():
            await conn.execute(numbered(q.FORGET_JOIN_WINDOWS), until - q.JOIN_WINDOW_MEMORY)
            await conn.execute(numbered(q.OPEN_JOIN_WINDOW), app_id, room_name, identity, until)

    async def join_window_end(
        self, app_id: str, room_name: str, identity: str, now: float
    ) -> float | None:
        """The end of the identity's join window for the room, if still open at ``now``."""
        rows = await self._rows(numbered(q.JOIN_WINDOW_END), app_id, room_name, identity, now)
        return float(rows[0][0]) if rows else None

    async def trust_holds_due(self, now: float) -> list[TrustHold]:
        """Every trust hold whose time is up."""
        rows = await self._rows(numbered(q.TRUST_HOLDS_DUE), now)
        return [TrustHold(str(a), str(r), str(i), float(u)) for a, r, i, u in rows]

    async def drop_trust_hold(self, app_id: str, room_name: str, identity: str) -> None:
        """No trust hold for ``identity`` in the room any more."""
        await self._write(numbered(q.DROP_TRUST_HOLD), app_id, room_name, identity)

    async def close(self) -> None:
        """Stop listening and close every connection."""
        await self._listener.close()
        for pool in (self._pool, self._lock_pool):
            if pool is not None:
                with contextlib.suppress(*FAULTS, TimeoutError):
                    await asyncio.wait_for(pool.close(), 5.0)


class _LoadedRequests:
    """A room's pending requests, read with the room and decoded only when used."""

    def __init__(self, data: str | None) -> None:
        self._data = data
        self._decoded: PendingRequests | None = None

    def load(self) -> PendingRequests:
        """Every pending request of the room."""
        if self._decoded is None:
            self._decoded = (
                load_requests(json.loads(self._data)) if self._data else PendingRequests()
            )
        return self._decoded

    def has(self, identity: str) -> bool:
        """True when ``identity`` has a pending request in the room."""
        pending = self.load()
        return any(r.identity == identity for r in pending.stage) or any(
            r.identity == identity for r in pending.speak
        )


_LOAD_ROOM = (
    "SELECT r.data, q.data FROM rooms r"
    " LEFT JOIN room_requests q ON q.app_id = r.app_id AND q.room_name = r.room_name"
    " WHERE r.app_id = $1 AND r.room_name = $2"
)
_SAVE_HOLD = (
    "INSERT INTO trust_holds (app_id, room_name, identity, until) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (app_id, room_name, identity) DO UPDATE"
    " SET until = LEAST(trust_holds.until, excluded.until)"
)
# Rooms one of whose requests (of either list of the saved PendingRequests) was made by then.
_MADE_BY = "SELECT app_id, room_name FROM room_requests WHERE " + " OR ".join(
    f"EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(data::jsonb -> '{kind}', '[]'))"
    " AS e(value) WHERE COALESCE((e.value ->> 'created_at')::float8, 0) <= $1)"
    for kind in ("stage", "speak")
)


async def _create_pool(url: str, size: int, statement_timeout: float | None) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=1, max_size=size, command_timeout=statement_timeout
    )
    return pool


async def _apply_migrations(conn: asyncpg.Connection) -> None:
    """Apply the migrations the database lacks, one instance at a time."""
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in MIGRATIONS:
            if migration.version in applied:
                continue
            async with conn.transaction():
                for statement in statements_for(migration, "postgresql"):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("schema at version %d (%s)", migration.version, migration.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
