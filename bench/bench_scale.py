"""Engine scale-out: a realistic command mix against one SQLite engine, one PostgreSQL engine
and two PostgreSQL engines behind nginx, all loaded from two other processes, in one run.

Each simulated client mints a token for one of 64 audio rooms, takes a seat, reads the room
and leaves the seat, again and again (``CONCURRENCY`` clients per load process). The figures
are throughput (commands per second) and the 99th percentile latency, as ratios measured side
by side: PostgreSQL over SQLite on one instance, and two instances over one on PostgreSQL (both
behind the same nginx, so the proxy's cost is in both). No target: the ratios say what the
shared database costs and what a second instance buys on this machine (see README.md).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

import aiohttp
from _common import parser, spread

from utd_stream_rx.testing.engine import EngineProcess
from utd_stream_rx.testing.livekit_server import LiveKitServer
from utd_stream_rx.testing.load_balancer import LoadBalancer
from utd_stream_rx.testing.postgres import PostgresServer

CONCURRENCY = 16  # clients per load process
LOADERS = 2  # load processes
ROOMS = 64
SEATS = 8
# The per-identity limits (the per-address and per-app ones are off in test engines already).
UNLIMITED = ["--rate-limit", "0", "--room-limit-per-identity", "0"]


# -- the load generator (run with --load URL APP_ID APP_KEY SECONDS OFFSET) -------------------


async def _client(
    http: aiohttp.ClientSession, base: str, headers: dict[str, str], n: int, until: float,
    latencies: list[float], errors: list[int],
) -> None:
    room = f"scale-{n % ROOMS}"
    identity = f"user-{n}"
    seat = n // ROOMS % SEATS
    while time.perf_counter() < until:
        began = time.perf_counter()
        body = {"identity": identity, "room_name": room, "type": "audio_room"}
        async with http.post(f"{base}/api/v1/token", json=body, headers=headers) as answer:
            minted = await answer.json()
        if answer.status != 200:
            errors.append(answer.status)
            continue
        latencies.append(time.perf_counter() - began)
        bearer = {**headers, "Authorization": f"Bearer {minted['user_token']}"}
        seats = f"{base}/api/v1/audio-rooms/{room}/seats"
        for method, url, payload in (
            ("POST", f"{seats}/take", {"seat_index": seat}),
            ("GET", f"{base}/api/v1/rooms/{room}", None),
            ("POST", f"{seats}/leave", {}),
        ):
            began = time.perf_counter()
            async with http.request(method, url, json=payload, headers=bearer) as answer:
                await answer.read()
            latencies.append(time.perf_counter() - began)
            if answer.status >= 500:
                errors.append(answer.status)


async def _load(
    base: str, app_id: str, app_key: str, seconds: float, offset: int
) -> dict[str, float]:
    headers = {"X-UTD-App-Id": app_id, "X-UTD-App-Key": app_key}
    latencies: list[float] = []
    errors: list[int] = []
    until = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:
        began = time.perf_counter()
        await asyncio.gather(*(
            _client(http, base, headers, offset + n, until, latencies, errors)
            for n in range(CONCURRENCY)
        ))
        elapsed = time.perf_counter() - began
    return {
        "count": len(latencies), "seconds": elapsed, "errors": len(errors),
        "p99": statistics.quantiles(latencies, n=100)[-1] * 1000 if len(latencies) > 2 else 0.0,
    }


def _measure(base: str, app_id: str, app_key: str, seconds: float) -> tuple[float, float, int]:
    """Commands per second, p99 ms and server errors of ``LOADERS`` load processes at once."""
    loaders = [
        subprocess.Popen(
            [sys.executable, __file__, "--load", base, app_id, app_key, str(seconds),
             str(index * CONCURRENCY)],
            stdout=subprocess.PIPE, text=True,
        )
        for index in range(LOADERS)
    ]
    results = [json.loads(p.communicate(timeout=seconds + 60)[0].strip().splitlines()[-1])
               for p in loaders]
    rate = sum(r["count"] / r["seconds"] for r in results)
    return rate, max(r["p99"] for r in results), int(sum(r["errors"] for r in results))


# -- the stack --------------------------------------------------------------------------------


@contextmanager
def _stacks(workdir: Path) -> Iterator[dict[str, str]]:
    """Base URLs of: one SQLite engine, one PostgreSQL engine behind nginx, two behind nginx."""
    with ExitStack() as stack:
        livekit = stack.enter_context(LiveKitServer(workdir=workdir / "livekit").start())
        postgres = PostgresServer(workdir=workdir / "postgres").start()
        stack.callback(postgres.stop)
        database = postgres.create_database("utd_scale")

        def engine(name: str, db: str | None) -> EngineProcess:
            process = EngineProcess(
                livekit_url=livekit.url, livekit_api_key=livekit.api_key,
                livekit_api_secret=livekit.api_secret, workdir=workdir / name,
                extra_args=UNLIMITED, database=db,
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
        yield {
            "sqlite": sqlite.base_url, "pg": first.base_url,
            "pg behind nginx": one.base_url, "2 x pg behind nginx": two.base_url,
            "app_id": sqlite.app_id, "app_key": sqlite.app_key,
        }


def _line(figure: str, unit: str, top: list[float], bottom: list[float]) -> None:
    ratio = statistics.median(t / b for t, b in zip(top, bottom, strict=True))
    print(f"{figure}: {spread(top)} vs {spread(bottom)} {unit}, n={len(top)}; "
          f"ratio {ratio:.2f}x", flush=True)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        base, app_id, app_key, duration, offset = sys.argv[2:7]
        print(json.dumps(asyncio.run(_load(base, app_id, app_key, float(duration), int(offset)))))
        return 0
    args = parser(__doc__.splitlines()[0], rounds=3).parse_args()
    rounds, seconds = (1, 2.0) if args.quick else (args.rounds, 10.0)
    kinds = ("sqlite", "pg", "pg behind nginx", "2 x pg behind nginx")
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    p99s: dict[str, list[float]] = {k: [] for k in kinds}
    errors = 0
    with TemporaryDirectory(prefix="utd-bench-scale-") as folder, _stacks(Path(folder)) as urls:
        for kind in kinds:  # warm each up
            _measure(urls[kind], urls["app_id"], urls["app_key"], 1.0)
        for _ in range(rounds):
            for kind in kinds:
                rate, p99, failed = _measure(urls[kind], urls["app_id"], urls["app_key"], seconds)
                rates[kind].append(rate)
                p99s[kind].append(p99)
                errors += failed
    for kind in kinds:
        print(f"{kind}: {spread(rates[kind])} commands/s, p99 {spread(p99s[kind])} ms")
    _line(
        "throughput PostgreSQL / SQLite (one instance)", "commands/s", rates["pg"], rates["sqlite"]
    )
    _line("p99 PostgreSQL / SQLite (one instance)", "ms", p99s["pg"], p99s["sqlite"])
    _line("throughput 2 / 1 instances (PostgreSQL, nginx)", "commands/s",
          rates["2 x pg behind nginx"], rates["pg behind nginx"])
    _line("p99 2 / 1 instances (PostgreSQL, nginx)", "ms",
          p99s["2 x pg behind nginx"], p99s["pg behind nginx"])
    print(f"server errors (5xx): {errors}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
