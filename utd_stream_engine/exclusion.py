"""Who a room turns away: removed participants, banned identities, and everyone once it ended.

Pure rules over a :class:`~.state.RoomRecord`, used by the token mint, the room commands and
``participant_joined``. LiveKit cannot refuse a token it already accepted, so a join is
checked against the token's ``utd.version`` attribute (the room version it was minted at).
"""

from __future__ import annotations

from collections.abc import Mapping

from utd_stream_rx.error_codes import ErrorCode

from .errors import ApiError
from .state import RoomRecord

__all__ = [
    "MAX_BANNED",
    "MAX_REMOVED",
    "ban",
    "check_not_banned_from",
    "check_not_ended",
    "check_open_to",
    "record_removal",
    "reopen",
    "token_version",
    "turned_away",
    "unban",
]

MAX_REMOVED = 512
"""Most removals a room remembers (the oldest forgotten first)."""

MAX_BANNED = 1024
"""Most identities a room may ban at once."""


def check_not_ended(room: RoomRecord) -> None:
    """409 ``room_ended`` while the host's ``end`` holds."""
    if room.ended:
        raise ApiError.conflict(
            f"{room.room_name} was ended by its host; only a host can start it anew",
            ErrorCode.ROOM_ENDED,
        )


def check_not_banned_from(room: RoomRecord, identity: str) -> None:
    """403 ``banned`` for an identity banned from the room."""
    if identity in room.banned:
        raise ApiError(403, ErrorCode.BANNED, f"{identity} is banned from {room.room_name}")


def check_open_to(room: RoomRecord, identity: str) -> None:
    """A room command by ``identity``: 403 ``banned`` if banned from the room, 409
    ``room_ended`` while ended."""
    check_not_banned_from(room, identity)
    check_not_ended(room)


def reopen(room: RoomRecord, *, as_host: bool) -> bool:
    """A token mint into ``room``: 409 ``room_ended`` while ended unless the mint is a host's
    (already admitted as one), which starts the room anew. True when it did."""
    if not room.ended:
        return False
    if not as_host:
        check_not_ended(room)
    room.ended = False
    return True


def record_removal(room: RoomRecord, identity: str) -> None:
    """Remember that ``identity`` was removed at the version the change is about to get
    (every change that records one bumps the version once)."""
    room.removed.pop(identity, None)
    room.removed[identity] = room.version + 1
    while len(room.removed) > MAX_REMOVED:
        del room.removed[next(iter(room.removed))]


def ban(room: RoomRecord, identity: str) -> bool:
    """Ban ``identity`` from the room; False when it already was (409 ``queue_full`` when the
    room bans as many as it may)."""
    if identity in room.banned:
        return False
    if len(room.banned) >= MAX_BANNED:
        raise ApiError.conflict(
            f"{room.room_name} already bans {MAX_BANNED} identities", ErrorCode.QUEUE_FULL
        )
    room.banned.append(identity)
    return True


def unban(room: RoomRecord, identity: str) -> bool:
    """Lift the room ban of ``identity``; False when there was none."""
    if identity not in room.banned:
        return False
    room.banned.remove(identity)
    return True


def token_version(attributes: Mapping[str, str] | None) -> int:
    """The room version a joining participant's token was minted at (its ``utd.version``
    attribute; ``0`` when it has none, which counts as older than any removal)."""
    text = (attributes or {}).get("utd.version", "")
    return int(text) if text.isdecimal() else 0


def turned_away(room: RoomRecord, identity: str, version: int) -> str | None:
    """Why a participant who joined with a token minted at ``version`` must be removed again
    (ended room, room ban, removal after the mint), or ``None`` when they may stay."""
    if room.ended:
        return "the room was ended"
    if identity in room.banned:
        return "banned from the room"
    removed_at = room.removed.get(identity)
    if removed_at is not None and version < removed_at:
        return "removed after their token was minted"
    return None
