"""Where the CPU goes during a measurement: the engines, PostgreSQL, livekit-server and the
whole machine (whose rest is the load processes, nginx and whatever else runs on it; the load
processes count their own, see :func:`own_seconds`).

Read from ``/proc`` (Linux): a process's CPU time from ``/proc/<pid>/stat``, PostgreSQL's as
its server process plus its backends, the machine's from ``/proc/stat``.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable, Mapping

import attrs

_TICK = os.sysconf("SC_CLK_TCK")


def _process_seconds(pid: int) -> float:
    """User plus system CPU seconds of ``pid`` (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _parents() -> dict[int, int]:
    """The parent of every live process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                found[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    return found


def _tree(roots: Iterable[int], parents: Mapping[int, int]) -> set[int]:
    """``roots`` and every live descendant of them."""
    tree = set(roots)
    grew = True
    while grew:
        grown = tree | {pid for pid, parent in parents.items() if parent in tree}
        grew, tree = len(grown) > len(tree), grown
    return tree


def _machine_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (everything but idle and iowait)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _TICK


def own_seconds() -> float:
    """User plus system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@attrs.frozen
class CpuWatch:
    """What to watch: named groups of process trees (each pid with its live descendants,
    sampled at the start and at the end: a descendant that came and went in between is
    missed)."""

    groups: Mapping[str, Iterable[int]]

    def sample(self) -> dict[str, float]:
        """CPU seconds so far of each group and of the machine."""
        parents = _parents()
        seconds = {
            name: sum(_process_seconds(pid) for pid in _tree(roots, parents))
            for name, roots in self.groups.items()
        }
        seconds["machine"] = _machine_seconds()
        return seconds


def cores_used(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    """Cores each part kept busy on average over ``wall`` seconds."""
    return {name: (after[name] - before[name]) / wall for name in before}
