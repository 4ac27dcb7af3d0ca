"""Benchmark the reactive store against a hand-written callback store doing the same work.

Run: ``python bench/bench_store.py [--repeats N] [--events N]``. Prints one line per figure:

- throughput of :class:`~utd_stream_rx.state.store.Store` over a realistic event trace (a busy
  audio room: joins and leaves, attribute and permission changes, tracks, active-speaker
  updates, data messages, versioned room metadata), against a plain callback store that also
  serialises dispatch, folds with the same ``reduce``, notifies a listener per view on change
  and feeds a firehose listener; target ratio >= 0.6;
- a join storm: 10,000 joins against 1,000 (the persistent map keeps a join O(log n));
  target time ratio <= 12;
- the same throughput against a hand-written *mutable* store (``_mutable_store.py``: dicts
  updated in place by one setter per kind of event, a listener list per view, the firehose),
  checked first to end the trace with every view equal to the Store's after the same
  notifications; no target: it shows what the Store's purity costs.

Each figure is the median over the repeats, with the spread (min-max) beside it.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _mutable_store import VIEW_NAMES, MutableStore, frozen_value, view_values

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utd_stream_rx.models import (
    UTDRoomState,
    UTDSeat,
    UTDSeatGrid,
    UTDSeatMode,
    UTDStreamType,
    unstructure,
)
from utd_stream_rx.state import events as ev
from utd_stream_rx.state import reducers as rd
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import REMOTE_PARTICIPANTS, VIEW_SPECS

# The same views as the store's, each read from the whole state (no chaining).
VIEWS: dict[str, Callable[[rd.SessionState], Any]] = {spec.name: spec.read for spec in VIEW_SPECS}


class CallbackStore:
    """The baseline: what one would write by hand without Rx, with the same guarantees."""

    def __init__(self) -> None:
        self.state = rd.SessionState()
        self.lock = threading.RLock()
        self.listeners: dict[str, list[Callable[[Any], None]]] = {name: [] for name in VIEWS}
        self.last = {name: select(self.state) for name, select in VIEWS.items()}
        self.event_listeners: list[Callable[[ev.Event], None]] = []

    def dispatch(self, event: ev.Event) -> None:
        with self.lock:
            new = rd.reduce(self.state, event)
            if new is not self.state:
                self.state = new
                for name, select in VIEWS.items():
                    value = select(new)
                    if value != self.last[name]:
                        self.last[name] = value
                        for listener in self.listeners[name]:
                            listener(value)
            for listener in self.event_listeners:
                listener(event)


# -- the trace ----------------------------------------------------------------------------------


def _room_state(version: int, seats: list[str | None]) -> str:
    grid = UTDSeatGrid(
        len(seats),
        UTDSeatMode.FREE,
        tuple(UTDSeat(i, identity=h) for i, h in enumerate(seats)),
        version=version,
    )
    state = UTDRoomState("bench", UTDStreamType.AUDIO_ROOM, version, "host", seats=grid)
    return json.dumps(unstructure(state))


def make_trace(length: int, seed: int = 7) -> list[ev.Event]:
    """A busy audio room: mostly speaker and quality updates, some roster and seat churn."""
    rnd = random.Random(seed)
    trace: list[ev.Event] = [ev.Connecting("ws://bench"), ev.Connected("me")]
    present: list[str] = []
    seats: list[str | None] = [None] * 8
    version = 0
    serial = 0
    while len(trace) < length:
        roll = rnd.random()
        if roll < 0.10 or len(present) < 5:
            serial += 1
            who = f"user-{serial}"
            present.append(who)
            trace.append(ev.ParticipantJoined(ev.ParticipantSnapshot(who, name=who)))
            sid = f"TR_{serial}"
            trace.append(ev.TrackPublished(who, ev.TrackSnapshot(sid, "audio", "microphone")))
            trace.append(ev.TrackSubscribed(who, ev.TrackSnapshot(sid, "audio", "microphone")))
        elif roll < 0.16 and len(present) > 5:
            who = present.pop(rnd.randrange(len(present)))
            seats = [None if h == who else h for h in seats]
            trace.append(ev.ParticipantLeft(who))
        elif roll < 0.50:
            speakers = tuple(rnd.sample(present, k=min(len(present), rnd.randint(0, 3))))
            trace.append(ev.ActiveSpeakersChanged(speakers))
        elif roll < 0.62:
            who = rnd.choice(present)
            quality = rnd.choice(("excellent", "good", "poor"))
            trace.append(ev.ConnectionQualityChanged(who, quality))
        elif roll < 0.72:
            who = rnd.choice(present)
            seat = rnd.randrange(len(seats))
            seats = [None if h == who else h for h in seats]
            seats[seat] = who
            version += 1
            trace.append(ev.RoomMetadataChanged(_room_state(version, seats)))
            attrs = {"utd.role": "speaker", "utd.seat": str(seat), "utd.version": str(version)}
            trace.append(ev.ParticipantAttributesChanged(who, attrs))
            trace.append(ev.PermissionsChanged(who, ev.PermissionSnapshot(True, ("microphone",))))
        elif roll < 0.80:
            who = rnd.choice(present)
            trace.append(ev.TrackMuted(who, f"TR_{who.split('-')[1]}"))
        elif roll < 0.88:
            who = rnd.choice(present)
            trace.append(ev.TrackUnmuted(who, f"TR_{who.split('-')[1]}"))
        elif roll < 0.95:
            trace.append(ev.DataReceived(b'{"chat":"hi"}', rnd.choice(present), "chat"))
        else:
            trace.append(ev.PermissionsChanged("me", rnd.random() < 0.5, is_local=True))
    return trace[:length]


# -- measuring ----------------------------------------------------------------------------------


def _noop(_: object) -> None:
    pass


def run_store(trace: list[ev.Event]) -> float:
    store = Store()
    for spec in VIEW_SPECS:
        store.view(spec).subscribe(_noop)
    store.events.subscribe(_noop)
    start = time.perf_counter()
    for event in trace:
        store.dispatch(event)
    elapsed = time.perf_counter() - start
    store.dispose()
    return elapsed


def run_callbacks(trace: list[ev.Event]) -> float:
    """Seconds the callback baseline takes over ``trace``."""
    return _run_listened(CallbackStore(), list(VIEWS), trace)


def run_mutable(trace: list[ev.Event]) -> float:
    """Seconds the mutable baseline takes over ``trace``, listened to as the other two are."""
    return _run_listened(MutableStore(), list(VIEW_NAMES), trace)


def _run_listened(
    store: CallbackStore | MutableStore, views: list[str], trace: list[ev.Event]
) -> float:
    """Seconds ``store`` takes over ``trace`` with a listener on each view and the firehose."""
    for name in views:
        store.listeners[name].append(_noop)
    store.event_listeners.append(_noop)
    start = time.perf_counter()
    for event in trace:
        store.dispatch(event)
    return time.perf_counter() - start


# -- the mutable baseline's check: the same views, notified alike -------------------------------

SEQUENCE_CHECK_EVENTS = 3_000
Recording = tuple[dict[str, list[Any]], dict[str, Any], int]


def record_store(trace: list[ev.Event]) -> Recording:
    """Every value each view of the Store emitted (its first, then each change), its views'
    final values and the number of events its firehose delivered."""
    store = Store()
    seen: dict[str, list[Any]] = {spec.name: [] for spec in VIEW_SPECS}
    for spec in VIEW_SPECS:
        store.view(spec).subscribe(seen[spec.name].append)
    events: list[ev.Event] = []
    store.events.subscribe(events.append)
    for event in trace:
        store.dispatch(event)
    final = {spec.name: store.view(spec).value for spec in VIEW_SPECS}
    store.dispose()
    return seen, final, len(events)


def _record(into: list[Any], name: str, value: Any) -> None:
    into.append(frozen_value(name, value))  # copied now: the store changes it in place later


def record_mutable(trace: list[ev.Event], *, copy_values: bool) -> Recording:
    """The same recording of the mutable store: its live values copied when notified, or
    (``copy_values=False``, cheap on a long trace) only the notifications counted."""
    store = MutableStore()
    initial = view_values(store)
    seen: dict[str, list[Any]] = {name: [initial[name]] for name in VIEW_NAMES}
    for name in VIEW_NAMES:
        record = functools.partial(_record, seen[name], name) if copy_values else seen[name].append
        store.listeners[name].append(record)
    events: list[ev.Event] = []
    store.event_listeners.append(events.append)
    for event in trace:
        store.dispatch(event)
    return seen, dict(view_values(store)), len(events)


def _compare(trace: list[ev.Event], *, whole_sequences: bool) -> int:
    """Exit unless both stores end with equal views after as many notifications per view (and
    the very same values in order with ``whole_sequences``); the number of notifications."""
    store_seen, store_final, store_events = record_store(trace)
    mutable_seen, mutable_final, mutable_events = record_mutable(trace, copy_values=whole_sequences)
    for name in VIEW_NAMES:
        if mutable_final[name] != store_final[name]:
            raise SystemExit(f"mutable baseline check: final {name} differs from the Store's")
        if len(mutable_seen[name]) != len(store_seen[name]):
            raise SystemExit(
                f"mutable baseline check: {name} was notified a different number "
                f"of times ({len(mutable_seen[name])} vs {len(store_seen[name])})"
            )
        if whole_sequences and mutable_seen[name] != store_seen[name]:
            raise SystemExit(f"mutable baseline check: {name} was notified different values")
    if mutable_events != store_events or store_events != len(trace):
        raise SystemExit("mutable baseline check: the firehose missed events")
    return sum(len(values) - 1 for values in store_seen.values())


def check_mutable_baseline(trace: list[ev.Event]) -> str:
    """Refuse to time a baseline that does not do the Store's work: over the trace both stores
    must end with every view equal, notify each view as often, feed the firehose every event,
    and over its first events notify each view with the very same values in the same order
    (copying the mutable store's live values at every notification is too slow for all of
    it). Returns a line saying so; exits when they differ."""
    prefix = trace[:SEQUENCE_CHECK_EVENTS]
    changes = _compare(prefix, whole_sequences=True)
    if len(prefix) < len(trace):
        changes = _compare(trace, whole_sequences=False)
    return (
        f"mutable baseline check: all {len(VIEW_NAMES)} views end equal to the Store's after "
        f"as many notifications ({changes:,}) over {len(trace):,} events, the same values in "
        f"order over the first {len(prefix):,}"
    )


def join_storm(count: int) -> float:
    store = Store()
    store.view(REMOTE_PARTICIPANTS).subscribe(_noop)
    store.dispatch(ev.Connected("me"))
    joins = [ev.ParticipantJoined(ev.ParticipantSnapshot(f"p{i}")) for i in range(count)]
    start = time.perf_counter()
    for event in joins:
        store.dispatch(event)
    elapsed = time.perf_counter() - start
    assert len(store.view(REMOTE_PARTICIPANTS).value) == count
    store.dispose()
    return elapsed


def _summary(samples: list[float]) -> tuple[float, float, float]:
    return statistics.median(samples), min(samples), max(samples)


def measure_throughput(trace: list[ev.Event], repeats: int) -> bool:
    """Store, callback baseline and mutable baseline in alternation; True on target."""
    store_times, callback_times, mutable_times = [], [], []
    ratios, mutable_ratios = [], []
    for _ in range(repeats):
        s, c, m = run_store(trace), run_callbacks(trace), run_mutable(trace)
        store_times.append(s)
        callback_times.append(c)
        mutable_times.append(m)
        ratios.append(c / s)  # throughput ratio = store events/s over baseline events/s
        mutable_ratios.append(m / s)
    n = len(trace)
    med, lo, hi = _summary(store_times)
    print(f"store throughput: {n / med:,.0f} events/s (spread {n / hi:,.0f}-{n / lo:,.0f})")
    med, lo, hi = _summary(callback_times)
    print(
        f"callback baseline throughput: {n / med:,.0f} events/s "
        f"(spread {n / hi:,.0f}-{n / lo:,.0f})"
    )
    med, lo, hi = _summary(ratios)
    throughput_ok = med >= 0.6
    print(
        f"throughput ratio store/baseline: {med:.2f}x (spread {lo:.2f}-{hi:.2f}; "
        f"target >= 0.6: {'ok' if throughput_ok else 'MISSED'})"
    )
    med, lo, hi = _summary(mutable_times)
    print(
        f"mutable baseline throughput: {n / med:,.0f} events/s (spread {n / hi:,.0f}-{n / lo:,.0f})"
    )
    med, lo, hi = _summary(mutable_ratios)
    print(
        f"throughput store/mutable baseline: ratio {med:.2f}x (spread {lo:.2f}-{hi:.2f}) "
        f"(no target)"
    )
    return throughput_ok


def measure_join_storm(repeats: int) -> bool:
    """10,000 joins against 1,000 in alternation; True on target."""
    small, large, storm_ratios = [], [], []
    for _ in range(repeats):
        a, b = join_storm(1_000), join_storm(10_000)
        small.append(a)
        large.append(b)
        storm_ratios.append(b / a)
    med, lo, hi = _summary(small)
    print(f"join storm 1,000: {med * 1e3:.1f} ms (spread {lo * 1e3:.1f}-{hi * 1e3:.1f})")
    med, lo, hi = _summary(large)
    print(f"join storm 10,000: {med * 1e3:.1f} ms (spread {lo * 1e3:.1f}-{hi * 1e3:.1f})")
    med, lo, hi = _summary(storm_ratios)
    storm_ok = med <= 12
    print(
        f"join storm ratio 10,000/1,000: {med:.1f}x (spread {lo:.1f}-{hi:.1f}; "
        f"target <= 12: {'ok' if storm_ok else 'MISSED'})"
    )
    return storm_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="a small run, to see it runs")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.events = 2, 3_000

    trace = make_trace(args.events)
    print(check_mutable_baseline(trace))
    run_store(trace[:2000])  # warm-up: imports, caches
    run_callbacks(trace[:2000])
    run_mutable(trace[:2000])

    throughput_ok = measure_throughput(trace, args.repeats)
    storm_ok = measure_join_storm(args.repeats)
    return 0 if (throughput_ok and storm_ok) or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
