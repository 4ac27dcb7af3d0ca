"""``GET /rooms/{room}`` and the LiveKit webhook receiver."""

from __future__ import annotations

import logging

from aiohttp import web
from livekit import api
from livekit.protocol import models

from .auth import check_name
from .common import actor, engine_of
from .errors import ApiError
from .state import split_livekit_room_name

__all__ = ["routes"]

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
"""Routes of this module."""


@routes.get("/api/v1/rooms/{room}")
async def get_room(request: web.Request) -> web.Response:
    """Any room's ``RoomState`` (audio room, live stream, or call room for its parties)."""
    bearer = actor(request)
    room = check_name(request.match_info["room"], "room")
    return web.json_response(engine_of(request).room_json(bearer, room))


@routes.post("/api/v1/livekit/webhook")
async def livekit_webhook(request: web.Request) -> web.Response:
    """A signed LiveKit event: joins re-apply grants, leaves free seats and end calls."""
    engine = engine_of(request)
    # Bytes that are not UTF-8 cannot carry a valid signature: they end as a 401 below.
    body = (await request.read()).decode("utf-8", errors="replace")
    receiver = api.WebhookReceiver(
        api.TokenVerifier(engine.config.livekit_api_key, engine.livekit_api_secret)
    )
    try:
        event = receiver.receive(body, request.headers.get("Authorization", ""))
    except Exception as exc:
        raise ApiError(401, "unauthorized", "invalid webhook signature") from exc
    parsed = split_livekit_room_name(event.room.name) if event.room.name else None
    if parsed is None:
        return web.json_response({})
    app_id, room_name = parsed
    if app_id not in engine.config.apps:
        return web.json_response({})
    identity = event.participant.identity
    sid = event.participant.sid
    reason = _reason_name(event.participant.disconnect_reason)
    log.debug(
        "webhook %s room=%s identity=%s sid=%s reason=%s",
        event.event,
        event.room.name,
        identity,
        sid,
        reason,
    )
    if event.event == "participant_joined" and identity:
        await engine.participant_joined(app_id, room_name, identity, event.participant)
    elif event.event == "participant_left" and identity:
        await engine.participant_left(app_id, room_name, identity, sid, reason)
    elif event.event == "room_started":
        await engine.room_started(app_id, room_name)
    elif event.event == "room_finished":
        await engine.room_finished(app_id, room_name)
    return web.json_response({})


def _reason_name(value: int) -> str:
    # A reason newer than this livekit-protocol is as good as unknown.
    try:
        return models.DisconnectReason.Name(value)
    except ValueError:
        return ""
