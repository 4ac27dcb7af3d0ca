"""``utd-stream``: the local stack and the demo, from the command line.

- ``utd-stream dev``: livekit-server and the reference engine on loopback until Ctrl-C.
- ``utd-stream dev --cluster``: the same scaled out (PostgreSQL, Redis, two LiveKit nodes, two
  engines, nginx in front), until Ctrl-C.
- ``utd-stream demo``: live sessions between synthetic participants on a fresh local stack.
- ``utd-stream install``: build the pinned livekit-server (once; later runs are instant).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .testing.engine import EngineError, LocalStack
from .testing.livekit_server import (
    LIVEKIT_SERVER_VERSION,
    LiveKitServerError,
    ensure_livekit_server,
)

if TYPE_CHECKING:  # imported where used: only `dev --cluster` needs it
    from .testing.cluster import LocalCluster

_DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "utd_stream_rx" / "dev"


class _CliError(Exception):
    """A problem the user can fix, reported as one line instead of a traceback."""


def _require_free(port: int, what: str, flag: str) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise _CliError(
                f"port {port} ({what}) is taken: stop whatever uses it or pick another with {flag}"
            ) from None


def _build_server() -> None:
    # ensure_livekit_server() prints its own progress while building (minutes, the first time).
    print(f"==> livekit-server {LIVEKIT_SERVER_VERSION} (built once, then cached)", flush=True)
    ensure_livekit_server()


def _app_secret(data_dir: Path) -> str:
    """The local app secret, kept in the data folder so a backend's copy stays valid."""
    path = data_dir / "app_secret"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


def _dev(args: argparse.Namespace) -> int:
    if args.cluster:
        return _dev_cluster(args)
    if args.json:
        raise _CliError("--json needs --cluster")
    _require_free(args.port, "engine", "--port")
    _require_free(args.livekit_port, "livekit-server", "--livekit-port")
    _build_server()
    data_dir = Path(args.data_dir or _DEFAULT_DATA_DIR).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = LocalStack(
        workdir=data_dir,
        engine_port=args.port,
        livekit_port=args.livekit_port,
        engine_args=_engine_args(args),
        secure=args.secure,
        app_secret=_app_secret(data_dir),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with stack:
        print(
            "==> the local stack is up (Ctrl-C stops it)\n"
            f"    engine          {stack.base_url}   (log {stack.engine.log_path})\n"
            f"    livekit-server  {stack.livekit.url}   (log {stack.livekit.log_path})\n"
            f"    data            {data_dir}\n"
            "    demo app credentials, for your shell:\n"
            f"      export UTD_STREAM_BASE_URL={stack.base_url}\n"
            f"      export UTD_STREAM_APP_ID={stack.app_id}\n"
            f"      export UTD_STREAM_APP_KEY={stack.app_key}",
            flush=True,
        )
        _print_mode(stack.secure, stack.app_secret)
        _wait_for_stop(stop, lambda: stack.engine.running and stack.livekit.running)
        print("\n==> stopping", flush=True)
    return 0


def _print_mode(secure: bool, app_secret: str) -> None:
    """How identities are checked: the secret for the backend, or the dev-mode warning."""
    if secure:
        print(
            "    production mode: a bearer needs an identity token that your app's backend\n"
            "    signs (HS256) with the app secret; give UTDStreamClient a token_provider.\n"
            "    app secret, for your BACKEND only (never ship it in an app):\n"
            f"      export UTD_STREAM_APP_SECRET={app_secret}",
            flush=True,
        )
    else:
        print(
            "    INSECURE dev mode: the engine takes every client at its word about who it\n"
            "    is. Fine on your machine; `utd-stream dev --secure` runs production mode.",
            flush=True,
        )


def _dev_cluster(args: argparse.Namespace) -> int:
    """``dev --cluster``: PostgreSQL, Redis, two LiveKit nodes, two engines and nginx."""
    _require_free(args.port, "load balancer", "--port")
    # With --json, stdout carries the JSON object only; progress goes to stderr.
    progress = sys.stderr if args.json else sys.stdout
    with contextlib.redirect_stdout(progress):
        _build_server()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("==> starting the local cluster", file=progress, flush=True)
    cluster = _start_cluster(args)
    try:
        if args.json:
            print(json.dumps(cluster.describe()), flush=True)
        else:
            _print_cluster(cluster)
        _wait_for_stop(stop, cluster.all_running)
    finally:
        print("\n==> stopping", file=progress, flush=True)
        cluster.cleanup()
    return 0


def _start_cluster(args: argparse.Namespace) -> LocalCluster:
    from .testing.cluster import LocalCluster
    from .testing.load_balancer import LoadBalancerError
    from .testing.postgres import PostgresError
    from .testing.redis import RedisError

    workdir = Path(args.data_dir).expanduser() / "cluster" if args.data_dir else None
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        cluster = LocalCluster(
            workdir=workdir,
            port=args.port,
            engine_args=_engine_args(args),
            secure=args.secure,
            app_secret=_app_secret(workdir) if workdir is not None else None,
        )
        return cluster.start()
    except (PostgresError, RedisError, LoadBalancerError) as exc:
        raise _CliError(str(exc)) from None


def _print_cluster(cluster: LocalCluster) -> None:
    balancer = cluster.load_balancer
    lines = [f"    load balancer   {balancer.base_url}   (nginx, log {balancer.log_path})"]
    for number, engine in enumerate(cluster.engines, 1):
        lines.append(f"    engine {number}        {engine.base_url}   (log {engine.log_path})")
    for number, node in enumerate(cluster.livekit_nodes, 1):
        lines.append(f"    livekit node {number}  {node.url}   (log {node.log_path})")
    lines.append(f"    redis           {cluster.redis.address}   (log {cluster.redis.log_path})")
    lines.append(f"    postgresql      {cluster.database}   (log {cluster.postgres.log_path})")
    lines.append(f"    data            {cluster.workdir}")
    print(
        "==> the local cluster is up (Ctrl-C stops it)\n" + "\n".join(lines) + "\n"
        "    demo app credentials, for your shell:\n"
        f"      export UTD_STREAM_BASE_URL={cluster.base_url}\n"
        f"      export UTD_STREAM_APP_ID={cluster.app_id}\n"
        f"      export UTD_STREAM_APP_KEY={cluster.app_key}",
        flush=True,
    )
    _print_mode(cluster.secure, cluster.app_secret)


def _wait_for_stop(stop: threading.Event, running: Callable[[], bool]) -> None:
    """Until Ctrl-C or SIGTERM; :class:`_CliError` if a process exits meanwhile."""
    try:
        while not stop.wait(0.5):
            if not running():
                raise _CliError("a process of the stack exited; see its log")
    except KeyboardInterrupt:
        pass


def _engine_args(args: argparse.Namespace) -> list[str]:
    return ["--ring-timeout", str(args.ring_timeout), "--request-ttl", str(args.request_ttl)]


def _demo(args: argparse.Namespace) -> int:
    from .demo.sessions import run_sessions_demo
    from .testing.tone_demo import run_tone_demo

    _build_server()
    print("==> starting livekit-server and the reference engine on 127.0.0.1", flush=True)
    stack = LocalStack()
    try:
        stack.start()
        print(f"    engine {stack.base_url}, livekit-server {stack.livekit.url}", flush=True)
        print(
            "    (the engine runs its INSECURE dev mode: clients assert who they are)",
            flush=True,
        )
        print("==> raw LiveKit: a 440 Hz tone from alice to bob through the SFU", flush=True)
        tone = asyncio.run(run_tone_demo(stack.livekit, seconds=args.seconds))
        tone_ok = tone.rms > 0.05 and abs(tone.dominant_hz - 440.0) < 10.0
        print(f"    bob heard {tone.dominant_hz:.0f} Hz at {tone.rms:.2f} RMS", flush=True)
        report = asyncio.run(run_sessions_demo(stack.app_id, stack.app_key, stack.base_url))
    finally:
        stack.cleanup()
    print("==> what each participant received")
    print(f"  {'ok  ' if tone_ok else 'FAIL'} raw tone crossed the SFU")
    for line in report.lines:
        print(f"  {line}")
    ok = tone_ok and not report.failures
    print(f"==> {'OK' if ok else 'FAILED'}: {len(report.lines) + 1} checks", flush=True)
    return 0 if ok else 1


def _install(args: argparse.Namespace) -> int:
    path = ensure_livekit_server()
    print(f"livekit-server {LIVEKIT_SERVER_VERSION} ready at {path}", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="utd-stream", description="utd_stream_rx's local stack and demo."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run livekit-server and the reference engine until Ctrl-C")
    dev.add_argument("--port", type=int, default=8787, help="engine port (default 8787)")
    dev.add_argument(
        "--livekit-port", type=int, default=7880, help="livekit-server port (default 7880)"
    )
    dev.add_argument(
        "--data-dir",
        default=None,
        help=f"engine database and logs, kept across runs (default {_DEFAULT_DATA_DIR}; "
        "with --cluster a fresh temporary folder unless given)",
    )
    dev.add_argument(
        "--ring-timeout", type=float, default=30.0, help="seconds before a call is missed"
    )
    dev.add_argument(
        "--request-ttl",
        type=float,
        default=300.0,
        help="seconds a stage or speak request stays pending before it expires (0 = never)",
    )
    dev.add_argument(
        "--secure",
        action="store_true",
        help="production mode: identities need identity tokens signed with the app secret "
        "(printed at start) instead of the INSECURE dev mode's asserted identities",
    )
    dev.add_argument(
        "--cluster",
        action="store_true",
        help="the scaled-out stack: PostgreSQL, Redis, two LiveKit nodes on it, two engines "
        "on one database and nginx in front of them (--port is then nginx's port)",
    )
    dev.add_argument(
        "--json",
        action="store_true",
        help="with --cluster: print one JSON object saying what runs where, instead of text",
    )
    dev.set_defaults(func=_dev)

    demo = sub.add_parser("demo", help="run live sessions on a fresh local stack and show them")
    demo.add_argument("--seconds", type=float, default=2.0, help="how long to listen to the tone")
    demo.set_defaults(func=_demo)

    install = sub.add_parser("install", help="build the pinned livekit-server if needed")
    install.set_defaults(func=_install)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``utd-stream`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # The native layer warns about routine teardown races; they are noise in a demo.
        logging.getLogger("livekit").setLevel(logging.ERROR)
    try:
        result: int = args.func(args)
        return result
    except (LiveKitServerError, EngineError, _CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
