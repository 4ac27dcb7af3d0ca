"""Live stream stage: invite, remove, request, leave."""

from __future__ import annotations

import time

from aiohttp import web

from ..models import UTDStageMember, UTDStageRequest, UTDStreamType, unstructure
from .auth import check_name
from .common import (
    actor,
    answer_change,
    check_room_for_request,
    engine_of,
    read_body,
    require_host,
    room_of,
)
from .core import Effects
from .errors import ApiError
from .state import RoomRecord

__all__ = ["routes"]

routes = web.RouteTableDef()
"""Routes of this module."""

_LIVE = UTDStreamType.LIVE_STREAM




@routes.get("/api/v1/live/{room}/stage")
async def get_stage(request: web.Request) -> web.Response:
    """The stage (the whole ``RoomState``)."""
    bearer = actor(request)
    return web.json_response(engine_of(request).room_json(bearer, room_of(request)))


@routes.post("/api/v1/live/{room}/stage/invite")
async def invite(request: web.Request) -> web.Response:
    """The host puts an identity on stage and grants it camera and microphone."""
    bearer = actor(request)
    body = await read_body(request)
    identity = check_name(body.get("identity"), "identity")

    def change(room: RoomRecord, effects: Effects) -> None:
        require_host(room, bearer)
        if identity == room.host_identity:
            raise ApiError.conflict("the host is always on stage")
        had_request = room.has_request(identity)
        if had_request:
            room.stage_requests = [r for r in room.stage_requests if r.identity != identity]
        if room.on_stage(identity):
            effects.changed = had_request
            return
        room.stage.append(UTDStageMember(identity, room.name_of(identity), "stage"))
        effects.notify("utd.stage.invite", (identity,), {"identity": identity})

    return await answer_change(request, bearer, change, _LIVE)


@routes.post("/api/v1/live/{room}/stage/remove")
async def remove(request: web.Request) -> web.Response:
    """The host takes a co-publisher off stage (publish revoked)."""
    bearer = actor(request)
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
    bearer = actor(request)
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


@routes.post("/api/v1/live/{room}/stage/leave")
async def leave(request: web.Request) -> web.Response:
    """A co-publisher steps off stage (publish revoked)."""
    bearer = actor(request)
    await read_body(request)

    def change(room: RoomRecord, effects: Effects) -> None:
        me = bearer.identity
        if me == room.host_identity:
            raise ApiError.forbidden("the host cannot leave the stage")
        if not room.on_stage(me):
            raise ApiError.forbidden(f"{me} is not on stage")
        room.stage = [m for m in room.stage if m.identity != me]

    return await answer_change(request, bearer, change, _LIVE)
