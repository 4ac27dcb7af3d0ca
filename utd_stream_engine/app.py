"""The aiohttp application of the reference engine."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode

from . import admin, calls, moderation, seats, stage, tokens, webhooks
from .common import ENGINE
from .config import EngineConfig
from .core import Engine
from .cors import cors_hooks
from .errors import ApiError, StorageUnavailable, error_response
from .livekit_bridge import LiveKitBridge, NullBridge, RoomServiceBridge
from .storage import Storage
from .storages import open_storage

__all__ = ["create_app", "create_engine"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except StorageUnavailable as exc:
        # Not a bug of the engine: no traceback, and the client is told to come back.
        log.warning("%s %s: storage unavailable: %s", request.method, request.path, exc.reason)
        return exc.response()
    except web.HTTPException as exc:
        if exc.status == 404:
            return error_response(404, ErrorCode.NOT_FOUND, f"no route {request.path}")
        if exc.status == 405:
            return error_response(
                405, ErrorCode.INVALID_REQUEST, f"{request.method} not allowed here"
            )
        if exc.status == 413:
            return error_response(413, ErrorCode.INVALID_REQUEST, "the body is too large")
        raise
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(500, ErrorCode.INTERNAL, "unexpected engine error")


def create_engine(
    config: EngineConfig, *, storage: Storage | None = None, bridge: LiveKitBridge | None = None
) -> Engine:
    """An :class:`Engine` on the storage ``config.db_path`` names (SQLite by default) and a
    RoomService bridge (none without LiveKit); :meth:`Engine.open` connects it."""
    if storage is None:
        storage = open_storage(config.db_path, pool_size=config.db_pool_size)
    if bridge is None:
        http_url = config.livekit_http_url
        if http_url is None:
            bridge = NullBridge()
        else:
            if not config.livekit_api_secret:
                raise ValueError("livekit_api_secret is required when livekit_url is set")
            bridge = RoomServiceBridge(
                http_url,
                config.livekit_api_key,
                config.livekit_api_secret,
                timeout=config.livekit_timeout,
            )
    return Engine(config, storage, bridge)


def create_app(
    config: EngineConfig, *, storage: Storage | None = None, bridge: LiveKitBridge | None = None
) -> web.Application:
    """The engine as an aiohttp application; storage and bridge are closed on cleanup."""
    engine = create_engine(config, storage=storage, bridge=bridge)
    # CORS comes first, outside the error middleware: preflights of every path (one that
    # does not exist included) are answered alike, and errors get the allow headers too.
    cors, add_cors_headers = cors_hooks(config)
    app = web.Application(middlewares=[cors, _errors], client_max_size=64 * 1024)
    app.on_response_prepare.append(add_cors_headers)
    app[ENGINE] = engine
    for module in (tokens, calls, stage, seats, moderation, webhooks, admin):
        app.add_routes(module.routes)

    async def on_startup(app: web.Application) -> None:
        await engine.open()
        engine.start()

    async def on_shutdown(app: web.Application) -> None:
        engine.hub.close()  # ends open event streams so shutdown does not wait on them

    async def on_cleanup(app: web.Application) -> None:
        await engine.stop()
        await engine.storage.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app
