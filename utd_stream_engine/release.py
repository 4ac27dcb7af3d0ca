"""Letting a participant go: what it holds in a room (seat, stage place, requests,
invitations) is freed, as when it leaves, is banned or never joined."""

from __future__ import annotations

import contextlib

from .effects import Effects, RoomChanger
from .errors import ApiError
from .state import RoomRecord

__all__ = ["forget_participant", "release"]


def forget_participant(room: RoomRecord, identity: str) -> bool:
    """Drop the identity's seat, stage place, requests and invitation; True if any."""
    changed = False
    seat = room.seat_of(identity)
    if seat is not None:
        room.free_seat(seat.index)
        changed = True
    if identity != room.host_identity and room.on_stage(identity):
        room.stage = [m for m in room.stage if m.identity != identity]
        changed = True
    if room.has_request(identity):  # reads the requests only when there is one to drop
        room.stage_requests = [r for r in room.stage_requests if r.identity != identity]
        room.speak_requests = [r for r in room.speak_requests if r.identity != identity]
        changed = True
    kept = [i for i in room.invitations if i.identity != identity]
    if len(kept) != len(room.invitations):
        room.invitations = kept
        changed = True
    if room.stage_invitation_of(identity) is not None:
        room.stage_invitations = [i for i in room.stage_invitations if i.identity != identity]
        changed = True
    return changed


async def release(rooms: RoomChanger, app_id: str, room_name: str, identity: str) -> None:
    """Free the seat, stage place, requests and invitations of ``identity`` in the room."""

    def change(room: RoomRecord, effects: Effects) -> None:
        effects.changed = forget_participant(room, identity)
        # A name is only worth keeping while its identity is in the room.
        effects.save_quietly = room.names.pop(identity, None) is not None

    with contextlib.suppress(ApiError):
        await rooms.change_room(app_id, room_name, change)
