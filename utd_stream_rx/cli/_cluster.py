"""``utd-stream dev --cluster``: PostgreSQL, Redis, two LiveKit nodes, two engines and nginx."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ._banner import export_lines, print_mode
from ._common import app_secret, build_server, engine_args, require_free
from ._errors import CliError
from ._watch import wait_for_stop

if TYPE_CHECKING:  # imported where used: only `dev --cluster` needs it
    from ..testing.children import ChildProcess
    from ..testing.cluster import LocalCluster

__all__ = ["cluster_parts", "run_dev_cluster"]


def run_dev_cluster(args: argparse.Namespace) -> int:
    """Run the local cluster until Ctrl-C; with ``--json``, print what runs where as JSON."""
    require_free(args.port, "load balancer", "--port")
    # With --json, stdout carries the JSON object only; progress goes to stderr.
    progress = sys.stderr if args.json else sys.stdout
    with contextlib.redirect_stdout(progress):
        build_server()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("==> starting the local cluster", file=progress, flush=True)
    cluster = _start_cluster(args)
    try:
        if args.json:
            print(json.dumps(cluster.describe()), flush=True)
        else:
            _print_cluster(cluster)
        wait_for_stop(stop, cluster_parts(cluster))
    finally:
        print("\n==> stopping", file=progress, flush=True)
        cluster.cleanup()
    return 0


def cluster_parts(cluster: LocalCluster) -> list[tuple[str, ChildProcess]]:
    """Every process of ``cluster`` with the name a report gives it."""
    parts: list[tuple[str, ChildProcess]] = [("the load balancer (nginx)", cluster.load_balancer)]
    parts += [(f"engine {n}", engine) for n, engine in enumerate(cluster.engines, 1)]
    parts += [(f"livekit node {n}", node) for n, node in enumerate(cluster.livekit_nodes, 1)]
    parts += [("redis", cluster.redis), ("postgresql", cluster.postgres)]
    return parts


def _start_cluster(args: argparse.Namespace) -> LocalCluster:
    from ..testing.cluster import LocalCluster
    from ..testing.load_balancer import LoadBalancerError
    from ..testing.postgres import PostgresError
    from ..testing.redis import RedisError

    workdir = Path(args.data_dir).expanduser() / "cluster" if args.data_dir else None
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        cluster = LocalCluster(
            workdir=workdir,
            port=args.port,
            engine_args=engine_args(args),
            secure=args.secure,
            app_secret=app_secret(workdir) if workdir is not None else None,
        )
        return cluster.start()
    except (PostgresError, RedisError, LoadBalancerError) as exc:
        raise CliError(str(exc)) from None


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
        + export_lines(cluster.base_url, cluster.app_id, cluster.app_key),
        flush=True,
    )
    print_mode(cluster.secure, cluster.app_secret)
