"""Where the machine's CPU goes while the big room is steady: per process and in total.

Read from ``/proc``: a process's user + system time (``/proc/PID/stat``, fields 14 and 15, in
clock ticks) and the machine's busy time over all cores (``/proc/stat``), so the bench can name
what limits the room (livekit-server, the engine, the listener processes, a saturated machine).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import attrs

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) ``pid`` has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command's closing parenthesis, utime and stime are the 12th and 13th fields.
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> tuple[float, float]:
    """Busy and total CPU seconds of every core together, since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, already counted in user
    return (total - idle) / TICK, total / TICK


@attrs.frozen
class LoadSample:
    """CPU counters at one moment."""

    at: float
    processes: dict[str, float]
    busy: float
    total: float


def sample(pids: dict[str, list[int]]) -> LoadSample:
    """The CPU used so far by each named group of processes, and by the machine."""
    busy, total = machine_busy()
    used = {name: sum(process_cpu(pid) for pid in group) for name, group in pids.items()}
    return LoadSample(time.monotonic(), used, busy, total)


def load_line(before: LoadSample, after: LoadSample) -> str:
    """Each group's share of one core over the interval, and how busy the machine was."""
    wall = after.at - before.at
    shares = ", ".join(
        f"{name} {100 * (after.processes[name] - before.processes[name]) / wall:.0f}%"
        for name in after.processes
    )
    cores = (after.total - before.total) / wall
    busy = 100 * (after.busy - before.busy) / max(after.total - before.total, 1e-9)
    return f"{shares} of one core; machine {busy:.0f}% busy over {cores:.0f} cores"
