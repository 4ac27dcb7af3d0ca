"""The engine under load: 200 clients in 4 load processes run a realistic command mix for 30 s
against one SQLite engine, one PostgreSQL engine, and one and two PostgreSQL engines behind
nginx, with the minimal token handler measured beside them, in one run.

The mix (see ``_load_mix.py``): token mints, seat take and leave in audio rooms, stage request,
invite and removal in live streams, call start, ringing, answer and end between pairs of users.
Each configuration reports throughput (commands per second), p50 and p99 latency overall and
per command kind, the 4xx answers a realistic race produces (allowed, counted by cause), the
failures (5xx, connection errors, timeouts: there must be none, else exit 1), the cores each
part of the machine kept busy, and commands per CPU second of the server (what a command
costs it, whatever share of a shared machine it got).

Ratios of rounds measured side by side: the engine's mints under the mix (on SQLite) against
the minimal aiohttp handler of ``bench_engine.py`` minting for as many clients, and the engine
minting only against the same handler; PostgreSQL over SQLite on one instance; two instances
over one on PostgreSQL (both behind the same nginx, so the proxy's cost is in both). No
targets: they say what the engine's work costs under load, what the shared database costs and
what a second instance buys on this machine.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

import attrs
from _common import parser
from _load_cpu import CpuWatch
from _load_mix import GROUP
from _load_process import LoadRun, run_load
from _load_report import configuration, efficiencies, percentiles, rates, ratio
from _mint_baseline import mint_baseline

from utd_stream_rx.testing.children import free_port
from utd_stream_rx.testing.engine import EngineProcess
from utd_stream_rx.testing.livekit_server import LiveKitServer
from utd_stream_rx.testing.load_balancer import LoadBalancer
from utd_stream_rx.testing.postgres import PostgresServer

# The per-identity limits (the per-address and per-app ones are off in test engines already):
# a load client mints and calls far more often than one person would.
UNLIMITED = [
    "--rate-limit", "0", "--room-limit-per-identity", "0",
    "--call-limit-per-caller", "0", "--call-limit-per-callee", "0",
]
SQLITE = "1 engine, SQLite"
POSTGRES = "1 engine, PostgreSQL"
ONE_BEHIND_NGINX = "1 engine, PostgreSQL, behind nginx"
TWO_BEHIND_NGINX = "2 engines, PostgreSQL, behind nginx"
SQLITE_MINTS = "1 engine, SQLite, mints only"
BASELINE = "minimal token handler, mints only"
MINTS_ONLY = (SQLITE_MINTS, BASELINE)
CONFIGURATIONS = (SQLITE, POSTGRES, ONE_BEHIND_NGINX, TWO_BEHIND_NGINX)


@attrs.frozen
class Target:
    """Where one configuration answers, and the processes that serve it."""

    url: str
    watch: CpuWatch


def _engine_watch(engines: list[EngineProcess], **more: int | None) -> CpuWatch:
    groups = {"engines": [e.pid for e in engines if e.pid]}
    groups |= {name: [pid] for name, pid in more.items() if pid}
    return CpuWatch(groups)


@contextmanager
def _targets(workdir: Path) -> Iterator[tuple[dict[str, Target], tuple[str, str]]]:
    """Every configuration and the baseline, and the app id and key they take."""
    with ExitStack() as stack:
        # The engines' ports first, so that livekit-server posts its webhooks to every engine,
        # as in a deployment: an engine learns that LiveKit closed a room nobody joined (these
        # clients never join) and opens it again on the next mint, instead of sending data
        # messages into a room that is gone.
        ports = {name: free_port() for name in ("sqlite", "pg-1", "pg-2")}
        livekit = stack.enter_context(LiveKitServer(
            workdir=workdir / "livekit",
            webhook_urls=[f"http://127.0.0.1:{port}/api/v1/livekit/webhook"
                          for port in ports.values()],
        ).start())
        postgres = PostgresServer(workdir=workdir / "postgres").start()
        stack.callback(postgres.stop)
        database = postgres.create_database("utd_scale")

        def engine(name: str, db: str | None) -> EngineProcess:
            process = EngineProcess(
                livekit_url=livekit.url, livekit_api_key=livekit.api_key,
                livekit_api_secret=livekit.api_secret, workdir=workdir / name,
                extra_args=UNLIMITED, database=db, port=ports[name],
            )
            stack.callback(process.stop)
            return process.start()

        sqlite = engine("sqlite", None)
        first, second = engine("pg-1", database), engine("pg-2", database)
        one = LoadBalancer(upstreams=[f"127.0.0.1:{first.port}"], workdir=workdir / "lb-1")
        two = LoadBalancer(
            upstreams=[f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"],
            workdir=workdir / "lb-2",
        )
        for balancer in (one, two):
            stack.callback(balancer.stop)
            balancer.start()
        baseline = stack.enter_context(mint_baseline(
            livekit.api_key, livekit.api_secret, sqlite.app_id, sqlite.app_key
        ))
        db, lk = postgres.pid, livekit.pid
        yield {
            BASELINE: Target(baseline.url, CpuWatch({"handler": [baseline.pid]})),
            SQLITE_MINTS: Target(sqlite.base_url, _engine_watch([sqlite], livekit=lk)),
            SQLITE: Target(sqlite.base_url, _engine_watch([sqlite], livekit=lk)),
            POSTGRES: Target(first.base_url, _engine_watch([first], postgres=db, livekit=lk)),
            ONE_BEHIND_NGINX: Target(one.base_url, _engine_watch(
                [first], postgres=db, livekit=lk, nginx=one.pid
            )),
            TWO_BEHIND_NGINX: Target(two.base_url, _engine_watch(
                [first, second], postgres=db, livekit=lk, nginx=two.pid
            )),
        }, (sqlite.app_id, sqlite.app_key)


def _arguments() -> argparse.Namespace:
    args = parser(__doc__.splitlines()[0], rounds=3)
    args.add_argument("--seconds", type=float, help="seconds per measurement (30; quick 3)")
    args.add_argument("--clients", type=int, help=f"clients, groups of {GROUP} (200; quick 20)")
    args.add_argument("--loaders", type=int, help="load processes (4; quick 2)")
    parsed = args.parse_args()
    quick = parsed.quick
    parsed.rounds = 1 if quick else parsed.rounds
    parsed.seconds = parsed.seconds or (3.0 if quick else 30.0)
    parsed.clients = parsed.clients or (20 if quick else 200)
    parsed.loaders = parsed.loaders or (2 if quick else 4)
    if parsed.clients % (GROUP * parsed.loaders):
        args.error(f"--clients must be a multiple of {GROUP} x --loaders")
    return parsed


def _measure_all(args: argparse.Namespace) -> dict[str, list[LoadRun]]:
    """Every configuration and the baseline, in alternation, ``args.rounds`` times."""
    runs: dict[str, list[LoadRun]] = {name: [] for name in (*MINTS_ONLY, *CONFIGURATIONS)}
    with TemporaryDirectory(prefix="utd-bench-load-") as folder, _targets(Path(folder)) as (
        targets, app
    ):
        # Round -1 warms every target up (not in a quick run, which only shows it runs).
        for round_ in range(0 if args.quick else -1, args.rounds):
            for name, target in targets.items():
                run = run_load(
                    target.url, app, mix="mint" if name in MINTS_ONLY else "mix",
                    loaders=args.loaders, clients=args.clients,
                    seconds=min(args.seconds, 2.0) if round_ < 0 else args.seconds,
                    watch=target.watch,
                )
                if round_ >= 0:
                    runs[name].append(run)
    return runs


def _ratios(runs: dict[str, list[LoadRun]]) -> None:
    engine, handler = runs[SQLITE], runs[BASELINE]
    ratio("mint throughput, engine under the mix (SQLite) / minimal handler", "mints/s",
          rates(engine, "mint"), rates(handler, "mint"))
    for percent in (50, 99):
        ratio(f"mint p{percent}, engine under the mix (SQLite) / minimal handler", "ms",
              percentiles(engine, percent, "mint"), percentiles(handler, percent, "mint"))
    mints = runs[SQLITE_MINTS]
    ratio("mint throughput, engine minting only (SQLite) / minimal handler", "mints/s",
          rates(mints), rates(handler))
    ratio("mints per server CPU second, engine (SQLite) / minimal handler", "mints/CPU s",
          efficiencies(mints), efficiencies(handler))
    for figure, top, bottom in (
        ("PostgreSQL / SQLite (one instance)", POSTGRES, SQLITE),
        ("2 / 1 instances (PostgreSQL, nginx)", TWO_BEHIND_NGINX, ONE_BEHIND_NGINX),
    ):
        ratio(f"throughput {figure}", "commands/s", rates(runs[top]), rates(runs[bottom]))
        ratio(f"commands per engine CPU second {figure}", "commands/CPU s",
              efficiencies(runs[top]), efficiencies(runs[bottom]))
        ratio(f"p99 {figure}", "ms", percentiles(runs[top], 99), percentiles(runs[bottom], 99))


def main() -> int:
    """Measure, print every line, exit 1 on any failure (5xx, connection error, timeout)."""
    args = _arguments()
    print(f"{args.clients} clients in {args.loaders} load processes, {args.seconds:g} s per "
          f"measurement, {args.rounds} round(s)", flush=True)
    runs = _measure_all(args)
    for name in (*CONFIGURATIONS, *MINTS_ONLY):
        configuration(name, runs[name])
    _ratios(runs)
    failures = sum(sum(r.counted("failed").values()) for each in runs.values() for r in each)
    print(f"failures (5xx, connection errors, timeouts): {failures}", flush=True)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
