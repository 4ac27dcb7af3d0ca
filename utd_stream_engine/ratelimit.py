"""Rate limits: token buckets per key, and the engine's set of them (mints, new rooms, calls;
per identity, per client address and per app).

Each bucket holds ``limit`` hits and refills at ``limit`` per ``window``: a burst of ``limit``
is allowed at once, then one hit every ``window / limit`` seconds. A bucket is one float (when
it is full again), so a hit costs O(1); buckets that are full again are forgotten a few at a
time on each hit, and at most ``max_keys`` are kept, so memory stays bounded.

The buckets are kept in the order of their last hit, and a bucket is full again at most one
window after its last hit: each hit looks at no more than the two oldest buckets (never a scan
over the keys), and an idle bucket waits at most one window behind a busier older one before
it goes. ``tests/unit/test_ratelimit_at_scale.py`` counts the work of one hit at 1,000 and
50,000 keys; ``bench/bench_ratelimit.py`` times it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import attrs
from aiohttp import web

from .config import EngineConfig
from .errors import ApiError

__all__ = ["Charge", "RateLimiter", "RateLimits", "client_address"]

_EVICT_PER_HIT = 2  # idle buckets checked per hit: more than one hit adds, so they never pile up


class RateLimiter:
    """Token buckets of ``limit`` hits refilled at ``limit`` per ``window`` seconds, one per
    key; ``limit`` 0 (or less) disables the limit.

    Args:
        limit: Hits a bucket holds (the burst), and hits it regains per window.
        window: Seconds in which an empty bucket fills up again.
        clock: Monotonic seconds.
        max_keys: Most buckets kept; past it the least recently used one is forgotten (its
            key starts again with a full bucket).
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._interval = window / limit if limit > 0 else 0.0
        # key -> when its bucket is full again, least recently hit first.
        self._full_at: OrderedDict[Hashable, float] = OrderedDict()

    @property
    def enabled(self) -> bool:
        """False when the limit is disabled."""
        return self.limit > 0

    def __len__(self) -> int:
        """How many buckets are kept (the keys hit recently, and idle ones not yet forgotten)."""
        return len(self._full_at)

    def wait(self, key: Hashable, now: float | None = None) -> float:
        """Seconds until ``key`` may hit again (0: it may now). Counts nothing."""
        if not self.enabled:
            return 0.0
        now = self._clock() if now is None else now
        full_at = max(self._full_at.get(key, now), now)
        return max(0.0, full_at + self._interval - now - self.window)

    def take(self, key: Hashable, now: float | None = None) -> None:
        """Count one hit of ``key`` (whether or not :meth:`wait` allowed it)."""
        if not self.enabled:
            return
        now = self._clock() if now is None else now
        full_at = max(self._full_at.pop(key, now), now)
        self._full_at[key] = full_at + self._interval
        self._evict(now)

    def hit(self, key: Hashable, message: str = "too many requests") -> None:
        """Count one hit of ``key``, or raise 429 ``rate_limited`` (``message`` says which
        limit) with ``Retry-After`` and count nothing."""
        now = self._clock()
        wait = self.wait(key, now)
        if wait > 0:
            raise ApiError.rate_limited(message, wait)
        self.take(key, now)

    def _evict(self, now: float) -> None:
        for _ in range(_EVICT_PER_HIT):
            oldest = next(iter(self._full_at.items()), None)
            if oldest is None or oldest[1] > now:
                break
            del self._full_at[oldest[0]]
        while len(self._full_at) > self._max_keys:
            self._full_at.popitem(last=False)


@attrs.frozen
class Charge:
    """One hit on one limiter, and what to say if that limit refuses it."""

    limiter: RateLimiter
    key: Hashable
    message: str


class RateLimits:
    """The engine's limits on token mints, room creation and calls, each per identity, per
    client address and per app (see :class:`~.config.EngineConfig`).

    A request is counted against all its limits or none: if one refuses, the others are not
    charged.
    """

    def __init__(self, config: EngineConfig, clock: Callable[[], float] = time.monotonic) -> None:
        def limiter(limit: int) -> RateLimiter:
            return RateLimiter(limit, config.rate_window, clock=clock)

        self._clock = clock
        self.mints_per_identity = limiter(config.rate_limit)
        self.mints_per_address = limiter(config.mint_limit_per_address)
        self.mints_per_app = limiter(config.mint_limit_per_app)
        self.rooms_per_identity = limiter(config.room_limit_per_identity)
        self.rooms_per_address = limiter(config.room_limit_per_address)
        self.rooms_per_app = limiter(config.room_limit_per_app)
        self.calls_per_caller = limiter(config.call_limit_per_caller)
        self.calls_per_callee = limiter(config.call_limit_per_callee)
        self.calls_per_address = limiter(config.call_limit_per_address)
        self.calls_per_app = limiter(config.call_limit_per_app)

    def mint(self, app_id: str, identity: str, address: str, *, new_room: bool = False) -> None:
        """Count a token mint (and the room it creates when ``new_room``), or raise 429."""
        charges = [
            Charge(self.mints_per_identity, (app_id, identity), f"too many tokens for {identity}"),
            Charge(self.mints_per_address, address, "too many tokens from this address"),
            Charge(self.mints_per_app, app_id, "too many tokens for this app"),
        ]
        if new_room:
            charges += [
                Charge(
                    self.rooms_per_identity, (app_id, identity), f"too many new rooms by {identity}"
                ),
                Charge(
                    self.rooms_per_address, address, "too many new rooms from this address"
                ),
                Charge(self.rooms_per_app, app_id, "too many new rooms in this app"),
            ]
        self._charge(charges)

    def call(self, app_id: str, caller: str, callee: str, address: str) -> None:
        """Count a new call, or raise 429."""
        self._charge(
            [
                Charge(self.calls_per_caller, (app_id, caller), f"too many calls by {caller}"),
                Charge(self.calls_per_callee, (app_id, callee), f"too many calls to {callee}"),
                Charge(self.calls_per_address, address, "too many calls from this address"),
                Charge(self.calls_per_app, app_id, "too many calls in this app"),
            ]
        )

    def _charge(self, charges: Sequence[Charge]) -> None:
        now = self._clock()
        waits = [(charge.limiter.wait(charge.key, now), charge) for charge in charges]
        wait, worst = max(waits, key=_first)
        if wait > 0:
            limiter = worst.limiter
            raise ApiError.rate_limited(
                f"{worst.message} (at most {limiter.limit} per {limiter.window:g}s)", wait
            )
        for charge in charges:
            charge.limiter.take(charge.key, now)


def _first(item: tuple[float, Charge]) -> float:
    return item[0]


def client_address(request: web.Request) -> str:
    """The address limits count a request against: the connection's peer. The engine is not
    meant to sit behind a proxy, so forwarded headers (which anyone can send) are ignored."""
    return request.remote or "unknown"
