"""Exponential backoff with full jitter, shared by the read retries and the reconnect loops.

Each delay is drawn uniformly between 0 and ``min(cap, base * 2**attempt)`` (AWS's "full
jitter"): clients that failed at the same instant (an engine restart) spread their retries over
the whole window instead of coming back together. The random source is injectable, so a test
can seed it.
"""

from __future__ import annotations

import random

__all__ = ["RECONNECT_BASE", "RECONNECT_CAP", "Backoff", "backoff_ceiling", "full_jitter"]

RECONNECT_BASE = 0.5
"""Seconds: the ceiling of the first delay of a background loop's reconnect."""
RECONNECT_CAP = 10.0
"""Seconds: the most a background loop waits between two attempts."""

# 2**64 times any sane base is far past any cap; bounding the exponent keeps the float finite.
_MAX_EXPONENT = 64


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """``min(cap, base * 2**attempt)``: the largest delay retry number ``attempt`` (0-based)
    may draw."""
    return min(cap, base * 2.0 ** min(max(attempt, 0), _MAX_EXPONENT))


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): uniform in
    ``[0, backoff_ceiling(attempt, base, cap)]``."""
    return rng.uniform(0.0, backoff_ceiling(attempt, base, cap))


class Backoff:
    """Full-jitter exponential delays for one retrying loop.

    Args:
        base: Ceiling, in seconds, of the first delay; it doubles with each attempt.
        cap: Largest ceiling, in seconds.
        rng: The random source (a fresh, independently seeded one by default); give a seeded
            ``random.Random`` for repeatable delays.
    """

    def __init__(self, base: float, cap: float, *, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.rng = random.Random() if rng is None else rng

    def ceiling(self, attempt: int) -> float:
        """The largest delay retry number ``attempt`` (0-based) may draw."""
        return backoff_ceiling(attempt, self.base, self.cap)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        return full_jitter(attempt, self.base, self.cap, self.rng)

    @classmethod
    def reconnect(cls, rng: random.Random | None = None) -> Backoff:
        """The pacing of a background loop's reconnect (incoming calls, bearer renewal)."""
        return cls(RECONNECT_BASE, RECONNECT_CAP, rng=rng)
