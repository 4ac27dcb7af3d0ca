"""``utd-stream``: the local stack and the demo, from the command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from .testing.livekit_server import (
    LIVEKIT_SERVER_VERSION,
    LiveKitServer,
    LiveKitServerError,
    ensure_livekit_server,
)


def _demo(args: argparse.Namespace) -> int:
    from .demo.tone import run_tone_demo

    print(f"==> starting livekit-server {LIVEKIT_SERVER_VERSION} on 127.0.0.1")
    with LiveKitServer() as server:
        print(f"    {server.url} (log: {server.log_path})")
        print("==> tone: alice -> SFU -> bob")
        stats = asyncio.run(run_tone_demo(server, seconds=args.seconds))
    ok = stats.rms > 0.05 and abs(stats.dominant_hz - 440.0) < 10.0
    print(
        f"==> {'OK' if ok else 'FAILED'}: the tone {'arrived' if ok else 'did not arrive'} intact"
    )
    return 0 if ok else 1


def _install(args: argparse.Namespace) -> int:
    path = ensure_livekit_server()
    print(f"livekit-server {LIVEKIT_SERVER_VERSION} ready at {path}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``utd-stream`` console script."""
    parser = argparse.ArgumentParser(prog="utd-stream", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run live sessions on the local stack and show them")
    demo.add_argument("--seconds", type=float, default=2.0, help="how long to listen")
    demo.set_defaults(func=_demo)
    install = sub.add_parser("install", help="build the pinned livekit-server if needed")
    install.set_defaults(func=_install)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        result: int = args.func(args)
        return result
    except LiveKitServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
