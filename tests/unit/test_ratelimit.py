"""The engine's rate limiter: token buckets per key, honest waits, bounded memory, and the
all-or-none charging of a request's limits."""

from __future__ import annotations

import math
from typing import Any

import pytest

from utd_stream_engine.config import EngineConfig
from utd_stream_engine.errors import ApiError
from utd_stream_engine.ratelimit import RateLimiter, RateLimits


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_limit_then_one_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 6.0, clock=clock)
    for _ in range(3):
        limiter.hit("k")
    with pytest.raises(ApiError) as refused:
        limiter.hit("k")
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert refused.value.headers["Retry-After"] == "2"  # one hit regained every 6 / 3 seconds
    clock.now += 1.9
    assert limiter.wait("k") == pytest.approx(0.1)
    clock.now += 0.1
    limiter.hit("k")  # waiting Retry-After was enough
    with pytest.raises(ApiError):
        limiter.hit("k")  # ... for one hit, not for a new burst


def test_retry_after_is_whole_seconds_rounded_up_and_honest() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 1.5, clock=clock)
    limiter.hit("k")
    limiter.hit("k")
    clock.now += 0.2
    with pytest.raises(ApiError) as refused:
        limiter.hit("k")
    retry = int(refused.value.headers["Retry-After"])
    assert retry == math.ceil(0.75 - 0.2) == 1
    assert f"retry in {retry}s" in refused.value.message
    clock.now += retry
    limiter.hit("k")


def test_refused_hits_count_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 1.0, clock=clock)
    limiter.hit("k")
    for _ in range(50):
        with pytest.raises(ApiError):
            limiter.hit("k")
    clock.now += 1.0
    limiter.hit("k")


def test_keys_and_a_disabled_limit() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 60.0, clock=clock)
    limiter.hit(("app", "ann"))
    limiter.hit(("app", "bob"))
    limiter.hit(("other", "ann"))
    with pytest.raises(ApiError):
        limiter.hit(("app", "ann"))
    unlimited = RateLimiter(0, 60.0, clock=clock)
    for _ in range(1000):
        unlimited.hit("k")
    assert len(unlimited) == 0


def test_idle_keys_are_forgotten_a_few_at_a_time() -> None:
    clock = Clock()
    limiter = RateLimiter(5, 10.0, clock=clock)
    for index in range(1000):
        limiter.hit(f"old-{index}")
    assert len(limiter) == 1000
    clock.now += 10.0  # every old bucket is full again: forgetting them changes nothing
    for index in range(600):
        limiter.hit(f"new-{index}")
    # Each hit forgets up to two idle buckets: the 1000 old ones are gone after 500 hits.
    assert len(limiter) == 600


def test_the_number_of_keys_is_capped() -> None:
    clock = Clock()
    limiter = RateLimiter(5, 60.0, clock=clock, max_keys=100)
    for index in range(1000):
        limiter.hit(f"key-{index}")
        clock.now += 0.001
    assert len(limiter) == 100


def _limits(clock: Clock, **settings: int) -> RateLimits:
    unlimited: dict[str, Any] = {
        "rate_limit": 0,
        "mint_limit_per_address": 0,
        "mint_limit_per_app": 0,
        "room_limit_per_identity": 0,
        "room_limit_per_address": 0,
        "room_limit_per_app": 0,
        "call_limit_per_caller": 0,
        "call_limit_per_callee": 0,
        "call_limit_per_address": 0,
        "call_limit_per_app": 0,
    }
    config = EngineConfig(db_path=":memory:", rate_window=10.0, **{**unlimited, **settings})
    return RateLimits(config, clock)


def test_a_request_is_charged_to_all_its_limits_or_none() -> None:
    clock = Clock()
    limits = _limits(clock, call_limit_per_caller=2, call_limit_per_callee=1)
    limits.call("app", "ann", "vic", "127.0.0.1")
    with pytest.raises(ApiError) as refused:
        limits.call("app", "ann", "vic", "127.0.0.1")
    assert "too many calls to vic" in refused.value.message
    assert "at most 1 per 10s" in refused.value.message
    # The refused call did not use ann's second call: she may still call someone else.
    limits.call("app", "ann", "bob", "127.0.0.1")
    with pytest.raises(ApiError) as refused:
        limits.call("app", "ann", "cid", "127.0.0.1")
    assert "too many calls by ann" in refused.value.message


def test_the_limit_that_holds_longest_is_named() -> None:
    clock = Clock()
    limits = _limits(clock, rate_limit=1, mint_limit_per_address=2, room_limit_per_app=1)
    limits.mint("app", "ann", "10.0.0.1", new_room=True)
    with pytest.raises(ApiError) as refused:
        limits.mint("app", "ann", "10.0.0.1", new_room=True)
    # ann's tokens and the app's rooms are spent for 10 s (the address has one mint left).
    assert int(refused.value.headers["Retry-After"]) == 10
    limits.mint("app", "bob", "10.0.0.1")  # no new room: only the mint limits count
    with pytest.raises(ApiError) as refused:
        limits.mint("app", "cid", "10.0.0.1")
    assert "from this address" in refused.value.message
    limits.mint("app", "cid", "10.0.0.2")
