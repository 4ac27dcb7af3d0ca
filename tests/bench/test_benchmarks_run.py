"""Every benchmark runs (``--quick``) and prints its ratio lines; targets are not asserted here:
timings belong to ``scripts/bench``, not to the test suite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"
RATIO = re.compile(r"ratio [\d.]+x|ratio store/baseline: [\d.]+x|ratio 10,000/1,000: [\d.]+x")


@pytest.mark.parametrize(
    "script",
    ["bench_store", "bench_join", "bench_seat", "bench_mouth", "bench_memory", "bench_bigroom",
     "bench_engine", "bench_requests", "bench_scale", "bench_decode", "bench_ratelimit"],
)
def test_benchmark_runs_and_reports(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert RATIO.search(done.stdout), done.stdout
