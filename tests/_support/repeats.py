"""``--repeat NODEID=N``: which tests the run repeats, and how often."""

from __future__ import annotations

import pytest

__all__ = ["repeat_counts"]


def repeat_counts(config: pytest.Config) -> dict[str, int]:
    """How many runs each ``--repeat NODEID=N`` asks for, by node id."""
    found: dict[str, int] = {}
    for spec in config.getoption("repeat"):
        nodeid, sep, count = spec.rpartition("=")
        if not sep or not nodeid or not count.isdigit() or int(count) < 1:
            raise pytest.UsageError(f"--repeat takes NODEID=N with N >= 1, not {spec!r}")
        found[nodeid] = int(count)
    return found
