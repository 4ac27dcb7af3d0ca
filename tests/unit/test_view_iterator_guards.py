"""A view iterator whose event loop has closed never stops the view for anyone else, and is
dropped at the next change (as a failing subscriber is logged and the others go on)."""

from __future__ import annotations

import asyncio

from tests._support.threads import in_a_thread
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.reducers import SessionState
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import CAN_PUBLISH
from utd_stream_rx.state.views import ViewIterator


def _grant(can_publish: bool) -> ev.PermissionsChanged:
    return ev.PermissionsChanged("me", can_publish, is_local=True)



def _iterator_left_on_an_ended_loop(store: Store) -> ViewIterator[bool]:
    """An ``async for`` over ``can_publish`` whose loop ended (another thread's asyncio.run)."""
    left: list[ViewIterator[bool]] = []

    async def start() -> None:
        iterator = store.view(CAN_PUBLISH).__aiter__()
        assert await iterator.__anext__() is False
        left.append(iterator)

    in_a_thread(lambda: asyncio.run(start()))
    return left[0]


async def test_a_dead_iterator_does_not_stop_the_view_for_a_live_subscriber() -> None:
    store = Store()
    store.dispatch(ev.Connected("me"))
    dead = _iterator_left_on_an_ended_loop(store)
    seen: list[bool] = []
    store.view(CAN_PUBLISH).subscribe(seen.append)  # notified after the dead iterator
    grants_in_states: list[bool] = []

    def on_state(state: SessionState) -> None:
        grants_in_states.append(state.can_publish)

    store.states.subscribe(on_state)
    observers = len(store.view(CAN_PUBLISH)._subject.observers)

    store.dispatch(_grant(True))

    assert seen == [False, True]
    assert grants_in_states == [False, True]  # the state stream, notified after every view
    assert len(store.view(CAN_PUBLISH)._subject.observers) == observers - 1  # the dead one went
    assert dead._subscription is None
    store.dispatch(_grant(False))
    assert seen == [False, True, False]


def test_an_iterator_of_an_earlier_asyncio_run_is_dropped_at_the_next_change() -> None:
    store = Store()
    store.dispatch(ev.Connected("me"))
    counts: dict[str, int] = {}
    kept: list[ViewIterator[bool]] = []

    async def iterate_once() -> None:
        iterator = store.view(CAN_PUBLISH).__aiter__()
        assert await iterator.__anext__() is False
        kept.append(iterator)  # as a notebook cell keeps its iterator
        counts["during"] = len(store.view(CAN_PUBLISH)._subject.observers)

    async def change() -> None:
        store.dispatch(_grant(True))
        counts["after"] = len(store.view(CAN_PUBLISH)._subject.observers)

    def two_runs() -> None:
        asyncio.run(iterate_once())
        asyncio.run(change())

    in_a_thread(two_runs)
    assert counts["after"] == counts["during"] - 1
    assert kept[0]._subscription is None
