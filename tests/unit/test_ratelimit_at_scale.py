"""The engine's rate limiter at 50,000 keys: a key is still limited, idle keys are forgotten,
memory stays bounded, and the work of one hit does not grow with the number of keys (counted
in instructions and time comparisons, not timed; ``bench/bench_ratelimit.py`` times it)."""

from __future__ import annotations

import itertools
from collections.abc import Hashable

import pytest

from tests._support.op_counts import HitWork, filled_limiter, work_of_one_hit
from utd_stream_engine.errors import ApiError
from utd_stream_engine.ratelimit import RateLimiter

MANY = 50_000
FEW = 1_000


def test_a_key_is_still_limited_among_50000_others() -> None:
    limiter, clock = filled_limiter(MANY, limit=5, window=60.0)
    for _ in range(5):
        limiter.hit("hot")
    with pytest.raises(ApiError) as refused:
        limiter.hit("hot")
    assert refused.value.headers["Retry-After"] == "12"  # one hit regained every 60 / 5 s
    limiter.hit("key-0")  # each other key still has four of its five hits
    clock.now += 12.0
    limiter.hit("hot")
    with pytest.raises(ApiError):
        limiter.hit("hot")


def test_50000_idle_keys_are_forgotten_a_few_per_hit() -> None:
    limiter, clock = filled_limiter(MANY, limit=5, window=60.0)
    clock.now += 60.0  # every bucket is full again: forgetting it changes nothing
    sizes = []
    for index in range(MANY // 2):
        limiter.hit(f"new-{index}")
        sizes.append(len(limiter))
    # Each hit adds one key and forgets two idle ones: the count only goes down, and after
    # 25,000 hits only the new keys are left.
    assert all(later <= earlier for earlier, later in itertools.pairwise(sizes))
    assert len(limiter) == MANY // 2


def test_idle_keys_behind_a_busy_one_go_within_a_window() -> None:
    # The oldest key is still limited, so it holds the idle keys behind it; not for longer
    # than one window (a bucket is full again at most a window after its last hit).
    limiter, clock = filled_limiter(0, limit=5, window=60.0)
    start = clock.now
    for _ in range(5):
        limiter.hit("busy")  # spent: full again 60 s from now
    for index in range(MANY):
        clock.now += 1.0 / MANY
        limiter.hit(f"idle-{index}")  # full again 12 s after its hit
    clock.now = start + 30.0  # every idle key is full again; "busy" is not
    limiter.hit("late")
    assert len(limiter) == MANY + 2
    clock.now = start + 60.0  # now "busy" is full again too
    for index in range(MANY // 2 + 1):
        limiter.hit(f"later-{index}")
    assert len(limiter) == MANY // 2 + 1


def test_memory_stays_bounded_at_max_keys() -> None:
    limiter, _ = filled_limiter(2 * MANY, limit=5, window=60.0, max_keys=MANY)
    assert len(limiter) == MANY
    limiter.hit("key-0")  # the least recently used half was forgotten: a full bucket again
    for _ in range(4):
        limiter.hit(f"key-{2 * MANY - 1}")
    with pytest.raises(ApiError):
        limiter.hit(f"key-{2 * MANY - 1}")  # a recent key is still limited
    assert len(limiter) == MANY


@pytest.mark.parametrize("idle", [False, True], ids=["fresh-keys", "idle-keys"])
def test_the_work_of_one_hit_does_not_grow_with_the_keys(idle: bool) -> None:
    work: dict[int, list[HitWork]] = {}
    for keys in (FEW, MANY):
        limiter, clock = filled_limiter(keys, limit=5, window=60.0)
        if idle:
            clock.now += 60.0  # every hit below also forgets two idle keys
        work[keys] = [
            work_of_one_hit(limiter, clock, key)
            for key in ("key-0", "key-0", "unseen-1", "unseen-2", f"key-{keys // 2}")
        ]
    assert work[MANY] == work[FEW]
    assert max(w.comparisons for w in work[MANY]) <= 6
    assert max(w.instructions for w in work[MANY]) <= 400


class ScanningLimiter(RateLimiter):
    """A limiter that looks at every key on each hit: what the counts must catch."""

    def _evict(self, now: float) -> None:
        expired: list[Hashable] = [k for k, at in self._full_at.items() if at <= now]
        for key in expired:
            del self._full_at[key]


def test_the_counts_would_catch_a_scan_over_the_keys() -> None:
    limiter, clock = filled_limiter(FEW)
    scanning = ScanningLimiter(5, 60.0, clock=clock)
    for index in range(FEW):
        scanning.hit(f"key-{index}")
    work = work_of_one_hit(scanning, clock, "unseen")
    assert work.comparisons > FEW and work.instructions > FEW
    assert work_of_one_hit(limiter, clock, "unseen").comparisons < 10
