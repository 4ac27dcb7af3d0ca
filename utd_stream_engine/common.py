"""Request plumbing shared by the handlers: app check, bearer, body fields."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.models import MAX_END_REASON, UTDStreamType

from . import exclusion
from .auth import Bearer, check_app, check_name
from .core import Engine
from .effects import Effects
from .errors import ApiError
from .state import RoomRecord

__all__ = [
    "ENGINE",
    "actor",
    "answer_change",
    "app_of",
    "check_room_for_request",
    "engine_of",
    "nested_deeper_than",
    "opt_bool",
    "opt_int",
    "opt_reason",
    "opt_str",
    "read_body",
    "read_within",
    "req_bool",
    "req_int",
    "require_host",
    "room_of",
]

T = TypeVar("T")

ENGINE = web.AppKey("engine", Engine)
"""Where the application keeps its :class:`Engine`."""

MAX_TEXT = 256

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects a request body may have."""


def engine_of(request: web.Request) -> Engine:
    """The engine serving this request."""
    return request.app[ENGINE]


def app_of(request: web.Request) -> str:
    """The app id after checking the app headers (401 otherwise)."""
    return check_app(request, engine_of(request).config.apps)


async def actor(request: web.Request) -> Bearer:
    """App headers, then the bearer, then the ban list."""
    engine = engine_of(request)
    app_id = app_of(request)
    bearer = engine.signer.from_request(request, app_id)
    await engine.bans.check_not_banned(app_id, bearer.identity)
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
            ErrorCode.QUEUE_FULL,
        )


async def read_body(request: web.Request) -> dict[str, Any]:
    """The JSON object body (``{}`` when empty); 400 ``invalid_request`` otherwise: not UTF-8
    JSON, nested deeper than :data:`MAX_JSON_DEPTH`, ``NaN``/``Infinity``, not an object."""
    raw = await read_within(request, engine_of(request).config.body_timeout)
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError.invalid("the body is not UTF-8") from exc
    # Measured before parsing: the parser recurses once per level and fails past the
    # interpreter's limit with a RecursionError, not a ValueError.
    if nested_deeper_than(text, MAX_JSON_DEPTH):
        raise ApiError.invalid(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise ApiError.invalid("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError.invalid("the body must be a JSON object")
    return data


# A JSON string (escapes included; unterminated at the end of the text), or one bracket.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_OPENING = frozenset("[{")
_CLOSING = frozenset("]}")


def nested_deeper_than(text: str, limit: int) -> bool:
    """True when JSON ``text`` nests arrays and objects more than ``limit`` levels deep
    (counted as far as it is JSON; it stops at the first level too many)."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in _OPENING:
            depth += 1
            if depth > limit:
                return True
        elif token in _CLOSING:
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def opt_str(body: dict[str, Any], key: str) -> str | None:
    """An optional short string field."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ApiError.invalid(f"{key} must be a string of at most {MAX_TEXT} characters")
    return value


def opt_reason(body: dict[str, Any], key: str = "reason") -> str | None:
    """An optional reason given by a host or an app: a string of 1-64 characters."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_END_REASON:
        raise ApiError.invalid(f"{key} must be a string of 1-{MAX_END_REASON} characters")
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
    return _present(opt_int(body, key), key)


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
    return _present(opt_bool(body, key), key)


def _present(value: T | None, key: str) -> T:
    if value is None:
        raise ApiError.invalid(f"{key} is required")
    return value


async def read_within(request: web.Request, timeout: float) -> bytes:
    """The request body, or 408 ``request_timeout`` (closing the connection) when it takes
    longer than ``timeout`` seconds: a client trickling its body must not hold a handler."""
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        raise ApiError(
            408,
            ErrorCode.REQUEST_TIMEOUT,
            f"the body did not arrive within {timeout:g}s",
            headers={"Connection": "close"},
        ) from None


async def answer_change(
    request: web.Request,
    bearer: Bearer,
    change: Callable[[RoomRecord, Effects], None],
    kind: UTDStreamType,
    *,
    in_person: bool = False,
) -> web.Response:
    """Apply ``change`` to the request's room and answer with the new ``RoomState``.

    ``in_person``: a command by which the bearer comes to hold something (a seat, a request,
    a place on stage), refused (409 ``not_in_room``) unless the bearer is in the room.
    Every command is refused in an ended room (409 ``room_ended``) and to an identity banned
    from it (403 ``banned``).
    """
    engine = engine_of(request)
    room_name = room_of(request)

    def change_if_open(room: RoomRecord, effects: Effects) -> None:
        exclusion.check_open_to(room, bearer.identity)
        change(room, effects)

    if in_person:
        state = await engine.admission.change_room_in_person(
            bearer.app_id, room_name, bearer.identity, change_if_open, kind=kind
        )
    else:
        state = await engine.change_room(
            bearer.app_id, room_name, change_if_open, kind=kind, actor=bearer.identity
        )
    return web.json_response(state)
