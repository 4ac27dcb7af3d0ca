"""CORS: lets a web app served from another origin call the engine from a browser.

Every call a web app makes carries the app headers (and usually a bearer), so the browser first
sends a preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``). The
middleware answers it before routing and error handling see it, the same way for every path
(a route that does not exist included): ``204`` with the allow headers for an allowed origin,
``403`` with the engine's JSON error otherwise. Actual requests from an allowed origin get
``Access-Control-Allow-Origin`` on whatever answers them (errors and the call event stream
included); requests without ``Origin``, and the LiveKit webhook, are left alone.

Which origins: :attr:`EngineConfig.cors_origins`, or by default none, or the loopback ones in
dev mode. The engine uses no cookies: a disallowed origin's request still needs the app
headers, which a browser only sends cross-origin after a successful preflight.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import attrs
from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode

from .config import EngineConfig
from .errors import error_response

if TYPE_CHECKING:
    from aiohttp.typedefs import Middleware

__all__ = [
    "ALLOWED_HEADERS",
    "ALLOWED_METHODS",
    "CorsPolicy",
    "cors_hooks",
]

ALLOWED_METHODS = ("GET", "POST", "DELETE", "OPTIONS")
"""Methods a cross-origin caller may use."""

ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-UTD-App-Id",
    "X-UTD-App-Key",
    "Last-Event-ID",
    "Cache-Control",
)
"""Request headers a cross-origin caller may send."""

EXPOSED_HEADERS = ("Retry-After",)
"""Response headers a cross-origin caller may read besides the safelisted ones."""

MAX_AGE = 600
"""Seconds a browser may cache a preflight answer."""

_EXEMPT_PATHS = frozenset({"/api/v1/livekit/webhook"})  # server to server: no browser calls it
_LOOPBACK = re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$")
_ALLOWED_LOWER = frozenset(h.lower() for h in ALLOWED_HEADERS)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class CorsPolicy:
    """Which origins may call the engine from a browser."""

    origins: frozenset[str] = frozenset()
    any_origin: bool = False
    loopback: bool = False

    @classmethod
    def from_config(cls, config: EngineConfig) -> CorsPolicy:
        """The configured origins, or the mode's default (none; loopback in dev mode)."""
        if config.cors_origins is None:
            return cls(loopback=config.dev_mode)
        listed = frozenset(config.cors_origins)
        return cls(origins=listed - {"*"}, any_origin="*" in listed)

    def allow_origin(self, origin: str) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, ``None`` if refused."""
        lowered = origin.lower()
        if lowered in self.origins or (self.loopback and _LOOPBACK.match(lowered)):
            return origin
        if self.any_origin:
            return "*"
        return None


def _allow_headers(requested: str | None) -> str:
    # Echo what the browser asks for when all of it is allowed; else the whole list (the
    # browser then refuses the request itself).
    names = [name.strip() for name in (requested or "").split(",") if name.strip()]
    if names and all(name.lower() in _ALLOWED_LOWER for name in names):
        return ", ".join(names)
    return ", ".join(ALLOWED_HEADERS)


def _grant(allowed: str) -> dict[str, str]:
    granted = {"Access-Control-Allow-Origin": allowed}
    if allowed != "*":  # a wildcard never goes with credentials
        granted["Access-Control-Allow-Credentials"] = "true"
    return granted


def _add_vary(response: web.StreamResponse, *names: str) -> None:
    present = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    lowered = {v.lower() for v in present}
    present.extend(name for name in names if name.lower() not in lowered)
    response.headers["Vary"] = ", ".join(present)


ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def cors_hooks(config: EngineConfig) -> tuple[Middleware, ResponseHook]:
    """The CORS middleware, which must come first (outside the error middleware), and the hook
    for ``app.on_response_prepare`` that adds the allow headers to every other answer."""
    policy = CorsPolicy.from_config(config)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        preflight = request.method == "OPTIONS" and (
            "Access-Control-Request-Method" in request.headers
        )
        if origin is None or not preflight or request.path in _EXEMPT_PATHS:
            return await handler(request)
        allowed = policy.allow_origin(origin)
        if allowed is None:
            refused = error_response(
                403, ErrorCode.FORBIDDEN, f"the origin {origin} may not call this engine"
            )
            _add_vary(refused, "Origin")
            return refused
        answer = web.Response(
            status=204,
            headers={
                **_grant(allowed),
                "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
                "Access-Control-Allow-Headers": _allow_headers(
                    request.headers.get("Access-Control-Request-Headers")
                ),
                "Access-Control-Max-Age": str(MAX_AGE),
            },
        )
        _add_vary(answer, "Origin", "Access-Control-Request-Headers")
        return answer

    async def add_allow_headers(request: web.Request, response: web.StreamResponse) -> None:
        # Runs for every answer just before its headers go out: handlers' responses, errors
        # and event streams alike (a preflight answer already has its own).
        origin = request.headers.get("Origin")
        if (
            origin is None
            or request.path in _EXEMPT_PATHS
            or "Access-Control-Allow-Origin" in response.headers
        ):
            return
        allowed = policy.allow_origin(origin)
        if allowed is None:
            return
        response.headers.update(_grant(allowed))
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
        _add_vary(response, "Origin")

    return cors, add_allow_headers
