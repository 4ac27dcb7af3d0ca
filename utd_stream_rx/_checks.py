"""Argument checks shared by modules that must not import each other."""

from __future__ import annotations

import math

__all__ = ["check_timeout"]


def check_timeout(value: object) -> float:
    """``value`` as seconds: a finite positive number (``TypeError``/``ValueError`` otherwise).

    NaN is refused explicitly: ``asyncio.timeout(nan)`` never fires, so it would wait forever.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"timeout must be a number, not {type(value).__name__}")
    if math.isnan(value) or not 0 < value < math.inf:
        raise ValueError(f"timeout must be a positive, finite number of seconds, got {value}")
    return float(value)
