"""``/healthz``, ``/auth/user-token`` and ``/token``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from utd_stream_rx.models import UTDStreamType

from .auth import check_name
from .common import app_of, engine_of, opt_bool, opt_str, read_body
from .errors import ApiError
from .identity import Identity, resolve_identity
from .ratelimit import client_address

__all__ = ["routes"]

routes = web.RouteTableDef()
"""Routes of this module."""

_ROOM_TYPES = {"audio_room": UTDStreamType.AUDIO_ROOM, "live_stream": UTDStreamType.LIVE_STREAM}


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Liveness probe."""
    return web.json_response({"ok": True})


@routes.post("/api/v1/auth/user-token")
async def user_token(request: web.Request) -> web.Response:
    """A bearer for the identity an identity token proves (dev mode: the body asserts it)."""
    engine = engine_of(request)
    app_id = app_of(request)
    body = await read_body(request)
    who, name, device_id = await _admit(request, body, app_id)
    token, expires_at = engine.mint_user_token(app_id, who.identity, name, device_id, who.roles)
    return web.json_response(
        {"user_token": token, "identity": who.identity, "expires_at": expires_at}
    )


@routes.post("/api/v1/token")
async def room_token(request: web.Request) -> web.Response:
    """A LiveKit token for an audio room or live stream, plus a bearer."""
    engine = engine_of(request)
    app_id = app_of(request)
    body = await read_body(request)
    room_name = check_name(body.get("room_name"), "room_name")
    kind_name = body.get("type")
    if kind_name in ("audio_call", "video_call"):
        raise ApiError.invalid("calls get their tokens from the /calls endpoints")
    kind = _ROOM_TYPES.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise ApiError.invalid("type must be audio_room or live_stream")
    role = body.get("role") or "audience"
    if role not in ("host", "audience"):
        raise ApiError.invalid("role must be host or audience")
    # A mint for a room that does not exist yet also counts as a new room (two racing for
    # the same new room are both counted: the limit errs on the safe side).
    new_room = await engine.storage.load_room(app_id, room_name) is None
    who, name, device_id = await _admit(request, body, app_id, new_room=new_room)
    token = await engine.mint_room_token(
        app_id,
        identity=who.identity,
        room_name=room_name,
        kind=kind,
        role=role,
        name=name,
        may_host=who.may_host(room_name),
    )
    bearer, expires_at = engine.mint_user_token(app_id, who.identity, name, device_id, who.roles)
    return web.json_response(
        {
            "token": token,
            "url": engine.livekit_url,
            "room_name": room_name,
            "user_token": bearer,
            "user_token_expires_at": expires_at,
            "identity": who.identity,
            "ws_url": engine.livekit_url,
        }
    )


async def _admit(
    request: web.Request, body: dict[str, Any], app_id: str, *, new_room: bool = False
) -> tuple[Identity, str | None, str | None]:
    """Who mints (proof of identity, not banned, within the rate limits: the mint's, and the
    new room's when ``new_room``), with the display name and device id the bearer will
    carry. A ``reject_when_busy`` in the body is kept as the identity's preference."""
    engine = engine_of(request)
    rejects_when_busy = opt_bool(body, "reject_when_busy")
    who = resolve_identity(
        request,
        body,
        app_id=app_id,
        signer=engine.signer,
        app_secrets=engine.config.app_secrets,
        dev_mode=engine.config.dev_mode,
    )
    name = opt_str(body, "name") or who.name
    device_id = opt_str(body, "device_id")
    await engine.check_not_banned(app_id, who.identity)
    engine.limiter.mint(app_id, who.identity, client_address(request), new_room=new_room)
    # Written only when it changes: the SDK sends its preference with every mint.
    if rejects_when_busy is not None and rejects_when_busy != (
        await engine.storage.rejects_when_busy(app_id, who.identity)
    ):
        await engine.storage.set_rejects_when_busy(app_id, who.identity, rejects_when_busy)
    return who, name, device_id
