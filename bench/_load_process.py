"""Load processes: several at once drive one engine (or the minimal token handler) with the
mix of :mod:`_load_mix`, all starting at the same moment; :func:`run_load` merges their tallies.

A load process is ``python bench/_load_process.py SPEC`` (``SPEC`` the JSON of
:class:`LoadSpec`); it prints its tally as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import aiohttp
import attrs
from _load_cpu import CpuWatch, cores_used, own_seconds
from _load_mix import mint_clients, mix_clients
from _load_recorder import Recorder

STARTUP = 1.5  # seconds the load processes get to start before the clock runs


@attrs.frozen
class LoadSpec:
    """One load process: where, which clients, which mix, when and for how long."""

    base: str
    app_id: str
    app_key: str
    first: int
    clients: int
    mix: str  # "mix" or "mint"
    start_at: float  # Unix time
    seconds: float


@attrs.frozen
class LoadRun:
    """The merged tallies of the load processes of one measurement, and the cores each part
    of the machine kept busy meanwhile."""

    tallies: list[dict[str, Any]]
    cores: dict[str, float] = attrs.field(factory=dict)

    def kinds(self) -> list[str]:
        """The command kinds seen, in a stable order."""
        return sorted({kind for tally in self.tallies for kind in tally["latencies"]})

    def rate(self, kind: str | None = None) -> float:
        """Commands (of ``kind``, else all) answered per second, over all processes."""
        return sum(
            sum(len(ms) for name, ms in tally["latencies"].items() if kind in (None, name))
            / float(tally["seconds"])
            for tally in self.tallies
        )

    def latencies(self, kind: str | None = None) -> list[float]:
        """Milliseconds of every answered command (of ``kind``, else all)."""
        return [
            value for tally in self.tallies for name, ms in tally["latencies"].items()
            if kind in (None, name) for value in ms
        ]

    def percentile(self, percent: int, kind: str | None = None) -> float:
        """The ``percent``-th percentile latency in ms (of ``kind``, else all)."""
        samples = self.latencies(kind)
        if len(samples) < 2:
            return float(samples[0]) if samples else 0.0
        return float(statistics.quantiles(samples, n=100)[percent - 1])

    def counted(self, field: str) -> Counter[str]:
        """The ``refused`` (4xx) or ``failed`` (5xx, connection, timeout) counts by cause."""
        total: Counter[str] = Counter()
        for tally in self.tallies:
            total.update(tally[field])
        return total


def run_load(
    base: str, app: tuple[str, str], *, mix: str, loaders: int, clients: int, seconds: float,
    watch: CpuWatch | None = None,
) -> LoadRun:
    """``clients`` clients spread over ``loaders`` processes, ``seconds`` against ``base``."""
    start_at = time.time() + STARTUP
    share = clients // loaders
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, json.dumps(attrs.asdict(LoadSpec(
                base, *app, first=index * share, clients=share, mix=mix, start_at=start_at,
                seconds=seconds,
            )))],
            stdout=subprocess.PIPE, text=True,
        )
        for index in range(loaders)
    ]
    time.sleep(max(0.0, start_at - time.time()))
    watch = watch or CpuWatch({})
    before, began = watch.sample(), time.perf_counter()
    tallies = []
    for process in processes:
        out, _ = process.communicate(timeout=STARTUP + seconds + 120)
        if process.returncode != 0:
            raise RuntimeError(f"a load process failed with {process.returncode}")
        tallies.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - began
    cores = cores_used(before, watch.sample(), wall)
    cores["load processes"] = sum(tally["cpu"] for tally in tallies) / wall
    # What ran beside the parts named: this process, and whatever else shares the machine.
    cores["rest"] = cores["machine"] - sum(v for k, v in cores.items() if k != "machine")
    return LoadRun(tallies, cores)


async def _run(spec: LoadSpec) -> dict[str, Any]:
    headers = {"X-UTD-App-Id": spec.app_id, "X-UTD-App-Key": spec.app_key}
    # One connection per client, as separate users would have.
    connector = aiohttp.TCPConnector(limit=spec.clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        rec = Recorder(http, spec.base, headers)
        await asyncio.sleep(max(0.0, spec.start_at - time.time()))
        began, cpu = time.perf_counter(), own_seconds()
        until = began + spec.seconds
        build = mix_clients if spec.mix == "mix" else mint_clients
        await asyncio.gather(*build(rec, spec.first, spec.clients, until))
        return rec.result(time.perf_counter() - began, own_seconds() - cpu)


def main() -> None:
    """Run the load process described by the JSON on the command line; print its tally."""
    spec = LoadSpec(**json.loads(sys.argv[1]))
    print(json.dumps(asyncio.run(_run(spec))), flush=True)


if __name__ == "__main__":
    main()
