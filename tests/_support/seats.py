"""Predicates on a seat grid, for ``seats.wait_for``."""

from __future__ import annotations

from collections.abc import Callable

from utd_stream_rx import UTDSeatGrid

__all__ = ["grid_version_at_least", "holder_is"]


def holder_is(index: int, identity: str | None) -> Callable[[UTDSeatGrid | None], bool]:
    """True once seat ``index`` is held by ``identity`` (``None``: once it is free)."""

    def check(grid: UTDSeatGrid | None) -> bool:
        return grid is not None and grid.seats[index].identity == identity

    return check


def grid_version_at_least(version: int) -> Callable[[UTDSeatGrid | None], bool]:
    """True once the seat grid has reached ``version``."""

    def check(grid: UTDSeatGrid | None) -> bool:
        return grid is not None and grid.version >= version

    return check
