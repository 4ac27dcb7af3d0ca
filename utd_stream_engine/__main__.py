"""``python -m utd_stream_engine``: the reference engine on loopback."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from .arg_types import (
    LOG_LEVELS,
    OneLineErrorParser,
    count,
    known_log_level,
    log_level,
    non_negative_seconds,
    port_number,
    positive_count,
    positive_seconds,
)
from .config import DEMO_APP_ID, DEMO_APP_KEY, EngineConfig, default_db_path, normalize_origin
from .errors import StorageUnavailable
from .names import APP_ID_RULE, is_app_id
from .server import raise_open_files_limit, run
from .sqlite_storage import SQLiteStorage
from .storage import redacted, sqlite_path, storage_kind

__all__ = ["main", "parse_args"]

T = TypeVar("T")


def _app_pair(text: str) -> tuple[str, str]:
    app_id, sep, app_key = text.partition(":")
    if not sep or not app_id or not app_key:
        raise argparse.ArgumentTypeError("expected APP_ID:APP_KEY")
    if not is_app_id(app_id):
        raise argparse.ArgumentTypeError(f"the app id {app_id!r} is not {APP_ID_RULE}")
    return app_id, app_key


def _env_list(name: str) -> list[str]:
    """The comma-separated items of ``$name``, blank ones dropped."""
    return [item for item in os.environ.get(name, "").split(",") if item.strip()]


def _storage_url(text: str) -> str:
    """A storage URL of a known kind (or a SQLite path)."""
    try:
        storage_kind(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _secret_pair(text: str) -> tuple[str, str]:
    app_id, sep, secret = text.partition(":")
    if not sep or not app_id or not secret:
        raise argparse.ArgumentTypeError("expected APP_ID:APP_SECRET")
    if len(secret) < 32:
        raise argparse.ArgumentTypeError("an app secret needs at least 32 characters")
    return app_id, secret


_RATE_LIMITS = (
    ("mint_limit_per_address", "token mints per client address"),
    ("mint_limit_per_app", "token mints per app"),
    ("room_limit_per_identity", "rooms created per app and identity"),
    ("room_limit_per_address", "rooms created per client address"),
    ("room_limit_per_app", "rooms created per app"),
    ("call_limit_per_caller", "calls placed per app and caller"),
    ("call_limit_per_callee", "calls ringing one identity"),
    ("call_limit_per_address", "calls placed per client address"),
    ("call_limit_per_app", "calls placed per app"),
)
"""The rate limits beyond ``--rate-limit``: setting name and what it counts."""

_TUNING: tuple[tuple[str, Callable[[str], object], str], ...] = (
    ("ring_timeout", positive_seconds, "seconds a call rings before it is missed"),
    (
        "rejoin_grace",
        non_negative_seconds,
        "seconds a participant lost by LiveKit (server restart) keeps its seat or stage place",
    ),
    (
        "reconcile_interval",
        non_negative_seconds,
        "seconds between checks of holders and calls against LiveKit's participants "
        "(0 = only at start-up and after a LiveKit outage)",
    ),
    ("rate_limit", count, "token mints per app and identity per rate window (0 = unlimited)"),
    ("user_token_ttl", positive_seconds, "lifetime of a bearer, seconds"),
    ("rate_window", positive_seconds, "seconds over which every rate limit counts"),
    *(
        (name, count, f"{counted} per rate window (0 = unlimited)")
        for name, counted in _RATE_LIMITS
    ),
    (
        "livekit_timeout",
        positive_seconds,
        "seconds a LiveKit server API call may take before a command is answered "
        "without it (the reconciler sends what was missed)",
    ),
    (
        "header_timeout",
        non_negative_seconds,
        "seconds a new connection has to send its request headers (0 = no limit)",
    ),
    ("body_timeout", positive_seconds, "seconds a request body may take to arrive"),
    (
        "max_connections_per_client",
        count,
        "connections one client address may hold open at once (0 = no cap)",
    ),
    (
        "join_window",
        non_negative_seconds,
        "seconds after a room token is minted during which its identity may take a seat "
        "or ask for one before LiveKit reports it in the room (0 = only once it is there)",
    ),
    (
        "max_pending_requests",
        count,
        "pending stage or speak requests one room holds at most (0 = no limit)",
    ),
    ("max_invitations", count, "open seat or stage invitations a room holds (0 = no limit)"),
    (
        "request_ttl",
        non_negative_seconds,
        "seconds a stage or speak request stays pending before it expires (0 = never)",
    ),
)
"""Numeric settings: name, type, help. Each has a flag (``--ring-timeout``), a variable
(``UTD_ENGINE_RING_TIMEOUT``) and the default of :class:`EngineConfig`."""


def _from_env(
    parser: argparse.ArgumentParser, variable: str, kind: Callable[[str], T], fallback: str
) -> T:
    """``$variable`` (else ``fallback``) converted by ``kind``; a bad value is a usage error
    naming the variable."""
    try:
        return kind(os.environ.get(variable, fallback))
    except argparse.ArgumentTypeError as exc:
        parser.error(f"${variable}: {exc}")


def _add_tuning(parser: argparse.ArgumentParser) -> None:
    """One flag per setting of :data:`_TUNING`; the variable, else the setting's default."""
    defaults = EngineConfig()
    for name, kind, text in _TUNING:
        variable = "UTD_ENGINE_" + name.upper()
        default = getattr(defaults, name)
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            default=_from_env(parser, variable, kind, str(default)),
            help=f"{text} (${variable}; default {default:g})",
        )


def _add_connections(parser: argparse.ArgumentParser) -> None:
    """Where the engine listens, its database and the LiveKit server it drives."""
    env = os.environ
    parser.add_argument(
        "--host",
        default=env.get("UTD_ENGINE_HOST", "127.0.0.1"),
        help="the address to listen on ($UTD_ENGINE_HOST; default 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=_from_env(parser, "UTD_ENGINE_PORT", port_number, "8787"),
        help="the HTTP port, 1-65535 ($UTD_ENGINE_PORT; default 8787)",
    )
    parser.add_argument(
        "--db",
        type=_storage_url,
        default=env.get("UTD_ENGINE_DB", str(default_db_path())),
        metavar="URL",
        help="a SQLite file or sqlite:///path (one instance), or postgresql://user@host:port/db"
        " shared by any number of instances ($UTD_ENGINE_DB; default "
        "$UTD_STREAM_CACHE/engine.sqlite3, the cache being ~/.cache/utd_stream_rx)",
    )
    parser.add_argument(
        "--db-pool-size",
        type=positive_count,
        default=_from_env(parser, "UTD_ENGINE_DB_POOL_SIZE", positive_count, "10"),
        help="most PostgreSQL connections of this instance ($UTD_ENGINE_DB_POOL_SIZE; "
        "default 10)",
    )
    _add_livekit(parser)
    parser.add_argument(
        "--log-level",
        type=log_level,
        choices=LOG_LEVELS,
        default=_from_env(parser, "UTD_ENGINE_LOG_LEVEL", known_log_level, "INFO"),
        help="how much the engine logs, any case ($UTD_ENGINE_LOG_LEVEL; default INFO)",
    )


def _add_livekit(parser: argparse.ArgumentParser) -> None:
    """The LiveKit server the engine hands out and drives."""
    env = os.environ
    parser.add_argument(
        "--livekit-url",
        default=env.get("LIVEKIT_URL", "ws://127.0.0.1:7880"),
        help="the LiveKit websocket URL given to clients; its http(s) twin is used for the "
        "server API ($LIVEKIT_URL; default ws://127.0.0.1:7880)",
    )
    parser.add_argument(
        "--livekit-api-key",
        default=env.get("LIVEKIT_API_KEY", "devkey"),
        help="the LiveKit API key ($LIVEKIT_API_KEY; default devkey)",
    )
    parser.add_argument(
        "--livekit-api-secret",
        default=env.get("LIVEKIT_API_SECRET", ""),
        help="LiveKit API secret (required; better passed as $LIVEKIT_API_SECRET than in argv)",
    )


def _add_trust(parser: argparse.ArgumentParser) -> None:
    """Apps, their secrets, dev mode, bans, browser origins and the bearer's secret."""
    env = os.environ
    parser.add_argument(
        "--app",
        action="append",
        type=_app_pair,
        metavar="APP_ID:APP_KEY",
        help=f"accepted app credentials, repeatable (no variable; default the demo app "
        f"{DEMO_APP_ID}:{DEMO_APP_KEY})",
    )
    parser.add_argument(
        "--app-secret",
        action="append",
        type=_secret_pair,
        default=[],
        metavar="APP_ID:APP_SECRET",
        help="the secret an app's backend signs identity tokens with; repeatable "
        "(better passed as $UTD_ENGINE_APP_SECRETS=id:secret,... than in argv)",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        default=env.get("UTD_ENGINE_DEV", "") == "1",
        help="INSECURE dev mode: accept identities the client asserts, without proof "
        "($UTD_ENGINE_DEV=1)",
    )
    parser.add_argument(
        "--ban",
        action="append",
        default=[],
        metavar="IDENTITY",
        help="an identity refused on every endpoint; repeatable "
        "(and $UTD_ENGINE_BANS=id,id,...)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin (scheme://host[:port]) allowed to call the engine from a browser, "
        "or * for any; repeatable (and $UTD_ENGINE_CORS_ORIGINS=origin,...; default: none; "
        "the loopback ones in dev mode)",
    )
    parser.add_argument(
        "--user-token-secret",
        default=env.get("UTD_ENGINE_USER_TOKEN_SECRET") or None,
        help="the HS256 secret bearers are signed with (better passed as "
        "$UTD_ENGINE_USER_TOKEN_SECRET than in argv; default: generated once, kept in the db)",
    )


def _config_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> EngineConfig:
    """The configuration the parsed flags and the ``UTD_ENGINE_*`` lists describe."""
    try:
        secrets = dict(_secret_pair(item) for item in _env_list("UTD_ENGINE_APP_SECRETS"))
    except argparse.ArgumentTypeError as exc:
        parser.error(f"$UTD_ENGINE_APP_SECRETS: {exc}")
    secrets.update(args.app_secret)
    if not args.livekit_api_secret:
        parser.error("set the LiveKit API secret: $LIVEKIT_API_SECRET or --livekit-api-secret")
    bans = set(args.ban)
    bans.update(_env_list("UTD_ENGINE_BANS"))
    origins = [*args.cors_origin, *_env_list("UTD_ENGINE_CORS_ORIGINS")]
    try:
        cors_origins = tuple(normalize_origin(origin) for origin in origins) or None
    except ValueError as exc:
        parser.error(str(exc))
    return EngineConfig(
        host=args.host,
        port=args.port,
        livekit_url=args.livekit_url,
        livekit_api_key=args.livekit_api_key,
        livekit_api_secret=args.livekit_api_secret,
        apps=dict(args.app) if args.app else {DEMO_APP_ID: DEMO_APP_KEY},
        db_path=args.db,
        db_pool_size=args.db_pool_size,
        bans=frozenset(bans),
        cors_origins=cors_origins,
        user_token_secret=args.user_token_secret,
        dev_mode=args.dev,
        app_secrets=secrets,
        **{name: getattr(args, name) for name, _, _ in _TUNING},
    )


def parse_args(argv: Sequence[str] | None = None) -> EngineConfig:
    """Build the configuration from flags, falling back to ``UTD_ENGINE_*``/``LIVEKIT_*`` env."""
    parser = OneLineErrorParser(
        prog="python -m utd_stream_engine", description="utd_stream_rx reference engine"
    )
    _add_connections(parser)
    _add_trust(parser)
    _add_tuning(parser)
    args = parser.parse_args(argv)
    config = _config_from(args, parser)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Run the engine until interrupted; 2 when its database cannot be used at start."""
    # A write past the process's file size limit (RLIMIT_FSIZE) must fail as an error the
    # engine answers (503), not kill the process with SIGXFSZ. CPython ignores it by
    # default; an embedding interpreter may not.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    config = parse_args(argv)
    try:
        if storage_kind(config.db_path) == "sqlite":
            # An unusable data folder: one line, no traceback.
            SQLiteStorage(sqlite_path(config.db_path)).close_now()
        return _serve(config)
    except StorageUnavailable as exc:
        where = redacted(config.db_path)
        print(f"engine: cannot use the database {where}: {exc.reason}", file=sys.stderr)
        return 2


def _serve(config: EngineConfig) -> int:
    open_files = raise_open_files_limit()  # before any connection is accepted
    logging.getLogger(__name__).info(
        "engine on http://%s:%d (LiveKit %s, db %s, open files limit %s)",
        config.host,
        config.port,
        config.livekit_url,
        redacted(config.db_path),
        open_files,
    )
    if config.dev_mode:
        logging.getLogger(__name__).warning(
            "INSECURE dev mode: identities asserted by clients are accepted without proof; "
            "never expose this engine"
        )
    run(config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
