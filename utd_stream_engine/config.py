"""Settings of the reference engine."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from .names import APP_ID_RULE, is_app_id

__all__ = ["DEMO_APP_ID", "DEMO_APP_KEY", "EngineConfig", "default_db_path", "normalize_origin"]

DEMO_APP_ID = "1234567890"
"""The app id of the local demo credentials."""

DEMO_APP_KEY = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
"""The app key of the local demo credentials."""


def default_db_path() -> Path:
    """``$UTD_STREAM_CACHE/engine.sqlite3`` (default cache ``~/.cache/utd_stream_rx``)."""
    env = os.environ.get("UTD_STREAM_CACHE")
    base = Path(env) if env else Path.home() / ".cache" / "utd_stream_rx"
    return base / "engine.sqlite3"


def _freeze_apps(apps: Mapping[str, str]) -> Mapping[str, str]:
    return dict(apps)


def _check_app_ids(
    instance: object, attribute: attrs.Attribute[Mapping[str, str]], apps: Mapping[str, str]
) -> None:
    # An app id with "_" could name another app's LiveKit rooms ("acme_" + "lobby" and
    # "acme" + "_lobby" are both "acme___lobby"): refused here, once, for every entry point.
    for app_id in apps:
        if not is_app_id(app_id):
            raise ValueError(f"app id {app_id!r} is not {APP_ID_RULE}")


_ORIGIN_RE = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#\s@]+$")


def normalize_origin(text: str) -> str:
    """A web origin as browsers send it (``scheme://host[:port]``, lower case), or ``*``.

    Raises:
        ValueError: ``text`` is not an origin (a path, a query or no scheme).
    """
    origin = text.strip()
    if origin == "*":
        return origin
    origin = origin.removesuffix("/").lower()
    if not _ORIGIN_RE.match(origin):
        raise ValueError(f"not a web origin (scheme://host[:port]): {text!r}")
    return origin


def _origins(value: Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError("cors_origins is a sequence of origins, not one string")
    return tuple(dict.fromkeys(normalize_origin(origin) for origin in value))


@attrs.frozen
class EngineConfig:
    """Everything the engine needs to run; immutable once built.

    Attributes:
        host: Address the HTTP server binds to.
        port: HTTP port.
        livekit_url: The LiveKit websocket URL handed to clients (``ws://`` or ``wss://``).
            ``None`` runs the engine without LiveKit (tokens are still minted; nothing is pushed).
        livekit_api_key: API key for tokens, RoomService calls and webhook checks.
        livekit_api_secret: The matching secret (32 bytes or more). There is no default: it is
            required with ``livekit_url``; without LiveKit, an empty value makes the engine sign
            with a random secret of its own process (nothing outside it can forge a webhook).
        apps: ``app_id -> app_key`` pairs accepted in the app headers. App ids are 1-64
            characters of ``[A-Za-z0-9-]`` (``ValueError`` otherwise): with no ``_`` in them,
            the LiveKit room ``<app_id>__<room>`` of one app is never another app's.
        app_secrets: ``app_id -> app secret``: the secret an app's own backend signs identity
            tokens with (and authenticates server-to-server calls such as bans). Never shipped
            in an app.
        db_path: Where the state is kept: a SQLite file, ``":memory:"`` or ``sqlite:///path``
            (one engine process), or ``postgresql://user:password@host:port/database``
            (any number of engine instances on one database).
        db_pool_size: Most connections one instance opens to PostgreSQL.
        ring_timeout: Seconds before an unanswered call becomes ``missed``.
        rejoin_grace: Seconds a participant whom LiveKit lost without them leaving (a server
            shutting down, a room started again) keeps their seat or stage place while they
            reconnect; released after that unless they are back in the room.
        reconcile_interval: Seconds between two passes that compare the engine's holders and
            calls with the participants LiveKit lists (absent ones get the rejoin grace, lost
            grants are sent again); 0 disables the periodic pass (the one at start-up and the
            ones after a LiveKit outage still run).
        rate_limit: Token mints per app and identity per :attr:`rate_window` (0 disables).
            Like every rate limit below, a token bucket: that many at once, then the bucket
            refills at that many per window; a refusal is 429 ``rate_limited`` with
            ``Retry-After`` and a message naming the limit.
        bans: Identities refused on every endpoint.
        cors_origins: Web origins (``scheme://host[:port]``) allowed to call the engine from a
            browser; ``*`` allows any origin (never with credentials). ``None`` = the mode's
            default: no origin, or the loopback ones (``http(s)://localhost``, ``127.0.0.1``,
            ``[::1]``, any port) with ``dev_mode``.
        user_token_secret: HS256 secret for bearers; ``None`` = generated once and kept in the DB.
        user_token_ttl: Lifetime of a bearer, seconds.
        livekit_token_ttl: Lifetime of a LiveKit room token, seconds.
        sse_keepalive: Seconds between keepalive comments on the call event stream.
        dev_mode: Insecure development mode: identities asserted by the client are accepted.
        rate_window: Seconds over which every rate limit counts.
        mint_limit_per_address: Token mints (both token routes) per client address (the
            connection's peer; forwarded headers are not trusted) per window, all apps
            together (0 disables).
        mint_limit_per_app: Token mints per app per window (0 disables).
        room_limit_per_identity: Rooms created (a ``/token`` mint for a room that does not exist
            yet) per app and identity per window (0 disables).
        room_limit_per_address: Rooms created per client address per window (0 disables).
        room_limit_per_app: Rooms created per app per window (0 disables).
        call_limit_per_caller: Calls placed per app and caller per window (0 disables).
        call_limit_per_callee: Calls ringing one identity per app per window, whoever places
            them (0 disables).
        call_limit_per_address: Calls placed per client address per window (0 disables).
        call_limit_per_app: Calls placed per app per window (0 disables).
        join_window: Seconds after minting a room token during which an identity that LiveKit
            does not (yet) report in the room may still take a seat, ask to speak, accept an
            invitation or ask for the stage (its ``participant_joined`` may reach the engine
            after its first command). What it takes is released when the window is over
            unless LiveKit then shows it in the room. 0 admits only identities known present.
        livekit_timeout: Seconds one LiveKit server API call made for a command may take; past
            it the command is answered without it (the state is saved, the reconciler sends
            what was missed). One room change's whole push to LiveKit is bounded the same way,
            so a hung LiveKit never holds a room's lock longer.
        header_timeout: Seconds a new connection has to send its first request line and
            headers; a slower one is answered 408 and closed (0 = no limit).
        body_timeout: Seconds a handler waits for a request body; past it, 408
            ``request_timeout`` and the connection is closed.
        max_connections_per_client: Connections one client address may hold open at once;
            the ones over it are closed as soon as they are accepted (0 = no cap).
        max_pending_requests: Pending stage or speak requests one room holds at most; one more
            is refused (409 ``queue_full``). 0 = no limit.
        max_invitations: Open seat or stage invitations one room holds at most (409 ``queue_full``
            past them); they travel in the room metadata, so keep this small. 0 = no limit.
        request_ttl: Seconds a stage or speak request may stay pending; an older one is
            removed and its requester told (``utd.stage.request.expired``,
            ``utd.seat.request.expired``). 0 = requests never expire.
    """

    host: str = "127.0.0.1"
    port: int = 8787
    livekit_url: str | None = None
    livekit_api_key: str = "devkey"
    livekit_api_secret: str = ""
    apps: Mapping[str, str] = attrs.field(
        factory=lambda: {DEMO_APP_ID: DEMO_APP_KEY},
        converter=_freeze_apps,
        validator=_check_app_ids,
    )
    db_path: str = attrs.field(factory=lambda: str(default_db_path()))
    db_pool_size: int = 10
    ring_timeout: float = 30.0
    rejoin_grace: float = 30.0
    reconcile_interval: float = 30.0
    rate_limit: int = 30
    bans: frozenset[str] = attrs.field(factory=frozenset, converter=frozenset)
    cors_origins: tuple[str, ...] | None = attrs.field(default=None, converter=_origins)
    user_token_secret: str | None = None
    user_token_ttl: float = 24 * 3600.0
    livekit_token_ttl: float = 6 * 3600.0
    sse_keepalive: float = 15.0
    dev_mode: bool = False
    app_secrets: Mapping[str, str] = attrs.field(factory=dict, converter=_freeze_apps)
    rate_window: float = 60.0
    mint_limit_per_address: int = 300
    mint_limit_per_app: int = 6000
    room_limit_per_identity: int = 20
    room_limit_per_address: int = 60
    room_limit_per_app: int = 600
    call_limit_per_caller: int = 20
    call_limit_per_callee: int = 20
    call_limit_per_address: int = 120
    call_limit_per_app: int = 1200
    join_window: float = 20.0
    livekit_timeout: float = attrs.field(default=3.0, validator=attrs.validators.gt(0))
    header_timeout: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    body_timeout: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    max_connections_per_client: int = attrs.field(default=256, validator=attrs.validators.ge(0))
    max_pending_requests: int = 1000
    max_invitations: int = 64
    request_ttl: float = attrs.field(default=300.0, validator=attrs.validators.ge(0))

    @property
    def livekit_http_url(self) -> str | None:
        """The RoomService URL derived from :attr:`livekit_url`."""
        if self.livekit_url is None:
            return None
        url = self.livekit_url
        if url.startswith("ws://"):
            return "http://" + url[len("ws://") :]
        if url.startswith("wss://"):
            return "https://" + url[len("wss://") :]
        return url
