"""The lines the engine-under-load benchmark prints: per configuration, per command kind, and
ratios of paired rounds in the shape every benchmark uses (``...; ratio 1.03x``)."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence

from _common import spread
from _load_process import LoadRun


def pooled(runs: Sequence[LoadRun]) -> LoadRun:
    """The rounds' tallies as one (for percentiles and counts over every round)."""
    return LoadRun([tally for run in runs for tally in run.tallies])


SERVERS = ("engines", "handler")  # the CPU groups that answer the commands


def spread_of(samples: Sequence[float]) -> str:
    """:func:`_common.spread`, or the median with the lowest and highest of fewer than ten
    samples (deciles of three rounds would be extrapolated past the samples)."""
    if len(samples) >= 10:
        return spread(list(samples))
    if len(samples) < 2:
        return f"{statistics.median(samples):.1f}"
    low, high = min(samples), max(samples)
    return f"{statistics.median(samples):.1f} (min {low:.1f}, max {high:.1f})"


def per_server_second(run: LoadRun) -> float:
    """Commands per CPU second of the process(es) answering them: what a command costs the
    server, whatever share of the machine it got (others may be running on it)."""
    busy = sum(run.cores.get(name, 0.0) for name in SERVERS)
    return run.rate() / busy if busy else 0.0


def configuration(name: str, runs: Sequence[LoadRun]) -> None:
    """Throughput, p50 and p99 of each round (median and spread), then per command kind over
    every round, the 4xx answers and failures by cause, and the cores each part kept busy."""
    every = pooled(runs)
    refused, failed = every.counted("refused"), every.counted("failed")
    print(
        f"{name}: {spread_of([r.rate() for r in runs])} commands/s, "
        f"p50 {spread_of([r.percentile(50) for r in runs])} ms, "
        f"p99 {spread_of([r.percentile(99) for r in runs])} ms, "
        f"{spread_of([per_server_second(r) for r in runs])} per server CPU second; "
        f"4xx {sum(refused.values())}, failures {sum(failed.values())}",
        flush=True,
    )
    for kind in every.kinds():
        rate = statistics.median(r.rate(kind) for r in runs)
        print(f"  {kind}: {rate:.0f}/s, p50 {every.percentile(50, kind):.1f} ms, "
              f"p99 {every.percentile(99, kind):.1f} ms")
    for label, counts in (("4xx", refused), ("failures", failed)):
        if counts:
            print(f"  {label}: " + ", ".join(f"{cause} x{n}" for cause, n in counts.most_common()))
    totals = ("rest", "machine")  # printed last: they sum up the parts before them
    parts = sorted({part for run in runs for part in run.cores} - set(totals)) + list(totals)
    busy = ", ".join(
        f"{part} {statistics.median(r.cores.get(part, 0.0) for r in runs):.2f}" for part in parts
    )
    print(f"  cores busy (of {os.cpu_count()}): {busy}", flush=True)


def ratio(figure: str, unit: str, top: Sequence[float], bottom: Sequence[float]) -> None:
    """One ratio line: medians with spread, and the median of the per-round ratios."""
    value = statistics.median(t / b for t, b in zip(top, bottom, strict=True))
    print(f"{figure}: {spread_of(top)} vs {spread_of(bottom)} {unit}, n={len(top)}; "
          f"ratio {value:.2f}x", flush=True)


def rates(runs: Sequence[LoadRun], kind: str | None = None) -> list[float]:
    """Commands (of ``kind``, else all) per second of every round."""
    return [run.rate(kind) for run in runs]


def efficiencies(runs: Sequence[LoadRun]) -> list[float]:
    """Commands per server CPU second of every round."""
    return [per_server_second(run) for run in runs]


def percentiles(runs: Sequence[LoadRun], percent: int, kind: str | None = None) -> list[float]:
    """The ``percent``-th percentile latency (of ``kind``, else all) of every round."""
    return [run.percentile(percent, kind) for run in runs]
