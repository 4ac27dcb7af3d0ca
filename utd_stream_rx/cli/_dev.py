"""``utd-stream dev``: livekit-server and the reference engine on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from ..testing.engine import LocalStack
from ._banner import export_lines, print_mode
from ._cluster import run_dev_cluster
from ._common import DEFAULT_DATA_DIR, app_secret, build_server, engine_args, require_free
from ._errors import CliError
from ._watch import wait_for_stop

__all__ = ["run_dev"]


def run_dev(args: argparse.Namespace) -> int:
    """Run the local stack (or, with ``--cluster``, the local cluster) until Ctrl-C."""
    if args.cluster:
        return run_dev_cluster(args)
    if args.json:
        raise CliError("--json needs --cluster")
    require_free(args.port, "engine", "--port")
    require_free(args.livekit_port, "livekit-server", "--livekit-port")
    build_server()
    data_dir = Path(args.data_dir or DEFAULT_DATA_DIR).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = LocalStack(
        workdir=data_dir,
        engine_port=args.port,
        livekit_port=args.livekit_port,
        engine_args=engine_args(args),
        secure=args.secure,
        app_secret=app_secret(data_dir),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with stack:
        print(
            "==> the local stack is up (Ctrl-C stops it)\n"
            f"    engine          {stack.base_url}   (log {stack.engine.log_path})\n"
            f"    livekit-server  {stack.livekit.url}   (log {stack.livekit.log_path})\n"
            f"    data            {data_dir}\n"
            + export_lines(stack.base_url, stack.app_id, stack.app_key),
            flush=True,
        )
        print_mode(stack.secure, stack.app_secret)
        wait_for_stop(stop, [("the engine", stack.engine), ("livekit-server", stack.livekit)])
        print("\n==> stopping", flush=True)
    return 0
