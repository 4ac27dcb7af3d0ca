"""``utd-stream demo`` and ``utd-stream install``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ..testing.engine import LocalStack
from ..testing.livekit_server import LIVEKIT_SERVER_VERSION, ensure_livekit_server
from ._common import build_server

__all__ = ["run_demo", "run_install"]


def run_demo(args: argparse.Namespace) -> int:
    """Live sessions between synthetic participants on a fresh local stack; 1 if a check
    failed."""
    from ..demo.sessions import run_sessions_demo
    from ..testing.tone_demo import run_tone_demo

    build_server()
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


def run_install(args: argparse.Namespace) -> int:
    """Build the pinned livekit-server if needed and say where it is."""
    path = ensure_livekit_server()
    print(f"livekit-server {LIVEKIT_SERVER_VERSION} ready at {path}", file=sys.stderr)
    return 0
