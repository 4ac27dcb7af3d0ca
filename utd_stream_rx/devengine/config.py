"""Settings of the reference engine."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

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
        apps: ``app_id -> app_key`` pairs accepted in the app headers.
        app_secrets: ``app_id -> app secret``: the secret an app's own backend signs identity
            tokens with (and authenticates server-to-server calls such as bans). Never shipped
            in an app.
        db_path: SQLite file, or ``":memory:"``.
        ring_timeout: Seconds before an unanswered call becomes ``missed``.
        rejoin_grace: Seconds a participant whom LiveKit lost without them leaving (a server
            shutting down, a room started again) keeps their seat or stage place while they
            reconnect; released after that unless they are back in the room.
        reconcile_interval: Seconds between two passes that compare the engine's holders and
            calls with the participants LiveKit lists (absent ones get the rejoin grace, lost
            grants are sent again); 0 disables the periodic pass (the one at start-up and the
            ones after a LiveKit outage still run).
        rate_limit: Token mints allowed per app and identity per minute (0 disables).
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
        max_pending_requests: Pending stage or speak requests one room holds at most; one more
            is refused (409 ``queue_full``). 0 = no limit.
        max_invitations: Open seat invitations one room holds at most (409 ``queue_full``
            past them); they travel in the room metadata, so keep this small. 0 = no limit.
    """

    host: str = "127.0.0.1"
    port: int = 8787
    livekit_url: str | None = None
    livekit_api_key: str = "devkey"
    livekit_api_secret: str = ""
    apps: Mapping[str, str] = attrs.field(
        factory=lambda: {DEMO_APP_ID: DEMO_APP_KEY}, converter=_freeze_apps
    )
    db_path: str = attrs.field(factory=lambda: str(default_db_path()))
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
    max_pending_requests: int = 1000
    max_invitations: int = 64

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
