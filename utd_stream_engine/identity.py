"""Who is asking: an identity token from the app's backend, an engine bearer, or (dev mode only)
the identity the body asserts.

An *identity token* is an HS256 JWT that the app's own backend signs with the app secret (which
the engine and that backend hold, never the app). Claims: ``sub`` (the identity, required),
``exp`` (required), ``iat``, ``name`` and ``roles`` (optional). A role ``"host"`` lets the
identity host any room of the app, ``"host:<room>"`` one room.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import jwt
from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode

from .auth import Bearer, BearerSigner, check_name, roles_allow_hosting
from .errors import ApiError

__all__ = ["Identity", "resolve_identity", "sign_identity_token", "verify_identity_token"]

_MAX_TOKEN = 4096
_MAX_ROLES = 64
# Clocks of the app backend and the engine may differ a little.
_LEEWAY = 5.0


@attrs.frozen
class Identity:
    """A caller the engine has verified (or, in dev mode, taken at its word).

    Attributes:
        identity: The user's identity.
        name: Display name, if the token or body gave one.
        roles: Roles the app's backend granted (``"host"``, ``"host:<room>"``).
        verified: False only for an identity asserted in dev mode.
    """

    identity: str
    name: str | None = None
    roles: tuple[str, ...] = ()
    verified: bool = True

    def may_host(self, room_name: str) -> bool:
        """True when a role lets this identity host ``room_name``."""
        return roles_allow_hosting(self.roles, room_name)


def sign_identity_token(
    app_secret: str,
    identity: str,
    *,
    ttl: float = 3600.0,
    name: str | None = None,
    roles: Iterable[str] = (),
) -> str:
    """An identity token, as an app's backend signs it (Python backends and tests).

    Any JWT library produces the same token: ``{"sub": identity, "exp": ..., "iat": ...}``
    (plus ``name``/``roles``) signed HS256 with the app secret.
    """
    now = time.time()
    claims: dict[str, Any] = {"sub": identity, "iat": int(now), "exp": int(now + ttl)}
    if name is not None:
        claims["name"] = name
    roles = list(roles)
    if roles:
        claims["roles"] = roles
    return jwt.encode(claims, app_secret, algorithm="HS256")


def verify_identity_token(token: str, app_secret: str) -> Identity:
    """The identity an identity token proves; 401 when it is expired, forged or malformed."""
    try:
        claims = jwt.decode(
            token,
            app_secret,
            algorithms=["HS256"],
            leeway=_LEEWAY,
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(
            401, ErrorCode.IDENTITY_TOKEN_EXPIRED, "the identity token has expired"
        ) from exc
    except jwt.PyJWTError as exc:
        raise ApiError(401, ErrorCode.INVALID_IDENTITY_TOKEN, "invalid identity token") from exc
    identity = claims.get("sub")
    if not isinstance(identity, str):
        raise ApiError(401, ErrorCode.INVALID_IDENTITY_TOKEN, "the identity token has no identity")
    check_name(identity, "the identity token's sub")
    name = claims.get("name")
    return Identity(
        identity=identity,
        name=name if isinstance(name, str) and name else None,
        roles=_roles(claims.get("roles")),
    )


def _roles(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or len(value) > _MAX_ROLES
        or not all(isinstance(role, str) and 0 < len(role) <= 200 for role in value)
    ):
        raise ApiError(
            401, ErrorCode.INVALID_IDENTITY_TOKEN, "roles must be a list of short strings"
        )
    return tuple(value)


def resolve_identity(
    request: web.Request,
    body: Mapping[str, Any],
    *,
    app_id: str,
    signer: BearerSigner,
    app_secrets: Mapping[str, str],
    dev_mode: bool,
) -> Identity:
    """The caller of a token endpoint, from the strongest proof it brought.

    1. ``identity_token`` in the body, checked against the app secret;
    2. else an engine bearer in ``Authorization``;
    3. else, in dev mode only, the ``identity`` the body asserts.

    A body ``identity`` that names someone else than the proof is refused (403).
    """
    asserted = body.get("identity")
    if asserted is not None:
        check_name(asserted, "identity")
    found: Identity
    token = body.get("identity_token")
    if token is not None:
        if not isinstance(token, str) or not 0 < len(token) <= _MAX_TOKEN:
            raise ApiError.invalid(f"identity_token must be a string of at most {_MAX_TOKEN}")
        secret = app_secrets.get(app_id)
        if not secret:
            raise ApiError(
                401,
                ErrorCode.UNAUTHORIZED,
                "this app has no app secret: identity tokens cannot be checked",
            )
        found = verify_identity_token(token, secret)
    elif request.headers.get("Authorization"):
        found = _from_bearer(signer.from_request(request, app_id))
    elif dev_mode:
        if asserted is None:
            raise ApiError.invalid("identity is required")
        return Identity(identity=asserted, verified=False)
    else:
        raise ApiError(
            401,
            ErrorCode.IDENTITY_REQUIRED,
            "an identity_token signed by the app's backend is required",
        )
    if asserted is not None and asserted != found.identity:
        raise ApiError.forbidden("the identity does not match the proof of identity")
    return found


def _from_bearer(bearer: Bearer) -> Identity:
    return Identity(identity=bearer.identity, name=bearer.name, roles=bearer.roles)
