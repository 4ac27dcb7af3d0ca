"""Full-jitter backoff: each delay is drawn below a doubling, capped ceiling, and clients with
their own random sources spread out instead of retrying at the same instants."""

from __future__ import annotations

import random
import statistics

import pytest

from utd_stream_rx._backoff import (
    RECONNECT_BASE,
    RECONNECT_CAP,
    Backoff,
    backoff_ceiling,
    full_jitter,
)


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    assert [backoff_ceiling(n, 0.5, 10.0) for n in range(7)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0
    ]
    # Far past any real attempt count the ceiling is still the cap (no float overflow).
    assert backoff_ceiling(10_000, 0.5, 10.0) == 10.0
    assert backoff_ceiling(-3, 0.5, 10.0) == 0.5


def test_every_delay_is_within_zero_and_its_ceiling() -> None:
    backoff = Backoff(0.2, 3.0, rng=random.Random(11))
    for attempt in range(40):
        for _ in range(50):
            assert 0.0 <= backoff.delay(attempt) <= backoff.ceiling(attempt) <= 3.0


def test_the_cap_holds_and_delays_still_spread_below_it() -> None:
    backoff = Backoff.reconnect(random.Random(5))
    delays = [backoff.delay(200) for _ in range(1000)]
    assert max(delays) <= RECONNECT_CAP
    # Uniform below the cap: the draws cover the whole window, not one instant.
    assert min(delays) < 0.1 * RECONNECT_CAP and max(delays) > 0.9 * RECONNECT_CAP
    assert statistics.mean(delays) == pytest.approx(RECONNECT_CAP / 2, rel=0.1)


def test_a_seeded_random_repeats_and_two_clients_differ() -> None:
    first = Backoff.reconnect(random.Random(1))
    again = Backoff.reconnect(random.Random(1))
    other = Backoff.reconnect(random.Random(2))
    schedule = [first.delay(n) for n in range(6)]
    assert schedule == [again.delay(n) for n in range(6)]
    assert all(a != b for a, b in zip(schedule, [other.delay(n) for n in range(6)], strict=True))
    expected = random.Random(1)
    assert schedule == [expected.uniform(0, RECONNECT_BASE * 2**n) for n in range(5)] + [
        expected.uniform(0, RECONNECT_CAP)
    ]


def test_clients_failing_together_come_back_spread_out() -> None:
    # A hundred clients cut off by one engine restart: their first reconnects spread over the
    # whole first window instead of landing on one instant.
    firsts = sorted(Backoff.reconnect(random.Random(seed)).delay(0) for seed in range(100))
    assert len(set(firsts)) == 100
    assert firsts[0] < 0.05 * RECONNECT_BASE and firsts[-1] > 0.95 * RECONNECT_BASE


def test_default_random_sources_are_independent() -> None:
    # Without a seed each backoff draws from its own freshly seeded source.
    draws = {Backoff(1.0, 1.0).delay(0) for _ in range(20)}
    assert len(draws) == 20
    assert 0.0 <= full_jitter(3, 1.0, 2.0, random.Random(0)) <= 2.0
