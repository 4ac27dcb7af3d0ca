"""Audio room seats: setup, take, leave, requests (cancel, deny), invitations, lock, mute,
kick."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import attrs
from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.models import (
    UTDSeat,
    UTDSeatInvitation,
    UTDSeatMode,
    UTDSpeakRequest,
    UTDStreamType,
    unstructure,
)

from .auth import Bearer, check_name
from .common import (
    actor,
    answer_change,
    check_room_for_request,
    engine_of,
    opt_int,
    opt_reason,
    opt_str,
    read_body,
    req_bool,
    req_int,
    require_host,
    room_of,
)
from .core import Effects
from .errors import ApiError
from .state import RoomRecord

__all__ = ["routes"]

routes = web.RouteTableDef()
"""Routes of this module."""

_AUDIO = UTDStreamType.AUDIO_ROOM
_BASE = "/api/v1/audio-rooms/{room}/seats"




def _check_index(room: RoomRecord, index: int) -> None:
    if not 0 <= index < len(room.seats):
        raise ApiError(400, ErrorCode.INVALID_SEAT, f"seat {index} does not exist")


# ASCII digits only (str.isdigit() also takes "²" and "٣"), few enough for int() and the grid.
_SEAT_INDEX_RE = re.compile(r"[0-9]{1,3}")
_REQUEST_ID_RE = re.compile(r"[0-9]{1,18}")


def _path_index(request: web.Request) -> int:
    """The ``{index}`` of the path; 400 ``invalid_seat`` unless it is a plain seat number."""
    raw = request.match_info["index"]
    if not _SEAT_INDEX_RE.fullmatch(raw):
        raise ApiError(400, ErrorCode.INVALID_SEAT, "the seat index must be a number (digits 0-9)")
    return int(raw)


def _path_request_id(request: web.Request) -> int | None:
    """The ``{request_id}`` of the path, or ``None`` when it is no plain number (so no
    request of any room)."""
    raw = request.match_info["request_id"]
    return int(raw) if _REQUEST_ID_RE.fullmatch(raw) else None


def _no_request() -> ApiError:
    return ApiError(404, ErrorCode.NO_REQUEST, "no such request in this room")


def _no_invitation(identity: str) -> ApiError:
    return ApiError(404, ErrorCode.NO_INVITATION, f"{identity} has no invitation")


def _seat(room: RoomRecord, index: int, identity: str) -> None:
    """Seat ``identity`` at a free, unlocked seat and clear their request and invitation."""
    seat = room.seats[index]
    if seat.locked:
        raise ApiError.conflict(f"seat {index} is locked", ErrorCode.SEAT_LOCKED)
    if seat.identity is not None:
        raise ApiError.conflict(f"seat {index} is taken", ErrorCode.SEAT_TAKEN)
    room.seats[index] = attrs.evolve(seat, identity=identity, name=room.name_of(identity))
    if room.has_request(identity):  # reads the requests only when there is one to drop
        room.speak_requests = [r for r in room.speak_requests if r.identity != identity]
    room.invitations = [i for i in room.invitations if i.identity != identity]


def _first_free(room: RoomRecord) -> int:
    for seat in room.seats:
        if seat.identity is None and not seat.locked:
            return seat.index
    raise ApiError.conflict("no free seat", ErrorCode.SEAT_TAKEN)


def _remember_name(room: RoomRecord, bearer: Bearer) -> None:
    if bearer.name:
        room.remember_name(bearer.identity, bearer.name)


@routes.get(_BASE)
async def get_seats(request: web.Request) -> web.Response:
    """The seats (the whole ``RoomState``)."""
    bearer = await actor(request)
    return web.json_response(await engine_of(request).room_json(bearer, room_of(request)))


@routes.post(_BASE + "/setup")
async def setup(request: web.Request) -> web.Response:
    """The host sets the seat count and mode; holders of surviving seats stay."""
    bearer = await actor(request)
    body = await read_body(request)
    count = opt_int(body, "seat_count")
    if count is not None and not 1 <= count <= 64:
        raise ApiError.invalid("seat_count must be between 1 and 64")
    mode_name = body.get("seat_mode")
    if mode_name is not None and mode_name not in ("free", "request"):
        raise ApiError.invalid("seat_mode must be free or request")
    mode_id = opt_str(body, "mode_id")

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        if count is not None:
            kept = room.seats[:count]
            room.seats = kept + [UTDSeat(index=i) for i in range(len(kept), count)]
            room.invitations = [
                i for i in room.invitations if i.seat_index is None or i.seat_index < count
            ]
            room.speak_requests = [
                attrs.evolve(r, seat_index=None)
                if r.seat_index is not None and r.seat_index >= count
                else r
                for r in room.speak_requests
            ]
        if mode_name is not None:
            room.seat_mode = UTDSeatMode(mode_name)
        if "mode_id" in body:
            room.mode_id = mode_id

    return await answer_change(request, bearer, change, _AUDIO)


@routes.post(_BASE + "/take")
async def take(request: web.Request) -> web.Response:
    """Take a seat (free mode, host, or with an approval/invitation)."""
    bearer = await actor(request)
    body = await read_body(request)
    index = req_int(body, "seat_index")

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        _check_index(room, index)
        if room.seat_of(me) is not None:
            raise ApiError.conflict(f"{me} already holds a seat", ErrorCode.ALREADY_SEATED)
        invited = any(
            i.identity == me and (i.seat_index is None or i.seat_index == index)
            for i in room.invitations
        )
        allowed = room.seat_mode is UTDSeatMode.FREE or me == room.host_identity or invited
        seat = room.seats[index]
        if allowed or seat.locked or seat.identity is not None:
            _remember_name(room, bearer)
            _seat(room, index, me)
            return
        raise ApiError(
            403, ErrorCode.APPROVAL_REQUIRED, "this room needs the host's approval to speak"
        )

    return await answer_change(request, bearer, change, _AUDIO, in_person=True)


@routes.post(_BASE + "/leave")
async def leave(request: web.Request) -> web.Response:
    """Leave the seat held (publish revoked)."""
    bearer = await actor(request)
    await read_body(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        seat = room.seat_of(bearer.identity)
        if seat is None:
            raise ApiError.forbidden(f"{bearer.identity} holds no seat")
        room.free_seat(seat.index)

    return await answer_change(request, bearer, change, _AUDIO)


@routes.post(_BASE + "/request")
async def request_seat(request: web.Request) -> web.Response:
    """Ask to speak (idempotent); the host gets ``utd.seat.request``."""
    bearer = await actor(request)
    body = await read_body(request)
    index = opt_int(body, "seat_index")
    limit = engine_of(request).config.max_pending_requests

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        if index is not None:
            _check_index(room, index)
        if room.seat_of(me) is not None:
            raise ApiError.conflict(f"{me} already holds a seat", ErrorCode.ALREADY_SEATED)
        if room.has_request(me):
            effects.changed = False
            return
        check_room_for_request(room, limit)
        _remember_name(room, bearer)
        req = UTDSpeakRequest(room.take_request_id(), me, index, room.name_of(me), time.time())
        room.speak_requests.append(req)
        if room.host_identity is not None:
            effects.notify("utd.seat.request", (room.host_identity,), {"request": unstructure(req)})

    return await answer_change(request, bearer, change, _AUDIO, in_person=True)


@routes.get(_BASE + "/requests")
async def list_requests(request: web.Request) -> web.Response:
    """The host's view of pending requests (the whole ``RoomState``)."""
    bearer = await actor(request)
    engine = engine_of(request)
    room = await engine.visible_room(bearer, room_of(request))
    if room.type is not _AUDIO:
        raise ApiError.conflict(f"{room.room_name} is not an audio room")
    require_host(room, bearer)
    return web.json_response(await engine.room_json(bearer, room.room_name))


@routes.post(_BASE + "/request/cancel")
async def cancel_request(request: web.Request) -> web.Response:
    """The requester withdraws their request to speak; 404 ``no_request`` without one."""
    bearer = await actor(request)
    await read_body(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        # Asks storage first: a room with many requests loads them only when there is one.
        if not room.has_request(me):
            raise _no_request()
        kept = [r for r in room.speak_requests if r.identity != me]
        if len(kept) == len(room.speak_requests):
            raise _no_request()
        room.speak_requests = kept

    return await answer_change(request, bearer, change, _AUDIO)


@routes.post(_BASE + "/requests/{request_id}/deny")
async def deny(request: web.Request) -> web.Response:
    """The host turns a request down; the requester gets ``utd.seat.request.denied``."""
    bearer = await actor(request)
    reason = opt_reason(await read_body(request))
    request_id = _path_request_id(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        found = next((r for r in room.speak_requests if r.request_id == request_id), None)
        if found is None:
            raise _no_request()
        room.speak_requests = [r for r in room.speak_requests if r.request_id != request_id]
        note = {"request_id": found.request_id, "identity": found.identity, "reason": reason}
        effects.notify("utd.seat.request.denied", (found.identity,), note)

    return await answer_change(request, bearer, change, _AUDIO)


@routes.post(_BASE + "/requests/{request_id}/approve")
async def approve(request: web.Request) -> web.Response:
    """The host seats a requester (requested seat, else ``seat_index``, else first free)."""
    bearer = await actor(request)
    body = await read_body(request)
    index = opt_int(body, "seat_index")
    request_id = _path_request_id(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        found = next((r for r in room.speak_requests if r.request_id == request_id), None)
        if found is None:
            raise _no_request()
        if room.seat_of(found.identity) is not None:
            raise ApiError.conflict(
                f"{found.identity} already holds a seat", ErrorCode.ALREADY_SEATED
            )
        target = found.seat_index if found.seat_index is not None else index
        if target is None:
            target = _first_free(room)
        _check_index(room, target)
        _seat(room, target, found.identity)

    return await answer_change(request, bearer, change, _AUDIO)


@routes.post(_BASE + "/invite")
async def invite(request: web.Request) -> web.Response:
    """The host invites an identity to a seat; the invitee gets ``utd.seat.invite``."""
    bearer = await actor(request)
    body = await read_body(request)
    identity = check_name(body.get("identity"), "identity")
    index = opt_int(body, "seat_index")
    limit = engine_of(request).config.max_invitations

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        if index is not None:
            _check_index(room, index)
        if room.seat_of(identity) is not None:
            raise ApiError.conflict(f"{identity} already holds a seat", ErrorCode.ALREADY_SEATED)
        invitation = UTDSeatInvitation(identity, index, bearer.identity, time.time())
        room.invitations = [i for i in room.invitations if i.identity != identity]
        if limit and len(room.invitations) >= limit:
            raise ApiError.conflict(
                f"{room.room_name} already has {limit} open invitations", ErrorCode.QUEUE_FULL
            )
        room.invitations.append(invitation)
        effects.notify("utd.seat.invite", (identity,), {"invitation": unstructure(invitation)})

    return await answer_change(request, bearer, change, _AUDIO)


@routes.post(_BASE + "/invitation/accept")
async def accept(request: web.Request) -> web.Response:
    """The invitee accepts: seated at the invited seat (or the first free one) in one step.

    The engine decides from its own invitations, so an invitee whose view of the room is late
    still gets the seat the host offered; the host gets ``utd.seat.invite.accepted``.
    """
    bearer = await actor(request)
    await read_body(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        invitation = next((i for i in room.invitations if i.identity == me), None)
        if invitation is None:
            raise _no_invitation(me)
        if room.seat_of(me) is not None:
            raise ApiError.conflict(f"{me} already holds a seat", ErrorCode.ALREADY_SEATED)
        index = invitation.seat_index if invitation.seat_index is not None else _first_free(room)
        _remember_name(room, bearer)
        _seat(room, index, me)
        if room.host_identity is not None:
            note = {"identity": me, "seat_index": index}
            effects.notify("utd.seat.invite.accepted", (room.host_identity,), note)

    return await answer_change(request, bearer, change, _AUDIO, in_person=True)


@routes.post(_BASE + "/invitation/decline")
async def decline(request: web.Request) -> web.Response:
    """The invitee declines; the host gets ``utd.seat.invite.declined``."""
    bearer = await actor(request)
    await read_body(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        if not any(i.identity == me for i in room.invitations):
            raise _no_invitation(me)
        room.invitations = [i for i in room.invitations if i.identity != me]
        if room.host_identity is not None:
            effects.notify("utd.seat.invite.declined", (room.host_identity,), {"identity": me})

    return await answer_change(request, bearer, change, _AUDIO)


@routes.post(_BASE + "/{index}/lock")
async def lock(request: web.Request) -> web.Response:
    """The host locks or unlocks a seat (a holder stays)."""
    return await _set_seat_flag(request, "locked")


@routes.post(_BASE + "/{index}/mute")
async def mute(request: web.Request) -> web.Response:
    """The host mutes or unmutes the seat holder's microphone."""
    return await _set_seat_flag(request, "muted", _mute_holder)


async def _set_seat_flag(
    request: web.Request,
    flag: str,
    also: Callable[[Effects, UTDSeat, bool], None] | None = None,
) -> web.Response:
    """The host sets one boolean of a seat (``locked``, ``muted``) to the body's value; ``also``
    adds what else the change does."""
    bearer = await actor(request)
    value = req_bool(await read_body(request), flag)
    index = _path_index(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        _check_index(room, index)
        seat = room.seats[index]
        if getattr(seat, flag) == value:
            effects.changed = False
            return
        changes: dict[str, Any] = {flag: value}
        room.seats[index] = attrs.evolve(seat, **changes)
        if also is not None:
            also(effects, seat, value)

    return await answer_change(request, bearer, change, _AUDIO)


def _mute_holder(effects: Effects, seat: UTDSeat, muted: bool) -> None:
    if seat.identity is not None:
        effects.mutes.append((seat.identity, muted))


@routes.post(_BASE + "/{index}/kick")
async def kick(request: web.Request) -> web.Response:
    """The host frees a seat and revokes its holder's publish (an empty seat: no change)."""
    bearer = await actor(request)
    await read_body(request)
    index = _path_index(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        _check_index(room, index)
        effects.changed = room.free_seat(index) is not None

    return await answer_change(request, bearer, change, _AUDIO)
