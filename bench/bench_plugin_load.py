"""Plugin load time: what the installed pytest plugin adds to every pytest run.

Run: ``python bench/bench_plugin_load.py [--rounds N] [--quick]``. Runs ``pytest --co`` in an
empty project with the plugin and without it (``-p no:utd_stream_rx``), in alternation, each
run a fresh interpreter with every other installed plugin loaded as usual, and prints one line:
the wall and CPU times of both sides and the median of the per-pair differences. Target: the
plugin adds under 50 ms, judged on CPU time (user + system of the pytest process), which other
work on a busy machine barely moves, unlike wall time. A missed target exits 1 (not with
``--quick``, a smoke run). A second line, for information, times the plugin module's import
alone in fresh interpreters that have already imported pytest and pytest-asyncio.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import parser, spread

TARGET_MS = 50.0
REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """This checkout first on the path: the runs time its plugin, not an installed copy's."""
    path = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path))


def _collect_ms(project: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU time (ms) of one ``pytest --co`` in ``project``, interpreter start
    included."""
    command = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *args]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=_env(), capture_output=True, text=True)
    wall = (time.perf_counter() - started) * 1000
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 5):  # 5: no tests collected, as expected here
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime + cpu_after.ru_stime - cpu_before.ru_stime)
    return wall, cpu * 1000


def _paired_difference(with_plugin: list[float], without: list[float]) -> float:
    return statistics.median(w - o for w, o in zip(with_plugin, without, strict=True))


_IMPORT_PROBE = """
import time
import pytest, pytest_asyncio
started = time.perf_counter()
import utd_stream_rx.testing.pytest_plugin
print((time.perf_counter() - started) * 1000)
"""


def _import_ms() -> float:
    """The plugin module's import time in a fresh interpreter where pytest is loaded."""
    env = _env()
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def main() -> int:
    args = parser(__doc__.splitlines()[0], rounds=15).parse_args()
    rounds = 2 if args.quick else args.rounds
    with_plugin: list[tuple[float, float]] = []
    without: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="utd-plugin-load-") as folder:
        project = Path(folder)
        _collect_ms(project)  # warm the file cache for both sides
        for _ in range(rounds):
            with_plugin.append(_collect_ms(project))
            without.append(_collect_ms(project, "-p", "no:utd_stream_rx"))
    walls = [w for w, _ in with_plugin], [w for w, _ in without]
    cpus = [c for _, c in with_plugin], [c for _, c in without]
    added_cpu = _paired_difference(*cpus)
    ratio = statistics.median(w / o for w, o in zip(*cpus, strict=True))
    ok = added_cpu < TARGET_MS
    print(
        f"plugin load (pytest --co, empty project), n={rounds}: wall with {spread(walls[0])} ms, "
        f"without {spread(walls[1])} ms, added {_paired_difference(*walls):.1f} ms; "
        f"CPU with {spread(cpus[0])} ms, without {spread(cpus[1])} ms, added "
        f"{added_cpu:.1f} ms (target < {TARGET_MS:.0f} ms) {'ok' if ok else 'MISSED'}; "
        f"ratio {ratio:.2f}x",
        flush=True,
    )
    imports = [_import_ms() for _ in range(rounds)]
    print(f"plugin module import alone: {spread(imports)} ms, n={rounds}", flush=True)
    return 0 if ok or args.quick else 1

if __name__ == "__main__":
    sys.exit(main())
