"""Moderation of live streams and audio rooms by their host: remove, ban, unban, end.

Each is a room change like any other (under the room's lock, a new version pushed), whose
effects then disconnect people: the notification goes first so that those it concerns learn
why, then LiveKit removes the participant or deletes the whole room. What LiveKit cannot
refuse (a join with a token minted before) is turned away by ``Engine.participant_joined``
(:mod:`.exclusion`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from utd_stream_rx.models import MAX_END_REASON

from . import exclusion
from .auth import Bearer, check_name
from .common import actor, engine_of, read_body, require_host, room_of
from .core import Effects, forget_participant
from .errors import ApiError
from .state import RoomRecord

__all__ = ["end_room", "routes"]

routes = web.RouteTableDef()
"""Routes of this module."""


@routes.post("/api/v1/rooms/{room}/participants/remove")
async def remove_participant(request: web.Request) -> web.Response:
    """The host removes a participant: what it holds is freed, it is told, LiveKit drops it,
    and a token it minted before cannot bring it back."""
    bearer = await actor(request)
    body = await read_body(request)
    identity = check_name(body.get("identity"), "identity")

    def change(room: RoomRecord, effects: Effects) -> None:
        _check_moderator(room, bearer)
        exclusion.check_not_ended(room)
        _check_target(room, bearer, identity, "removed")
        _send_away(room, effects, identity, "utd.participant.removed")

    return await _answer(request, bearer, change)


@routes.post("/api/v1/rooms/{room}/bans")
async def ban(request: web.Request) -> web.Response:
    """The host bans an identity from the room (idempotent): removed as by ``remove``, and
    refused tokens and commands in the room until unbanned."""
    bearer = await actor(request)
    body = await read_body(request)
    identity = check_name(body.get("identity"), "identity")

    def change(room: RoomRecord, effects: Effects) -> None:
        _check_moderator(room, bearer)
        exclusion.check_not_ended(room)
        _check_target(room, bearer, identity, "banned")
        if not exclusion.ban(room, identity):
            effects.changed = False
            return
        _send_away(room, effects, identity, "utd.participant.banned")

    return await _answer(request, bearer, change)


@routes.delete("/api/v1/rooms/{room}/bans/{identity}")
async def unban(request: web.Request) -> web.Response:
    """The host lifts a room ban (idempotent; also in an ended room)."""
    bearer = await actor(request)
    identity = check_name(request.match_info["identity"], "identity")

    def change(room: RoomRecord, effects: Effects) -> None:
        _check_moderator(room, bearer)
        effects.changed = exclusion.unban(room, identity)

    return await _answer(request, bearer, change)


@routes.post("/api/v1/rooms/{room}/end")
async def end(request: web.Request) -> web.Response:
    """The host ends the room for everyone (ending an ended room changes nothing)."""
    bearer = await actor(request)
    body = await read_body(request)
    reason = _reason(body)

    def change(room: RoomRecord, effects: Effects) -> None:
        _check_moderator(room, bearer)
        if room.ended:
            effects.changed = False
            return
        end_room(room, effects, reason)

    return await _answer(request, bearer, change)


def end_room(room: RoomRecord, effects: Effects, reason: str | None) -> None:
    """Empty the room (seats, stage but the host, requests and invitations; the grid's size,
    mode and locks stay), mark it ended, tell everyone and close it in LiveKit."""
    for identity in sorted(room.holders()):
        forget_participant(room, identity)
    room.away.clear()
    room.ended = True
    effects.notify("utd.room.ended", (), {"reason": reason})
    effects.delete_room = True


def _send_away(room: RoomRecord, effects: Effects, identity: str, topic: str) -> None:
    """Free what ``identity`` holds, remember the removal, tell it on ``topic``, drop it."""
    forget_participant(room, identity)
    room.away.pop(identity, None)
    room.names.pop(identity, None)
    exclusion.record_removal(room, identity)
    effects.notify(topic, (identity,), {"identity": identity})
    effects.removals.append(identity)


def _check_moderator(room: RoomRecord, bearer: Bearer) -> None:
    """403 unless the bearer hosts the room (and is not banned from it); 409 ``conflict`` in
    a call's room."""
    require_host(room, bearer)
    exclusion.check_not_banned_from(room, bearer.identity)
    if room.type.is_call:
        raise ApiError.conflict("a call's room has no moderation; end the call instead")


def _check_target(room: RoomRecord, bearer: Bearer, identity: str, what: str) -> None:
    """409 ``conflict`` for the room's owner and for the host acting."""
    if identity == room.host_identity:
        raise ApiError.conflict(f"the room's owner cannot be {what}")
    if identity == bearer.identity:
        raise ApiError.conflict(f"a host cannot be {what} by itself")


def _reason(body: dict[str, Any]) -> str | None:
    """The optional ``reason``: a string of 1-64 characters (400 ``invalid_request``)."""
    value = body.get("reason")
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_END_REASON:
        raise ApiError.invalid(f"reason must be a string of 1-{MAX_END_REASON} characters")
    return value


async def _answer(
    request: web.Request, bearer: Bearer, change: Callable[[RoomRecord, Effects], None]
) -> web.Response:
    """Apply ``change`` to the request's room; answer the new ``RoomState``."""
    state = await engine_of(request).change_room(bearer.app_id, room_of(request), change)
    return web.json_response(state)
