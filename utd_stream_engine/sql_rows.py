"""What a save writes, as SQL both storages run: the rows of rooms, their requests and calls.

Statements use ``?`` placeholders and upserts (``ON CONFLICT``) that SQLite and PostgreSQL
share; the PostgreSQL storage numbers the placeholders (:func:`numbered`).
"""

from __future__ import annotations

import json
import re

from .state import CallRecord, PendingRequests, RoomRecord, dump_record

__all__ = ["SAVE_CALL", "Statement", "call_row", "numbered", "record_json", "save_statements"]

Statement = tuple[str, list[tuple[object, ...]]]
"""One SQL statement and the rows it runs for."""

SAVE_CALL = (
    "INSERT INTO calls (call_id, app_id, caller, callee, status, created_at, data, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO UPDATE SET"
    " status = excluded.status, data = excluded.data, updated_at = excluded.updated_at"
)

_PLACEHOLDER = re.compile(r"\?")


def numbered(sql: str) -> str:
    """``sql`` with PostgreSQL's ``$1, $2, ...`` in place of each ``?``."""
    count = 0

    def next_number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(next_number, sql)


def record_json(record: RoomRecord | CallRecord | PendingRequests) -> str:
    """A record as the compact JSON text both storages keep."""
    return json.dumps(dump_record(record), separators=(",", ":"))


def save_statements(rooms: list[RoomRecord], calls: list[CallRecord]) -> list[Statement]:
    """Every write of one save, in order (requests first: saving them brings each record's
    ``request_count`` up to date); statements without rows are left out."""
    statements = [*_request_statements(rooms), *_room_statements(rooms)]
    statements.append((SAVE_CALL, [call_row(call) for call in calls]))
    return [(sql, rows) for sql, rows in statements if rows]


def _request_statements(rooms: list[RoomRecord]) -> list[Statement]:
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
            saved.append((*key, record_json(pending)))
        else:
            emptied.append(key)
        after = {r.identity for r in pending.stage} | {r.identity for r in pending.speak}
        new_requesters.extend((*key, identity) for identity in sorted(after - before))
        gone_requesters.extend((*key, identity) for identity in sorted(before - after))
    return [
        (
            "INSERT INTO room_requests (app_id, room_name, data) VALUES (?, ?, ?)"
            " ON CONFLICT (app_id, room_name) DO UPDATE SET data = excluded.data",
            saved,
        ),
        ("DELETE FROM room_requests WHERE app_id = ? AND room_name = ?", emptied),
        (
            "INSERT INTO room_requesters (app_id, room_name, identity) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            new_requesters,
        ),
        (
            "DELETE FROM room_requesters WHERE app_id = ? AND room_name = ? AND identity = ?",
            gone_requesters,
        ),
    ]


def _room_statements(rooms: list[RoomRecord]) -> list[Statement]:
    """The writes of the rooms themselves, their release times and whether they hold anyone."""
    keys = [(room.app_id, room.room_name) for room in rooms]
    pairs = list(zip(keys, rooms, strict=True))
    return [
        (
            "INSERT INTO rooms (app_id, room_name, data) VALUES (?, ?, ?)"
            " ON CONFLICT (app_id, room_name) DO UPDATE SET data = excluded.data",
            [(*key, record_json(room)) for key, room in pairs],
        ),
        (
            "INSERT INTO room_releases (app_id, room_name, due) VALUES (?, ?, ?)"
            " ON CONFLICT (app_id, room_name) DO UPDATE SET due = excluded.due",
            [(*k, r.next_release) for k, r in pairs if r.next_release is not None],
        ),
        (
            "DELETE FROM room_releases WHERE app_id = ? AND room_name = ?",
            [k for k, r in pairs if r.next_release is None],
        ),
        (
            "INSERT INTO room_holdings (app_id, room_name) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [k for k, r in pairs if r.holds_anything()],
        ),
        (
            "DELETE FROM room_holdings WHERE app_id = ? AND room_name = ?",
            [k for k, r in pairs if not r.holds_anything()],
        ),
    ]


def call_row(call: CallRecord) -> tuple[object, ...]:
    """The ``calls`` row of a call, in :data:`SAVE_CALL`'s order."""
    return (
        call.call_id,
        call.app_id,
        call.caller_identity,
        call.callee_identity,
        call.status.value,
        call.created_at,
        record_json(call),
        call.updated_at,
    )
