"""Benchmark the engine's rate limiter: the cost of one hit with 50,000 keys against 1,000.

Run: ``python bench/bench_ratelimit.py [--rounds N] [--quick]``. Prints:

- the per-hit time on keys it holds (no key idle), 50,000 keys against 1,000; target <= 2x;
- the per-hit time while idle keys are being forgotten (two per hit), 50,000 against 1,000;
  target <= 2x;
- for comparison, the same growth of a bare ``OrderedDict`` move-to-end (the limiter's one
  table operation): a table of 50,000 entries no longer fits the CPU caches, so every lookup
  costs more; this, not more work per hit, is what the first ratio measures;
- the counted work of one hit (bytecode instructions of the limiter, comparisons of times) at
  both sizes, which the test suite asserts equal;
- for reference, what one scan over 50,000 keys costs (what a limiter that looked at every
  key on each hit would add to every request).

The limiter runs on a clock that moves only when told, so only its own work is timed.
"""

from __future__ import annotations

import statistics
import time
from collections import OrderedDict

from _common import parser, report, spread

from tests._support.op_counts import filled_limiter, work_of_one_hit
from utd_stream_engine.ratelimit import RateLimiter

FEW = 1_000
MANY = 50_000
LIMIT = 5
WINDOW = 60.0


class Clock:
    """Seconds that move only when told (plain floats: nothing counted, nothing slowed)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _filled(keys: int) -> tuple[RateLimiter, Clock]:
    """A limiter holding ``keys`` keys, one hit each, none full again yet."""
    clock = Clock()
    limiter = RateLimiter(LIMIT, WINDOW, clock=clock, max_keys=2 * MANY)
    step = WINDOW / LIMIT / (2 * keys)
    for index in range(keys):
        limiter.hit(f"key-{index}")
        clock.now += step
    return limiter, clock


def held_keys_hit_us(keys: int, hits: int) -> float:
    """Microseconds per hit on keys the limiter holds, spread over all of them."""
    limiter, _ = _filled(keys)
    names = [f"key-{index * (keys // hits)}" for index in range(hits)]
    started = time.perf_counter()
    for name in names:
        limiter.hit(name)
    return (time.perf_counter() - started) / hits * 1e6


def forgetting_hit_us(keys: int, hits: int) -> float:
    """Microseconds per hit on new keys while the idle ones are forgotten, two per hit."""
    limiter, clock = _filled(keys)
    clock.now += WINDOW  # every bucket is full again: each hit forgets two of them
    names = [f"new-{index}" for index in range(hits)]
    started = time.perf_counter()
    for name in names:
        limiter.hit(name)
    return (time.perf_counter() - started) / hits * 1e6


def table_hit_us(keys: int, hits: int) -> float:
    """Microseconds per move-to-end of a bare ``OrderedDict`` holding ``keys`` entries."""
    table = OrderedDict((f"key-{index}", float(index)) for index in range(keys))
    names = [f"key-{index * (keys // hits)}" for index in range(hits)]
    started = time.perf_counter()
    for name in names:
        table[name] = table.pop(name) + 1.0
    return (time.perf_counter() - started) / hits * 1e6


def scan_ms(keys: int) -> float:
    """Milliseconds of one pass over ``keys`` buckets (key -> when it is full again) looking
    for the idle ones."""
    buckets = {f"key-{index}": 1000.0 + index / keys for index in range(keys)}
    now = 1000.0 + WINDOW
    started = time.perf_counter()
    idle = [key for key, full_at in buckets.items() if full_at <= now]
    elapsed = time.perf_counter() - started
    assert len(idle) == keys
    return elapsed * 1e3


def print_table_growth(table: dict[int, list[float]]) -> None:
    """The bare table's own growth from 1,000 to 50,000 entries (context, no target)."""
    ratio = statistics.median(m / f for m, f in zip(table[MANY], table[FEW], strict=True))
    print(
        f"bare OrderedDict move-to-end, 50,000 vs 1,000 entries: {spread(table[MANY])} us vs "
        f"{spread(table[FEW])} us; ratio {ratio:.2f}x (no target: the table's own growth)",
        flush=True,
    )


def print_counts() -> None:
    """The counted work of one hit at both sizes (equal: nothing grows with the keys)."""
    for keys in (FEW, MANY):
        limiter, clock = filled_limiter(keys, limit=LIMIT, window=WINDOW)
        held = work_of_one_hit(limiter, clock, "key-0")
        clock.now += WINDOW
        forgetting = work_of_one_hit(limiter, clock, "new")
        print(
            f"work of one hit at {keys:,} keys: {held.instructions} instructions, "
            f"{held.comparisons} time comparisons; while forgetting idle keys: "
            f"{forgetting.instructions} instructions, {forgetting.comparisons} comparisons",
            flush=True,
        )


def main() -> int:
    """Run the rounds, print the figures; exit 1 when a target is missed."""
    args = parser(__doc__ or "", rounds=15).parse_args()
    rounds = 3 if args.quick else args.rounds
    hits = 500  # at most half the smaller size: the forgetting case never runs out of idle keys
    held: dict[int, list[float]] = {FEW: [], MANY: []}
    forgetting: dict[int, list[float]] = {FEW: [], MANY: []}
    table: dict[int, list[float]] = {FEW: [], MANY: []}
    for _ in range(rounds):
        for keys in (FEW, MANY):  # in alternation: a slow moment hits both sizes
            held[keys].append(held_keys_hit_us(keys, hits))
            forgetting[keys].append(forgetting_hit_us(keys, hits))
            table[keys].append(table_hit_us(keys, hits))
    ok = report(
        "rate limiter hit, 50,000 vs 1,000 held keys", "us", held[MANY], held[FEW], 2.0
    )
    ok &= report(
        "rate limiter hit forgetting idle keys, 50,000 vs 1,000", "us",
        forgetting[MANY], forgetting[FEW], 2.0,
    )
    print_table_growth(table)
    print_counts()
    scans = sorted(scan_ms(MANY) for _ in range(3 if args.quick else 7))
    print(f"reference: one scan over {MANY:,} buckets takes {scans[len(scans) // 2]:.2f} ms "
          f"(a limiter scanning on every hit would add it to every request)", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
