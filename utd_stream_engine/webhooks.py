"""``GET /rooms/{room}`` and the LiveKit webhook receiver."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiohttp import web
from livekit import api
from livekit.protocol import models

from utd_stream_rx.error_codes import ErrorCode

from .auth import check_name
from .common import actor, engine_of, read_within
from .errors import ApiError
from .state import split_livekit_room_name

if TYPE_CHECKING:
    from .core import Engine

__all__ = ["routes"]

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
"""Routes of this module."""


@routes.get("/api/v1/rooms/{room}")
async def get_room(request: web.Request) -> web.Response:
    """Any room's ``RoomState`` (audio room, live stream, or call room for its parties)."""
    bearer = await actor(request)
    room = check_name(request.match_info["room"], "room")
    return web.json_response(await engine_of(request).room_json(bearer, room))


@routes.post("/api/v1/livekit/webhook")
async def livekit_webhook(request: web.Request) -> web.Response:
    """A signed LiveKit event: joins re-apply grants, leaves free seats and end calls.

    Each event is applied once: one applied already (same id), or older than one applied
    about the same room and participant, is answered 200 and changes nothing.
    """
    engine = engine_of(request)
    event = await _signed_event(request, engine)
    parsed = split_livekit_room_name(event.room.name) if event.room.name else None
    if parsed is None or parsed[0] not in engine.config.apps:
        return web.json_response({})
    identity = event.participant.identity
    log.debug(
        "webhook %s room=%s identity=%s sid=%s",
        event.event, event.room.name, identity, event.participant.sid,
    )
    if event.event == "room_finished":
        # Every instance that hears it forgets the room as open, whoever applies the event.
        engine.pusher.room_closed(event.room.name)
    subject = identity if event.event in _PARTICIPANT_EVENTS else ""
    if event.event not in _ROOM_EVENTS | _PARTICIPANT_EVENTS or (
        event.event in _PARTICIPANT_EVENTS and not identity
    ):
        return web.json_response({})
    if not await _first_time(engine, event, subject):
        log.info(
            "webhook %s %s of %s/%s dropped: applied already, or older than one applied",
            event.event, event.id, event.room.name, subject,
        )
        return web.json_response({})
    try:
        await _apply(engine, event, *parsed)
    except BaseException:
        if event.id:
            await engine.storage.unclaim_webhook(event.id)  # LiveKit retries a failed delivery
        raise
    return web.json_response({})


async def _signed_event(request: web.Request, engine: Engine) -> api.WebhookEvent:
    """The event in the body, or 401 when its signature is not LiveKit's."""
    # Bytes that are not UTF-8 cannot carry a valid signature: they end as a 401 below.
    raw = await read_within(request, engine.config.body_timeout)
    body = raw.decode("utf-8", errors="replace")
    receiver = api.WebhookReceiver(
        api.TokenVerifier(engine.config.livekit_api_key, engine.livekit_api_secret)
    )
    try:
        return receiver.receive(body, request.headers.get("Authorization", ""))
    except Exception as exc:
        raise ApiError(401, ErrorCode.UNAUTHORIZED, "invalid webhook signature") from exc


async def _apply(engine: Engine, event: api.WebhookEvent, app_id: str, room_name: str) -> None:
    participant = event.participant
    events = engine.livekit_events
    if event.event == "participant_joined":
        await events.participant_joined(app_id, room_name, participant.identity, participant)
    elif event.event == "participant_left":
        reason = _reason_name(participant.disconnect_reason)
        await events.participant_left(
            app_id, room_name, participant.identity, participant.sid, reason
        )
    elif event.event == "room_started":
        await events.room_started(app_id, room_name)
    else:
        await events.room_finished(app_id, room_name)


_PARTICIPANT_EVENTS = frozenset({"participant_joined", "participant_left"})
_ROOM_EVENTS = frozenset({"room_started", "room_finished"})
# Seconds an applied event is remembered: longer than a captured delivery can be replayed
# (LiveKit signs each delivery for 5 minutes; the verifier allows 1 minute of clock leeway).
_WEBHOOK_MEMORY = 600.0


async def _first_time(engine: Engine, event: api.WebhookEvent, subject: str) -> bool:
    """True when ``event`` is to be applied: not applied before (by id), and no event about
    the same room and participant (``subject``) created after it was applied (a replay, or a
    retry LiveKit delivered late)."""
    if not event.id:
        return True  # nothing to tell it apart by (LiveKit always sends one)
    now = time.time()
    created_at = float(event.created_at)
    if created_at and created_at < now - _WEBHOOK_MEMORY:
        return False  # older than the memory of applied events: cannot tell it is new
    return await engine.storage.claim_webhook(
        event.id,
        event.room.name,
        subject,
        created_at,
        received_at=now,
        forget_before=now - _WEBHOOK_MEMORY,
    )


def _reason_name(value: int) -> str:
    # A reason newer than this livekit-protocol is as good as unknown.
    try:
        return models.DisconnectReason.Name(value)
    except ValueError:
        return ""
