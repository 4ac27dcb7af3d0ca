"""App credentials and the engine's bearer (``user_token``): an HS256 JWT it signs itself."""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping

import attrs
import jwt
from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode

from .errors import ApiError
from .names import NAME_RE, NAME_RULE, is_name

__all__ = [
    "NAME_RE",
    "Bearer",
    "BearerSigner",
    "check_app",
    "check_name",
    "roles_allow_hosting",
]

_ISSUER = "utd-devengine"


def check_name(value: object, field: str) -> str:
    """``value`` if it is a valid room name or identity (the whole of it: a trailing newline
    included), else 400 ``invalid_request``."""
    if not is_name(value):
        raise ApiError.invalid(f"{field} must be {NAME_RULE}")
    return value


def check_app(request: web.Request, apps: Mapping[str, str]) -> str:
    """The app id of a request whose ``X-UTD-App-Id``/``X-UTD-App-Key`` match; else 401."""
    app_id = request.headers.get("X-UTD-App-Id", "")
    app_key = request.headers.get("X-UTD-App-Key", "")
    expected = apps.get(app_id)
    # Constant-time compare so the key cannot be guessed byte by byte.
    if not app_id or expected is None or not hmac.compare_digest(expected, app_key):
        raise ApiError(401, ErrorCode.UNAUTHORIZED, "missing or wrong app credentials")
    return app_id


@attrs.frozen
class Bearer:
    """The verified actor of a privileged request."""

    app_id: str
    identity: str
    name: str | None
    expires_at: float
    roles: tuple[str, ...] = ()

    def may_host(self, room_name: str) -> bool:
        """True when a role from the app's backend lets this identity host ``room_name``."""
        return roles_allow_hosting(self.roles, room_name)


def roles_allow_hosting(roles: tuple[str, ...], room_name: str) -> bool:
    """True when ``roles`` (from an identity token) name ``room_name``'s host: ``host`` for
    every room of the app, ``host:<room>`` for one."""
    return "host" in roles or f"host:{room_name}" in roles


class BearerSigner:
    """Mints and verifies bearers with one HS256 secret."""

    def __init__(self, secret: str, ttl: float) -> None:
        self._secret = secret
        self._ttl = ttl

    def mint(
        self,
        app_id: str,
        identity: str,
        name: str | None = None,
        device_id: str | None = None,
        *,
        roles: tuple[str, ...] = (),
        ttl: float | None = None,
    ) -> tuple[str, float]:
        """A new bearer and its expiry (Unix seconds)."""
        now = time.time()
        expires_at = now + (self._ttl if ttl is None else ttl)
        claims: dict[str, object] = {
            "iss": _ISSUER,
            "app": app_id,
            "sub": identity,
            "iat": int(now),
            "exp": expires_at,
        }
        if name is not None:
            claims["name"] = name
        if device_id is not None:
            claims["did"] = device_id
        if roles:
            claims["roles"] = list(roles)
        return jwt.encode(claims, self._secret, algorithm="HS256"), expires_at

    def verify(self, token: str, app_id: str) -> Bearer:
        """The bearer's claims; 401 ``token_expired`` or ``unauthorized`` when not acceptable."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=_ISSUER,
                options={"require": ["exp", "sub", "app"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(401, ErrorCode.TOKEN_EXPIRED, "the user token has expired") from exc
        except jwt.PyJWTError as exc:
            raise ApiError(401, ErrorCode.UNAUTHORIZED, "invalid user token") from exc
        if claims.get("app") != app_id:
            raise ApiError(401, ErrorCode.UNAUTHORIZED, "the user token belongs to another app")
        identity = claims.get("sub")
        name = claims.get("name")
        roles = claims.get("roles", [])
        if not is_name(identity) or not isinstance(roles, list):
            raise ApiError(401, ErrorCode.UNAUTHORIZED, "invalid user token")
        return Bearer(
            app_id=app_id,
            identity=identity,
            name=name if isinstance(name, str) else None,
            expires_at=float(claims["exp"]),
            roles=tuple(role for role in roles if isinstance(role, str)),
        )

    def from_request(self, request: web.Request, app_id: str) -> Bearer:
        """Verify ``Authorization: Bearer <user_token>``."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, ErrorCode.UNAUTHORIZED, "missing bearer user token")
        return self.verify(token.strip(), app_id)
