"""Statements both storages run as they are (PostgreSQL numbers the ``?`` placeholders)."""

from __future__ import annotations

__all__ = [
    "ADD_BUSY_REJECTER",
    "BAN",
    "CHANGED_SINCE",
    "CLAIM_WEBHOOK",
    "DROP_BUSY_REJECTER",
    "DROP_TRUST_HOLD",
    "FORGET_JOIN_WINDOWS",
    "FORGET_WEBHOOKS",
    "HAS_REQUEST",
    "IS_BUSY_REJECTER",
    "JOIN_WINDOW_END",
    "JOIN_WINDOW_MEMORY",
    "OPEN_JOIN_WINDOW",
    "SET_META_IF_ABSENT",
    "TRUST_HOLDS_DUE",
    "UNBAN",
    "WEBHOOK_NEWER",
    "WEBHOOK_SEEN",
]

CHANGED_SINCE = (
    # Two indexed halves rather than one OR, so each walks its (app, party, time) index.
    "SELECT data, updated_at, call_id FROM calls"
    " WHERE app_id = ? AND caller = ? AND updated_at >= ?{status}"
    " UNION"
    " SELECT data, updated_at, call_id FROM calls"
    " WHERE app_id = ? AND callee = ? AND updated_at >= ?{status}"
    " ORDER BY updated_at, call_id LIMIT ?"
)
BAN = "INSERT INTO bans (app_id, identity) VALUES (?, ?) ON CONFLICT DO NOTHING"
UNBAN = "DELETE FROM bans WHERE app_id = ? AND identity = ?"
SET_META_IF_ABSENT = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING"
FORGET_WEBHOOKS = "DELETE FROM webhook_events WHERE received_at < ?"
WEBHOOK_SEEN = "SELECT 1 FROM webhook_events WHERE event_id = ?"
WEBHOOK_NEWER = (
    "SELECT 1 FROM webhook_events"
    " WHERE livekit_room = ? AND identity = ? AND created_at > ? LIMIT 1"
)
CLAIM_WEBHOOK = (
    "INSERT INTO webhook_events (event_id, livekit_room, identity, created_at, received_at)"
    " VALUES (?, ?, ?, ?, ?)"
)
IS_BUSY_REJECTER = "SELECT 1 FROM busy_rejecters WHERE app_id = ? AND identity = ?"
ADD_BUSY_REJECTER = (
    "INSERT INTO busy_rejecters (app_id, identity) VALUES (?, ?) ON CONFLICT DO NOTHING"
)
DROP_BUSY_REJECTER = "DELETE FROM busy_rejecters WHERE app_id = ? AND identity = ?"
JOIN_WINDOW_MEMORY = 3600.0  # seconds a closed join window is kept before it is forgotten
FORGET_JOIN_WINDOWS = "DELETE FROM join_windows WHERE until < ?"
OPEN_JOIN_WINDOW = (
    "INSERT INTO join_windows (app_id, room_name, identity, until) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (app_id, room_name, identity) DO UPDATE SET until = excluded.until"
)
JOIN_WINDOW_END = (
    "SELECT until FROM join_windows"
    " WHERE app_id = ? AND room_name = ? AND identity = ? AND until > ?"
)
TRUST_HOLDS_DUE = (
    "SELECT app_id, room_name, identity, until FROM trust_holds WHERE until <= ?"
    " ORDER BY app_id, room_name, identity"
)
DROP_TRUST_HOLD = "DELETE FROM trust_holds WHERE app_id = ? AND room_name = ? AND identity = ?"
HAS_REQUEST = (
    "SELECT 1 FROM room_requesters WHERE app_id = ? AND room_name = ? AND identity = ?"
)
