"""Request plumbing shared by the handlers: app check, bearer, body fields."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .auth import Bearer, check_app, check_name
from .core import Engine
from .errors import ApiError
from .state import RoomRecord

__all__ = [
    "ENGINE",
    "actor",
    "app_of",
    "check_room_for_request",
    "engine_of",
    "opt_bool",
    "opt_int",
    "opt_str",
    "read_body",
    "req_bool",
    "req_int",
    "require_host",
    "room_of",
]

ENGINE = web.AppKey("engine", Engine)
"""Where the application keeps its :class:`Engine`."""

MAX_TEXT = 256


def engine_of(request: web.Request) -> Engine:
    """The engine serving this request."""
    return request.app[ENGINE]


def app_of(request: web.Request) -> str:
    """The app id after checking the app headers (401 otherwise)."""
    return check_app(request, engine_of(request).config.apps)


def actor(request: web.Request) -> Bearer:
    """App headers, then the bearer, then the ban list."""
    engine = engine_of(request)
    app_id = app_of(request)
    bearer = engine.signer.from_request(request, app_id)
    engine.check_not_banned(app_id, bearer.identity)
    return bearer


def room_of(request: web.Request) -> str:
    """The ``{room}`` of the path, checked as a room name."""
    return check_name(request.match_info["room"], "room")


def require_host(room: RoomRecord, bearer: Bearer) -> None:
    """403 unless the bearer is the room's owner or its verified roles name the room."""
    if room.host_identity != bearer.identity and not bearer.may_host(room.room_name):
        raise ApiError.forbidden("only the host may do this")


def check_room_for_request(room: RoomRecord, limit: int) -> None:
    """409 ``queue_full`` when the room already holds ``limit`` pending requests (0: no
    limit)."""
    if limit and room.pending_count() >= limit:
        raise ApiError.conflict(
            f"{room.room_name} already has {limit} pending requests; try again later",
            "queue_full",
        )


async def read_body(request: web.Request) -> dict[str, Any]:
    """The JSON object body (``{}`` when empty); 400 ``invalid_request`` otherwise."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError.invalid("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError.invalid("the body must be a JSON object")
    return data


def opt_str(body: dict[str, Any], key: str) -> str | None:
    """An optional short string field."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ApiError.invalid(f"{key} must be a string of at most {MAX_TEXT} characters")
    return value


def opt_int(body: dict[str, Any], key: str) -> int | None:
    """An optional integer field (booleans refused)."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError.invalid(f"{key} must be an integer")
    return value


def req_int(body: dict[str, Any], key: str) -> int:
    """A required integer field."""
    value = opt_int(body, key)
    if value is None:
        raise ApiError.invalid(f"{key} is required")
    return value


def opt_bool(body: dict[str, Any], key: str) -> bool | None:
    """An optional boolean field."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ApiError.invalid(f"{key} must be true or false")
    return value


def req_bool(body: dict[str, Any], key: str) -> bool:
    """A required boolean field."""
    value = opt_bool(body, key)
    if value is None:
        raise ApiError.invalid(f"{key} is required")
    return value
