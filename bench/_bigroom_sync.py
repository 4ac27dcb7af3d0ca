"""Seats in sync: how long each listener's ``seats`` view took to show each seat change.

Listeners log ``(monotonic time, grid)`` whenever their view changes; the host notes when it
sent each change and the grid the engine then answered. A listener is in sync with a change at
the first logged moment after it was sent whose grid equals the engine's. ``time.monotonic``
is the system-wide ``CLOCK_MONOTONIC`` on Linux, so times from different processes compare.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics

import attrs

from utd_stream_rx import UTDSeatGrid

LogEntry = tuple[float, str]
"""When a listener's view changed, and the grid it then showed (:func:`grid_key`)."""


def grid_key(grid: UTDSeatGrid | None) -> str:
    """A digest of the grid's canonical JSON (count, mode, holders, locks, mutes and the
    engine's version): equal grids, equal keys, and a short line for each logged change."""
    text = "null" if grid is None else json.dumps(attrs.asdict(grid), sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


@attrs.frozen
class SeatChange:
    """One seat change: when its command was sent, and the engine's grid after it."""

    what: str
    sent: float
    grid: str
    took: float = 0.0  # seconds the command itself took, until the engine's answer was in


def lag_of(log: list[LogEntry], change: SeatChange) -> float:
    """Seconds from sending ``change`` until ``log`` shows its grid (``inf`` if it never did)."""
    before = [grid for at, grid in log if at < change.sent]
    if before and before[-1] == change.grid:
        return 0.0
    for at, grid in log:
        if at >= change.sent and grid == change.grid:
            return at - change.sent
    return math.inf


@attrs.frozen
class SyncFigures:
    """Lags of every listener for every change."""

    lags: tuple[float, ...]
    late: int
    listeners: int
    changes: int

    @property
    def worst(self) -> float:
        """The largest lag, seconds."""
        return max(self.lags)

    @property
    def p99(self) -> float:
        """The 99th percentile lag, seconds (the worst when there are few)."""
        if len(self.lags) < 100:
            return self.worst
        return statistics.quantiles(self.lags, n=100)[-1]

    @property
    def median(self) -> float:
        """The median lag, seconds."""
        return statistics.median(self.lags)


def sync_figures(
    logs: list[list[LogEntry]], changes: list[SeatChange], limit: float
) -> SyncFigures:
    """Every listener's lag for every change; late ones are over ``limit`` seconds."""
    lags = [lag_of(log, change) for log in logs for change in changes]
    late = sum(1 for lag in lags if lag > limit)
    return SyncFigures(tuple(lags), late, len(logs), len(changes))
