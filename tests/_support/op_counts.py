"""Counting the work of one rate-limiter hit without timing it: the bytecode instructions the
limiter's own code runs, and every comparison against the clock's time (a scan over the keys,
in Python or in C, compares each key's time with now).

Used by the limiter's scale test and by ``bench/bench_ratelimit.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import attrs

from utd_stream_engine import ratelimit
from utd_stream_engine.ratelimit import RateLimiter

__all__ = ["CountedTime", "HitWork", "SteppingClock", "filled_limiter", "work_of_one_hit"]


@attrs.define
class Tally:
    """Comparisons made against :class:`CountedTime` values."""

    comparisons: int = 0


class CountedTime(float):
    """Seconds that count each comparison made with them; sums and differences stay counted."""

    tally: Tally

    def __new__(cls, value: float, tally: Tally) -> CountedTime:
        made = super().__new__(cls, value)
        made.tally = tally
        return made

    def _counted(self, value: float) -> CountedTime:
        return CountedTime(value, self.tally)

    def __add__(self, other: Any) -> CountedTime:
        return self._counted(float(self) + float(other))

    __radd__ = __add__

    def __sub__(self, other: Any) -> CountedTime:
        return self._counted(float(self) - float(other))

    def __rsub__(self, other: Any) -> CountedTime:
        return self._counted(float(other) - float(self))

    def _compare(self) -> None:
        self.tally.comparisons += 1

    def __lt__(self, other: Any) -> bool:
        self._compare()
        return float(self) < float(other)

    def __le__(self, other: Any) -> bool:
        self._compare()
        return float(self) <= float(other)

    def __gt__(self, other: Any) -> bool:
        self._compare()
        return float(self) > float(other)

    def __ge__(self, other: Any) -> bool:
        self._compare()
        return float(self) >= float(other)

    __hash__ = float.__hash__


class SteppingClock:
    """A clock of :class:`CountedTime` seconds that moves only when told."""

    def __init__(self, start: float = 1000.0) -> None:
        self.tally = Tally()
        self.now = start

    def __call__(self) -> float:
        return CountedTime(self.now, self.tally)


def filled_limiter(
    keys: int, *, limit: int = 5, window: float = 60.0, max_keys: int = 100_000
) -> tuple[RateLimiter, SteppingClock]:
    """A limiter that has seen ``keys`` distinct keys, one hit each, none full again yet
    (all hit within half the time one hit takes to come back)."""
    clock = SteppingClock()
    limiter = RateLimiter(limit, window, clock=clock, max_keys=max_keys)
    step = window / limit / (2 * max(keys, 1))
    for index in range(keys):
        limiter.hit(f"key-{index}")
        clock.now += step
    return limiter, clock


@attrs.frozen
class HitWork:
    """What one hit cost: bytecode instructions in the limiter's module, time comparisons."""

    instructions: int
    comparisons: int


def work_of_one_hit(limiter: RateLimiter, clock: SteppingClock, key: str) -> HitWork:
    """Hit ``key`` once while counting the limiter's instructions (in the engine's module and
    in the module of ``limiter``'s class) and its time comparisons."""
    instructions = 0
    sources = {ratelimit.__file__, sys.modules[type(limiter).__module__].__file__}

    def local(frame: FrameType, event: str, arg: object) -> Callable[..., Any]:
        nonlocal instructions
        if event == "opcode":
            instructions += 1
        return local

    def calls(frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        if frame.f_code.co_filename not in sources:
            return None
        frame.f_trace_opcodes = True
        return local

    before = clock.tally.comparisons
    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        limiter.hit(key)
    finally:
        sys.settrace(previous)
    return HitWork(instructions, clock.tally.comparisons - before)
