"""``python -m utd_stream_rx.devengine``: the reference engine on loopback."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from .config import DEMO_APP_ID, DEMO_APP_KEY, EngineConfig, default_db_path, normalize_origin
from .errors import StorageUnavailable
from .names import APP_ID_RULE, is_app_id
from .server import raise_open_files_limit, run
from .storage import SQLiteStorage

__all__ = ["main", "parse_args"]


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


def _seconds(text: str) -> float:
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


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


def _add_rate_limits(parser: argparse.ArgumentParser) -> None:
    """``--rate-window`` and one flag per limit of :data:`_RATE_LIMITS` (``--call-limit-per-
    caller`` ...), each with a ``UTD_ENGINE_*`` variable and the setting's default."""
    env = os.environ
    defaults = EngineConfig()
    parser.add_argument(
        "--rate-window",
        type=float,
        default=float(env.get("UTD_ENGINE_RATE_WINDOW", str(defaults.rate_window))),
        help="seconds over which every rate limit counts",
    )
    for name, counted in _RATE_LIMITS:
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=int(env.get("UTD_ENGINE_" + name.upper(), str(getattr(defaults, name)))),
            help=f"{counted} per rate window (0 = unlimited)",
        )


def parse_args(argv: Sequence[str] | None = None) -> EngineConfig:
    """Build the configuration from flags, falling back to ``UTD_ENGINE_*``/``LIVEKIT_*`` env."""
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m utd_stream_rx.devengine", description="utd_stream_rx reference engine"
    )
    parser.add_argument("--host", default=env.get("UTD_ENGINE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("UTD_ENGINE_PORT", "8787")))
    parser.add_argument("--livekit-url", default=env.get("LIVEKIT_URL", "ws://127.0.0.1:7880"))
    parser.add_argument("--livekit-api-key", default=env.get("LIVEKIT_API_KEY", "devkey"))
    parser.add_argument(
        "--livekit-api-secret",
        default=env.get("LIVEKIT_API_SECRET", ""),
        help="LiveKit API secret (required; better passed as $LIVEKIT_API_SECRET than in argv)",
    )
    parser.add_argument(
        "--app",
        action="append",
        type=_app_pair,
        metavar="APP_ID:APP_KEY",
        help=f"accepted app credentials (default {DEMO_APP_ID}:{DEMO_APP_KEY})",
    )
    parser.add_argument(
        "--app-secret",
        action="append",
        type=_secret_pair,
        default=[],
        metavar="APP_ID:APP_SECRET",
        help="the secret an app's backend signs identity tokens with "
        "(better passed as $UTD_ENGINE_APP_SECRETS=id:secret,... than in argv)",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        default=env.get("UTD_ENGINE_DEV", "") == "1",
        help="INSECURE dev mode: accept identities the client asserts, without proof",
    )
    parser.add_argument("--db", default=env.get("UTD_ENGINE_DB", str(default_db_path())))
    parser.add_argument(
        "--ring-timeout", type=float, default=float(env.get("UTD_ENGINE_RING_TIMEOUT", "30"))
    )
    parser.add_argument(
        "--rejoin-grace",
        type=float,
        default=float(env.get("UTD_ENGINE_REJOIN_GRACE", "30")),
        help="seconds a participant lost by LiveKit (server restart) keeps its seat or stage place",
    )
    parser.add_argument(
        "--reconcile-interval",
        type=float,
        default=float(env.get("UTD_ENGINE_RECONCILE_INTERVAL", "30")),
        help="seconds between checks of holders and calls against LiveKit's participants "
        "(0 = only at start-up and after a LiveKit outage)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=int(env.get("UTD_ENGINE_RATE_LIMIT", "30")),
        help="token mints per app and identity per rate window (0 = unlimited)",
    )
    parser.add_argument("--ban", action="append", default=[], metavar="IDENTITY")
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin (scheme://host[:port]) allowed to call the engine from a browser, "
        "or * for any; repeatable (default: none; the loopback ones in dev mode)",
    )
    parser.add_argument(
        "--user-token-secret", default=env.get("UTD_ENGINE_USER_TOKEN_SECRET") or None
    )
    parser.add_argument(
        "--user-token-ttl",
        type=float,
        default=float(env.get("UTD_ENGINE_USER_TOKEN_TTL", str(24 * 3600))),
        help="lifetime of a bearer, seconds",
    )
    parser.add_argument("--log-level", default=env.get("UTD_ENGINE_LOG_LEVEL", "INFO"))
    _add_rate_limits(parser)
    parser.add_argument(
        "--livekit-timeout",
        type=_seconds,
        default=float(env.get("UTD_ENGINE_LIVEKIT_TIMEOUT", "3")),
        help="seconds a LiveKit server API call may take before a command is answered "
        "without it (the reconciler sends what was missed)",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=float(env.get("UTD_ENGINE_HEADER_TIMEOUT", "10")),
        help="seconds a new connection has to send its request headers (0 = no limit)",
    )
    parser.add_argument(
        "--body-timeout",
        type=_seconds,
        default=float(env.get("UTD_ENGINE_BODY_TIMEOUT", "10")),
        help="seconds a request body may take to arrive",
    )
    parser.add_argument(
        "--max-connections-per-client",
        type=int,
        default=int(env.get("UTD_ENGINE_MAX_CONNECTIONS_PER_CLIENT", "256")),
        help="connections one client address may hold open at once (0 = no cap)",
    )
    parser.add_argument(
        "--join-window",
        type=float,
        default=float(env.get("UTD_ENGINE_JOIN_WINDOW", "20")),
        help="seconds after a room token is minted during which its identity may take a seat "
        "or ask for one before LiveKit reports it in the room (0 = only once it is there)",
    )
    parser.add_argument(
        "--max-pending-requests",
        type=int,
        default=int(env.get("UTD_ENGINE_MAX_PENDING_REQUESTS", "1000")),
        help="pending stage or speak requests one room holds at most (0 = no limit)",
    )
    parser.add_argument(
        "--max-invitations",
        type=int,
        default=int(env.get("UTD_ENGINE_MAX_INVITATIONS", "64")),
        help="open seat invitations one room holds at most (0 = no limit)",
    )
    args = parser.parse_args(argv)
    try:
        secrets = dict(_secret_pair(item) for item in _env_list("UTD_ENGINE_APP_SECRETS"))
    except argparse.ArgumentTypeError as exc:
        parser.error(f"$UTD_ENGINE_APP_SECRETS: {exc}")
    secrets.update(args.app_secret)
    if not args.livekit_api_secret:
        parser.error("set the LiveKit API secret: $LIVEKIT_API_SECRET or --livekit-api-secret")
    apps = dict(args.app) if args.app else {DEMO_APP_ID: DEMO_APP_KEY}
    bans = set(args.ban)
    bans.update(_env_list("UTD_ENGINE_BANS"))
    origins = [*args.cors_origin, *_env_list("UTD_ENGINE_CORS_ORIGINS")]
    try:
        cors_origins = tuple(normalize_origin(origin) for origin in origins) or None
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return EngineConfig(
        host=args.host,
        port=args.port,
        livekit_url=args.livekit_url,
        livekit_api_key=args.livekit_api_key,
        livekit_api_secret=args.livekit_api_secret,
        apps=apps,
        db_path=args.db,
        ring_timeout=args.ring_timeout,
        rejoin_grace=args.rejoin_grace,
        reconcile_interval=args.reconcile_interval,
        rate_limit=args.rate_limit,
        bans=frozenset(bans),
        cors_origins=cors_origins,
        user_token_secret=args.user_token_secret,
        user_token_ttl=args.user_token_ttl,
        dev_mode=args.dev,
        app_secrets=secrets,
        rate_window=args.rate_window,
        **{name: getattr(args, name) for name, _ in _RATE_LIMITS},
        livekit_timeout=args.livekit_timeout,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_connections_per_client=args.max_connections_per_client,
        join_window=args.join_window,
        max_pending_requests=args.max_pending_requests,
        max_invitations=args.max_invitations,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the engine until interrupted; 2 when its database cannot be used at start."""
    # A write past the process's file size limit (RLIMIT_FSIZE) must fail as an error the
    # engine answers (503), not kill the process with SIGXFSZ. CPython ignores it by
    # default; an embedding interpreter may not.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    config = parse_args(argv)
    try:
        SQLiteStorage(config.db_path).close()  # an unusable data folder: one line, no traceback
        return _serve(config)
    except StorageUnavailable as exc:
        print(f"engine: cannot use the database {config.db_path}: {exc.reason}", file=sys.stderr)
        return 2


def _serve(config: EngineConfig) -> int:
    open_files = raise_open_files_limit()  # before any connection is accepted
    logging.getLogger(__name__).info(
        "engine on http://%s:%d (LiveKit %s, db %s, open files limit %s)",
        config.host,
        config.port,
        config.livekit_url,
        config.db_path,
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
