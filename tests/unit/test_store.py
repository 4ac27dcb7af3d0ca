"""The store around the reducers: serialised, re-entrant, thread-safe dispatch."""

from __future__ import annotations

import threading

import pytest

from utd_stream_rx.state import events as ev
from utd_stream_rx.state.reducers import SessionState
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import CONNECTED, REMOTE_PARTICIPANTS

P = ev.ParticipantSnapshot


def _connect(store: Store) -> None:
    store.dispatch(ev.Connecting())
    store.dispatch(ev.Connected("me"))


def test_reentrant_dispatch_is_queued_not_interleaved() -> None:
    store = Store()
    seen: list[tuple[bool, tuple[str, ...]]] = []

    def on_connected(state: SessionState) -> None:
        # Dispatching from inside a notification: must not run before others saw this state.
        if CONNECTED.read(state) and "echo" not in state.remote_participants:
            store.dispatch(ev.ParticipantJoined(P("echo")))

    def record(state: SessionState) -> None:
        seen.append((CONNECTED.read(state), tuple(state.remote_participants)))

    store.states.subscribe(on_connected)  # first subscriber: dispatches re-entrantly
    store.states.subscribe(record)  # second: must see the states in order
    store.dispatch(ev.Connected("me"))
    assert seen == [(False, ()), (True, ()), (True, ("echo",))]
    assert "echo" in store.view(REMOTE_PARTICIPANTS).value


def test_events_firehose_sees_every_event_after_the_state_absorbed_it() -> None:
    store = Store()
    got: list[tuple[type, bool]] = []

    def on_event(event: ev.Event) -> None:
        got.append((type(event), CONNECTED.read(store.state)))

    store.events.subscribe(on_event)
    _connect(store)
    store.dispatch(ev.ActiveSpeakersChanged())  # changes nothing, still in the firehose
    assert got == [(ev.Connecting, False), (ev.Connected, True), (ev.ActiveSpeakersChanged, True)]


def test_a_failing_subscriber_does_not_break_the_store() -> None:
    store = Store()
    good: list[bool] = []

    def bad(_: bool) -> None:
        raise RuntimeError("subscriber bug")

    store.view(CONNECTED).subscribe(bad)
    store.view(CONNECTED).subscribe(good.append)
    _connect(store)
    assert good == [False, True]
    assert store.view(CONNECTED).value is True


def test_data_stream_and_read_only_surface() -> None:
    store = Store()
    data: list[ev.DataReceived] = []
    store.data.subscribe(data.append)
    store.dispatch(ev.DataReceived(b"x", "bob", "chat"))
    store.dispatch(ev.ParticipantLeft("nobody"))
    assert data == [ev.DataReceived(b"x", "bob", "chat")]
    for observable in (store.view(CONNECTED), store.events, store.states, store.data):
        assert not hasattr(observable, "on_next")
    with pytest.raises(TypeError):
        store.dispatch("not an event")  # type: ignore[arg-type]


def test_dispatch_from_four_threads_gives_a_consistent_state() -> None:
    store = Store()
    _connect(store)
    active = 0
    overlaps = 0
    notifications = 0
    guard = threading.Lock()

    def watch(_: object) -> None:
        nonlocal active, overlaps, notifications
        with guard:
            active += 1
            notifications += 1
            overlaps += active > 1
        with guard:
            active -= 1

    store.view(REMOTE_PARTICIPANTS).subscribe(watch)
    per_thread = 300
    start = threading.Barrier(4)

    def worker(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            store.dispatch(ev.ParticipantJoined(P(f"t{n}-{i}")))
            if i % 2:
                store.dispatch(ev.ParticipantLeft(f"t{n}-{i}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    expected = {f"t{n}-{i}" for n in range(4) for i in range(0, per_thread, 2)}
    assert set(store.view(REMOTE_PARTICIPANTS).value) == expected
    assert set(store.state.remote_participants) == expected
    assert overlaps == 0
    # Every join and every leave changed the roster exactly once (+1 for the initial value).
    assert notifications == 1 + 4 * (per_thread + per_thread // 2)


def test_dispose_completes_views_and_drops_later_events() -> None:
    store = Store()
    completed: list[str] = []
    store.view(CONNECTED).subscribe(on_completed=lambda: completed.append("connected"))
    store.dispose()
    store.dispose()
    store.dispatch(ev.Connecting())
    assert completed == ["connected"]
    assert store.disposed and store.state.connection_state.value == "disconnected"
