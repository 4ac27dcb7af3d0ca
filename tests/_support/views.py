"""Predicates for a view's ``wait_for``, typed so a loop can bind the value it waits for."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["is_value"]


def is_value(want: object) -> Callable[[object], bool]:
    """True once the view's value is ``want`` (an identity check: enums, booleans, ``None``)."""

    def check(value: object) -> bool:
        return value is want

    return check
