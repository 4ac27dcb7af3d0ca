"""Shared pieces of the benchmarks: paired samples, one result line each, the exit status.

Every benchmark measures the SDK path and a hand-written baseline in the same run, in
alternation, so machine noise hits both alike; the result is the median of the per-pair ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parser(description: str, rounds: int) -> argparse.ArgumentParser:
    """Arguments every benchmark takes: ``--rounds`` and ``--quick`` (a smoke run)."""
    args = argparse.ArgumentParser(description=description)
    args.add_argument("--rounds", type=int, default=rounds, help="paired samples to take")
    args.add_argument("--quick", action="store_true", help="a few rounds, to see it runs")
    return args


def spread(samples: list[float]) -> str:
    """Median and 10th-90th percentile of ``samples``, in the samples' unit."""
    if len(samples) < 3:
        return f"{statistics.median(samples):.1f}"
    deciles = statistics.quantiles(samples, n=10)
    return f"{statistics.median(samples):.1f} (p10 {deciles[0]:.1f}, p90 {deciles[-1]:.1f})"


def report(
    figure: str,
    unit: str,
    sdk: list[float],
    raw: list[float],
    target: float,
    *,
    higher_is_better: bool = False,
) -> bool:
    """Print one line comparing the two paths; True when the ratio meets ``target``.

    The samples are pairs taken back to back, so the ratio is the median of the per-pair
    ratios: a slow moment of the machine hits both halves of a pair and cancels out.
    """
    ratio = statistics.median(s / r for s, r in zip(sdk, raw, strict=True))
    ok = ratio >= target if higher_is_better else ratio <= target
    bound = ">=" if higher_is_better else "<="
    print(
        f"{figure}: sdk {spread(sdk)} {unit}, raw {spread(raw)} {unit}, n={len(sdk)}; "
        f"ratio {ratio:.2f}x (target {bound} {target:.2f}x) {'ok' if ok else 'MISSED'}",
        flush=True,
    )
    return ok
