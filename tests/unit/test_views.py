"""Views: ``.value``, ``wait_for`` and ``async for``, on the loop and from other threads."""

from __future__ import annotations

import asyncio
import threading

import pytest

from utd_stream_rx.errors import UTDStreamException
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import CAN_PUBLISH, CONNECTED, REMOTE_PARTICIPANTS
from utd_stream_rx.state.views import ViewTimeoutError

P = ev.ParticipantSnapshot


def _grant(can_publish: bool) -> ev.PermissionsChanged:
    return ev.PermissionsChanged("me", can_publish, is_local=True)


def _connected_store() -> Store:
    store = Store()
    store.dispatch(ev.Connected("me"))
    return store


async def test_wait_for_returns_at_once_when_the_value_matches() -> None:
    store = _connected_store()
    assert await store.view(CONNECTED).wait_for(bool) is True
    assert not store.view(CONNECTED)._subject.observers  # nothing left subscribed


async def test_wait_for_a_later_change_on_the_loop() -> None:
    store = _connected_store()
    asyncio.get_running_loop().call_later(0.01, store.dispatch, _grant(True))
    assert await store.view(CAN_PUBLISH).wait_for(bool, timeout=5) is True
    assert not store.view(CAN_PUBLISH)._subject.observers


async def test_wait_for_a_change_made_on_another_thread() -> None:
    store = _connected_store()
    timer = threading.Timer(0.02, store.dispatch, args=(_grant(True),))
    timer.start()
    try:
        assert await store.view(CAN_PUBLISH).wait_for(bool, timeout=5) is True
    finally:
        timer.join()


async def test_wait_for_times_out_clearly_without_blocking_the_loop() -> None:
    store = _connected_store()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    try:
        with pytest.raises(ViewTimeoutError) as caught:
            await store.view(CAN_PUBLISH).wait_for(bool, timeout=0.1)
    finally:
        task.cancel()
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, UTDStreamException) and caught.value.code == "timeout"
    assert "can_publish" in str(caught.value)
    assert ticks > 5  # the loop kept running while we waited
    assert not store.view(CAN_PUBLISH)._subject.observers


async def test_wait_for_fails_when_the_store_closes_or_the_predicate_raises() -> None:
    store = _connected_store()
    asyncio.get_running_loop().call_later(0.01, store.dispose)
    with pytest.raises(UTDStreamException) as closed:
        await store.view(CAN_PUBLISH).wait_for(bool, timeout=5)
    assert closed.value.code == "closed"

    other = _connected_store()

    def picky(value: bool) -> bool:
        if value:
            raise ValueError("bad predicate")
        return False

    asyncio.get_running_loop().call_later(0.01, other.dispatch, _grant(True))
    with pytest.raises(ValueError, match="bad predicate"):
        await other.view(CAN_PUBLISH).wait_for(picky, timeout=5)


async def test_async_iteration_yields_current_then_changes_and_unsubscribes() -> None:
    store = _connected_store()
    loop = asyncio.get_running_loop()
    for i, flag in enumerate((True, True, False)):  # the repeat is suppressed
        loop.call_later(0.01 * (i + 1), store.dispatch, _grant(flag))
    seen: list[bool] = []
    async with asyncio.timeout(5):
        async for value in store.view(CAN_PUBLISH):
            seen.append(value)
            if len(seen) == 3:
                break
    assert seen == [False, True, False]
    await asyncio.sleep(0)  # let the abandoned generator be finalised
    assert not store.view(CAN_PUBLISH)._subject.observers


async def test_async_iteration_across_threads_and_until_dispose() -> None:
    store = _connected_store()

    def produce() -> None:
        for name in ("a", "b", "c"):
            store.dispatch(ev.ParticipantJoined(P(name)))
        store.dispose()

    seen: list[tuple[str, ...]] = []
    thread = threading.Thread(target=produce)
    async with asyncio.timeout(5):
        iterator = store.view(REMOTE_PARTICIPANTS).__aiter__()
        seen.append(tuple(await anext(iterator)))
        thread.start()
        async for roster in iterator:
            seen.append(tuple(sorted(roster)))
    thread.join()
    assert seen == [(), ("a",), ("a", "b"), ("a", "b", "c")]


async def test_a_view_cannot_be_awaited_directly() -> None:
    store = Store()
    with pytest.raises(TypeError, match="wait_for"):
        await store.view(CONNECTED)


@pytest.mark.parametrize(
    ("timeout", "error"),
    [(float("nan"), ValueError), (float("inf"), ValueError), (0, ValueError), (-1, ValueError),
     ("1", TypeError), (True, TypeError)],
)
async def test_wait_for_refuses_a_timeout_that_is_not_a_positive_finite_number(
    timeout: object, error: type[Exception]
) -> None:
    store = Store()
    # Refused before anything else, even when the current value already matches.
    with pytest.raises(error):
        await asyncio.wait_for(store.view(CONNECTED).wait_for(lambda _: True, timeout=timeout), 2)  # type: ignore[arg-type]
