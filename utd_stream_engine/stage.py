"""Live stream stage: invite (direct or with consent), answer, remove, request, cancel, deny,
leave."""

from __future__ import annotations

import time

from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.models import UTDStageInvitation, UTDStageRequest, UTDStreamType, unstructure

from .auth import check_name
from .common import (
    actor,
    answer_change,
    check_room_for_request,
    engine_of,
    opt_bool,
    opt_reason,
    read_body,
    require_host,
    room_of,
)
from .core import Effects
from .errors import ApiError
from .stage_rules import (
    drop_stage_invitation,
    drop_stage_request,
    put_on_stage,
    record_stage_invitation,
    stage_request_of,
)
from .state import RoomRecord

__all__ = ["routes"]

routes = web.RouteTableDef()
"""Routes of this module."""

_LIVE = UTDStreamType.LIVE_STREAM




@routes.get("/api/v1/live/{room}/stage")
async def get_stage(request: web.Request) -> web.Response:
    """The stage (the whole ``RoomState``)."""
    bearer = await actor(request)
    return web.json_response(await engine_of(request).room_json(bearer, room_of(request)))


@routes.post("/api/v1/live/{room}/stage/invite")
async def invite(request: web.Request) -> web.Response:
    """The host invites an identity to the stage.

    ``direct`` (or a pending request of the identity: their consent) puts them on stage at
    once with camera and microphone; otherwise an invitation waits for their answer. Either
    way the invitee gets ``utd.stage.invite``.
    """
    bearer = await actor(request)
    body = await read_body(request)
    identity = check_name(body.get("identity"), "identity")
    direct = opt_bool(body, "direct") or False
    limit = engine_of(request).config.max_invitations

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        if identity == room.host_identity:
            raise ApiError.conflict("the host is always on stage")
        if room.on_stage(identity):
            effects.changed = put_on_stage(room, identity)  # clears a late request
            return
        at_once = direct or stage_request_of(room, identity) is not None
        if at_once:
            put_on_stage(room, identity)
        elif not record_stage_invitation(room, identity, bearer.identity, limit):
            effects.changed = False
            return
        note = {"identity": identity, "invited_by": bearer.identity, "direct": at_once}
        effects.notify("utd.stage.invite", (identity,), note)

    return await answer_change(request, bearer, change, _LIVE)


@routes.post("/api/v1/live/{room}/stage/invitation/accept")
async def accept_invitation(request: web.Request) -> web.Response:
    """The invitee accepts: on stage with camera and microphone; the host gets
    ``utd.stage.invite.accepted``."""
    bearer = await actor(request)
    await read_body(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        invitation = _invitation_of(room, me)
        if bearer.name:
            room.remember_name(me, bearer.name)
        put_on_stage(room, me)
        effects.notify("utd.stage.invite.accepted", _hosts(room, invitation), {"identity": me})

    return await answer_change(request, bearer, change, _LIVE, in_person=True)


@routes.post("/api/v1/live/{room}/stage/invitation/decline")
async def decline_invitation(request: web.Request) -> web.Response:
    """The invitee declines; the host gets ``utd.stage.invite.declined``."""
    bearer = await actor(request)
    await read_body(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        invitation = _invitation_of(room, me)
        drop_stage_invitation(room, me)
        effects.notify("utd.stage.invite.declined", _hosts(room, invitation), {"identity": me})

    return await answer_change(request, bearer, change, _LIVE)


def _invitation_of(room: RoomRecord, identity: str) -> UTDStageInvitation:
    """The open stage invitation of ``identity``; 404 ``no_invitation`` without one."""
    invitation = room.stage_invitation_of(identity)
    if invitation is None:
        raise ApiError(404, ErrorCode.NO_INVITATION, f"{identity} has no invitation to the stage")
    return invitation


def _hosts(room: RoomRecord, invitation: UTDStageInvitation) -> tuple[str, ...]:
    """Who hears the answer to an invitation: the host, and whoever invited if another."""
    told = (room.host_identity, invitation.invited_by)
    return tuple(dict.fromkeys(i for i in told if i is not None))


@routes.post("/api/v1/live/{room}/stage/remove")
async def remove(request: web.Request) -> web.Response:
    """The host takes a co-publisher off stage (publish revoked)."""
    bearer = await actor(request)
    body = await read_body(request)
    identity = check_name(body.get("identity"), "identity")

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        if identity == room.host_identity:
            raise ApiError.conflict("the host cannot be removed from the stage")
        if not room.on_stage(identity):
            raise ApiError.not_found(f"{identity} is not on stage")
        room.stage = [m for m in room.stage if m.identity != identity]

    return await answer_change(request, bearer, change, _LIVE)


@routes.post("/api/v1/live/{room}/stage/request")
async def request_stage(request: web.Request) -> web.Response:
    """A viewer raises a hand (idempotent); the host gets ``utd.stage.request``."""
    bearer = await actor(request)
    await read_body(request)
    limit = engine_of(request).config.max_pending_requests

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        if room.on_stage(me) or me == room.host_identity:
            raise ApiError.conflict(f"{me} is already on stage")
        if room.has_request(me):
            effects.changed = False
            return
        check_room_for_request(room, limit)
        if bearer.name:
            room.remember_name(me, bearer.name)
        req = UTDStageRequest(room.take_request_id(), me, room.name_of(me), time.time())
        room.stage_requests.append(req)
        if room.host_identity is not None:
            effects.notify(
                "utd.stage.request", (room.host_identity,), {"request": unstructure(req)}
            )

    return await answer_change(request, bearer, change, _LIVE, in_person=True)


@routes.post("/api/v1/live/{room}/stage/request/cancel")
async def cancel_request(request: web.Request) -> web.Response:
    """A viewer takes back their request to come on stage."""
    bearer = await actor(request)
    await read_body(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        if not drop_stage_request(room, bearer.identity):
            raise _no_request(bearer.identity)

    return await answer_change(request, bearer, change, _LIVE)


@routes.post("/api/v1/live/{room}/stage/deny")
async def deny_request(request: web.Request) -> web.Response:
    """The host says no to a request; the requester gets ``utd.stage.request.denied``."""
    bearer = await actor(request)
    body = await read_body(request)
    identity = check_name(body.get("identity"), "identity")
    reason = opt_reason(body)

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        if not drop_stage_request(room, identity):
            raise _no_request(identity)
        note = {"identity": identity, "reason": reason}
        effects.notify("utd.stage.request.denied", (identity,), note)

    return await answer_change(request, bearer, change, _LIVE)


def _no_request(identity: str) -> ApiError:
    return ApiError(404, ErrorCode.NO_REQUEST, f"{identity} has no request to come on stage")


@routes.post("/api/v1/live/{room}/stage/leave")
async def leave(request: web.Request) -> web.Response:
    """A co-publisher steps off stage (publish revoked)."""
    bearer = await actor(request)
    await read_body(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        if me == room.host_identity:
            raise ApiError.forbidden("the host cannot leave the stage")
        if not room.on_stage(me):
            raise ApiError.forbidden(f"{me} is not on stage")
        room.stage = [m for m in room.stage if m.identity != me]

    return await answer_change(request, bearer, change, _LIVE)
