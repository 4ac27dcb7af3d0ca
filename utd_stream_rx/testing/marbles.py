"""Marble tests for views and reducers: timelines of events in, what a subscriber sees out.

No network and no asyncio: events are fed to a fresh :class:`~utd_stream_rx.state.Store` on
RxPY's virtual-time ``TestScheduler``, so a test states a whole scenario in two lines::

    assert_view_marbles(
        lambda store: store.view(CAN_PUBLISH),
        "--k-g-r",  {"k": Connected("me"), "g": PermissionsChanged("me", True, is_local=True),
                     "r": PermissionsChanged("me", False, is_local=True)},
        "f---t-f",  {"f": False, "t": True},
    )

Each character of a timeline is one tick (``-`` nothing, a letter a value from the mapping);
the view is subscribed at the start, so its first value is the current one. For reducers
without a store, :func:`reduce_all` and :func:`view_values` fold a plain list of events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from reactivex import Observable
from reactivex.testing.marbles import marbles_testing

from ..state.events import Event
from ..state.reducers import SessionState, reduce
from ..state.store import Store

__all__ = ["assert_view_marbles", "reduce_all", "view_marbles", "view_values"]

T = TypeVar("T")

ViewSelector = Callable[[Store], Observable[T]]
"""Picks the view under test from a store, e.g. ``lambda store: store.view(SEATS)``."""


def view_marbles(
    select: ViewSelector[Any],
    events: str,
    event_values: Mapping[str, Event],
) -> list[Any]:
    """What a subscriber of ``select(store)`` records for the ``events`` timeline.

    Returns reactivex test ``Recorded`` notifications (tick and value), comparable with the
    output of ``reactivex.testing.marbles``' expected timelines.
    """
    with marbles_testing() as (start, _cold, hot, _exp):
        store = Store()
        timeline = hot(events, _table(event_values), None)

        def create() -> Observable[Any]:
            timeline.subscribe(store.dispatch)
            return select(store)

        recorded: list[Any] = start(create)
    return recorded


def assert_view_marbles(
    select: ViewSelector[T],
    events: str,
    event_values: Mapping[str, Event],
    expected: str,
    values: Mapping[str, T],
) -> None:
    """Assert that the view shows ``expected`` (a marble timeline) for the ``events`` timeline.

    Raises:
        AssertionError: with both timelines' notifications when they differ.
    """
    with marbles_testing() as (start, _cold, hot, exp):
        store = Store()
        timeline = hot(events, _table(event_values), None)

        def create() -> Observable[Any]:
            timeline.subscribe(store.dispatch)
            return select(store)

        actual = start(create)
        wanted = exp(expected, _table(values), None)
    assert actual == wanted, f"view saw {actual}\nexpected {wanted}"


def reduce_all(events: Iterable[Event], state: SessionState | None = None) -> SessionState:
    """Fold ``events`` with the pure reducer, from ``state`` (default: the initial state)."""
    current = state if state is not None else SessionState()
    for event in events:
        current = reduce(current, event)
    return current


def view_values(select: ViewSelector[T], events: Iterable[Event]) -> list[T]:
    """Every value the view takes while ``events`` are dispatched, the initial one first."""
    store = Store()
    seen: list[T] = []
    subscription = select(store).subscribe(seen.append)
    try:
        for event in events:
            store.dispatch(event)
    finally:
        subscription.dispose()
        store.dispose()
    return seen


def _table(values: Mapping[str, Any]) -> dict[str | float, Any]:
    table: dict[str | float, Any] = {}
    table.update(values)
    return table
