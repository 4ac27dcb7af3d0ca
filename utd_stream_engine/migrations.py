"""The engine's schema, as numbered migrations that both storages run at start.

Each migration is written once with ``{real}`` for the floating-point type (``REAL`` in SQLite,
``DOUBLE PRECISION`` in PostgreSQL). A database remembers the last one applied in
``schema_migrations``; starting an engine applies those that follow, each in its own
transaction (PostgreSQL: under an advisory lock, so that instances starting together apply it
once). A migration, once released, never changes: a new need is a new migration.
"""

from __future__ import annotations

import attrs

__all__ = ["LATEST", "MIGRATIONS", "Migration", "statements_for"]


@attrs.frozen
class Migration:
    """One step of the schema."""

    version: int
    name: str
    sql: str


_BASE = """
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
    created_at {real} NOT NULL,
    data TEXT NOT NULL,
    updated_at {real} NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_caller ON calls (app_id, caller);
CREATE INDEX IF NOT EXISTS calls_callee ON calls (app_id, callee);
CREATE INDEX IF NOT EXISTS calls_status ON calls (status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- When a room next has holdings of absent participants to release (a row only while it has).
CREATE TABLE IF NOT EXISTS room_releases (
    app_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    due {real} NOT NULL,
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
    created_at {real} NOT NULL,
    received_at {real} NOT NULL
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
CREATE INDEX IF NOT EXISTS calls_caller_updated ON calls (app_id, caller, updated_at);
CREATE INDEX IF NOT EXISTS calls_callee_updated ON calls (app_id, callee, updated_at);
"""

_PRESENCE = """
-- Until when an identity that minted a token for a room counts as on its way in (any
-- instance may serve its next command).
CREATE TABLE IF NOT EXISTS join_windows (
    app_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    identity TEXT NOT NULL,
    until {real} NOT NULL,
    PRIMARY KEY (app_id, room_name, identity)
);
CREATE INDEX IF NOT EXISTS join_windows_until ON join_windows (until);
-- What an identity admitted on trust holds until it joins: checked by whichever instance is
-- alive once the time is up.
CREATE TABLE IF NOT EXISTS trust_holds (
    app_id TEXT NOT NULL,
    room_name TEXT NOT NULL,
    identity TEXT NOT NULL,
    until {real} NOT NULL,
    PRIMARY KEY (app_id, room_name, identity)
);
CREATE INDEX IF NOT EXISTS trust_holds_until ON trust_holds (until);
"""

MIGRATIONS = (
    Migration(1, "rooms, calls, requests, bans, webhooks", _BASE),
    Migration(2, "join windows and trust holds shared by every instance", _PRESENCE),
)
"""Every migration, oldest first."""

LATEST = MIGRATIONS[-1].version
"""The version a database has once the engine started on it."""

_REAL = {"sqlite": "REAL", "postgresql": "DOUBLE PRECISION"}


def statements_for(migration: Migration, dialect: str) -> list[str]:
    """The migration's statements in ``dialect`` (``sqlite`` or ``postgresql``), one each."""
    sql = migration.sql.format(real=_REAL[dialect])
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
