"""The plugin load benchmark runs (``--quick``) and prints its figure; the target is not
asserted here: timings belong to ``scripts/bench``, not to the test suite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench"
FIGURE = re.compile(
    r"plugin load .* added [-\d.]+ ms \(target < 50 ms\) (ok|MISSED); ratio [\d.]+x"
)


def test_the_plugin_load_benchmark_runs_and_reports() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_plugin_load.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert FIGURE.search(done.stdout), done.stdout
    assert "plugin module import alone:" in done.stdout, done.stdout
