"""Sliding-window limit on token minting, per app and identity."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from .errors import ApiError

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key; 0 disables the limit."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def hit(self, app_id: str, identity: str) -> None:
        """Count one mint, or raise 429 ``rate_limited`` with ``Retry-After``."""
        if self._limit <= 0:
            return
        now = self._clock()
        key = (app_id, identity)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            retry = max(1, math.ceil(hits[0] + self._window - now))
            raise ApiError(
                429,
                "rate_limited",
                f"too many tokens for {identity}; retry in {retry}s",
                headers={"Retry-After": str(retry)},
            )
        hits.append(now)
        if len(self._hits) > 10_000:  # forget idle keys so memory stays bounded
            for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self._window]:
                del self._hits[stale]
