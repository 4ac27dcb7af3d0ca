"""How a live stream's stage changes: going on stage, invitations, requests taken back.

Pure changes of a :class:`RoomRecord` (the handlers in :mod:`.stage` run them under the room's
lock); each returns whether it changed the room, so a command that changes nothing keeps the
room's version.
"""

from __future__ import annotations

import time

from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.models import UTDStageInvitation, UTDStageMember, UTDStageRequest

from .errors import ApiError
from .state import RoomRecord

__all__ = [
    "drop_stage_invitation",
    "drop_stage_request",
    "put_on_stage",
    "record_stage_invitation",
    "stage_request_of",
]


def stage_request_of(room: RoomRecord, identity: str) -> UTDStageRequest | None:
    """The pending request to come on stage of ``identity``, or ``None`` (the requests are
    read only when ``identity`` has one)."""
    if not room.has_request(identity):
        return None
    return next((r for r in room.stage_requests if r.identity == identity), None)


def drop_stage_request(room: RoomRecord, identity: str) -> bool:
    """Take away the stage request of ``identity``; True if there was one."""
    if stage_request_of(room, identity) is None:
        return False
    room.stage_requests = [r for r in room.stage_requests if r.identity != identity]
    return True


def drop_stage_invitation(room: RoomRecord, identity: str) -> bool:
    """Take away the open stage invitation of ``identity``; True if there was one."""
    if room.stage_invitation_of(identity) is None:
        return False
    room.stage_invitations = [i for i in room.stage_invitations if i.identity != identity]
    return True


def put_on_stage(room: RoomRecord, identity: str) -> bool:
    """Put ``identity`` on stage (its grant follows with the push), clearing its request and
    invitation; True if anything changed."""
    changed = drop_stage_request(room, identity)
    changed = drop_stage_invitation(room, identity) or changed
    if room.on_stage(identity):
        return changed
    room.stage.append(UTDStageMember(identity, room.name_of(identity), "stage"))
    return True


def record_stage_invitation(
    room: RoomRecord, identity: str, invited_by: str, limit: int
) -> bool:
    """Invite ``identity`` to the stage on behalf of ``invited_by``, waiting for its consent.

    The same invitation again changes nothing (False); one by someone else replaces the older.
    409 ``queue_full`` when the room already holds ``limit`` open invitations (0: no limit).
    """
    held = room.stage_invitation_of(identity)
    if held is not None and held.invited_by == invited_by:
        return False
    others = [i for i in room.stage_invitations if i.identity != identity]
    if limit and len(others) >= limit:
        raise ApiError.conflict(
            f"{room.room_name} already has {limit} open invitations", ErrorCode.QUEUE_FULL
        )
    room.stage_invitations = [*others, UTDStageInvitation(identity, invited_by, time.time())]
    return True
