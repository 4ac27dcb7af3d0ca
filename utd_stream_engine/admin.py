"""Server-to-server endpoints for the app's own backend: run-time bans.

They authenticate with the app id and the app *secret* (``X-UTD-App-Secret``), which only the
app's backend holds: an app (which ships its app key) cannot call them.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode

from .auth import check_name
from .common import engine_of, read_body
from .errors import ApiError

__all__ = ["routes"]

routes = web.RouteTableDef()
"""Routes of this module."""


def _backend_app(request: web.Request) -> str:
    """The app id of a request carrying that app's secret; else 401."""
    app_id = request.headers.get("X-UTD-App-Id", "")
    secret = request.headers.get("X-UTD-App-Secret", "")
    expected = engine_of(request).config.app_secrets.get(app_id)
    if not app_id or not expected or not hmac.compare_digest(expected, secret):
        raise ApiError(401, ErrorCode.UNAUTHORIZED, "missing or wrong app secret")
    return app_id


@routes.post("/api/v1/admin/bans")
async def ban(request: web.Request) -> web.Response:
    """Ban an identity now: its places are freed, its calls end, LiveKit drops it."""
    app_id = _backend_app(request)
    body = await read_body(request)
    identity = check_name(body.get("identity"), "identity")
    rooms = await engine_of(request).ban(app_id, identity)
    return web.json_response({"identity": identity, "banned": True, "rooms": rooms})


@routes.delete("/api/v1/admin/bans/{identity}")
async def unban(request: web.Request) -> web.Response:
    """Lift a run-time ban."""
    app_id = _backend_app(request)
    identity = check_name(request.match_info["identity"], "identity")
    await engine_of(request).unban(app_id, identity)
    return web.json_response({"identity": identity, "banned": False})
