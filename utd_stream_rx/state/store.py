"""The store: one serialised entry point, one reduced state, read-only views.

::

    dispatch(event) -> events subject -> scan(reduce) -> (new states only) -> state subject
                                                          ├─ map(selector) + distinct -> View
                                                          └─ ...

``dispatch`` is the only way in. It is thread-safe (one thread at a time pushes into the
subjects; the others wait) and re-entrant (an observer that dispatches while being notified
has its event queued and handled once the current one has reached everyone), because a
``BehaviorSubject`` notifies outside its lock and would otherwise interleave.

The views are built from the table of :mod:`~utd_stream_rx.state.view_specs`, one per spec.
Views that read one part of the state are chained off that part: ``stage``, ``seats`` and
the other room-state views hang off ``room_state``, ``call_status`` and ``call_id`` off
``call``. An event that does not touch the room state costs one identity check for all of
them instead of one selector per view.
"""

from __future__ import annotations

import collections
import logging
import threading
from typing import Any, TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.subject import BehaviorSubject, Subject

from .._reprs import fields_repr
from .events import DataReceived, Event
from .reducers import SessionState, reduce
from .view_specs import VIEW_SPECS, ViewSpec
from .views import View, guarded_observer

__all__ = ["Store"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class _NewState:
    """Passes a state only if it is not the very object seen last (seeded with the start)."""

    __slots__ = ("_last",)

    def __init__(self, start: SessionState) -> None:
        self._last = start

    def __call__(self, state: SessionState) -> bool:
        if state is self._last:
            return False
        self._last = state
        return True


def _is_data(event: Event) -> bool:
    return isinstance(event, DataReceived)


def _as_data(event: Event) -> DataReceived:
    assert isinstance(event, DataReceived)
    return event


def _read_only(source: Observable[T]) -> Observable[T]:
    """``source`` without ``on_next``; subscribers cannot raise into the store."""

    def subscribe(
        observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return source.subscribe(
            guarded_observer(observer.on_next, observer.on_error, observer.on_completed),
            scheduler=scheduler,
        )

    return reactivex.create(subscribe)


class Store:
    """The single source of truth of a session: dispatch events, read views.

    Args:
        initial: The starting state (default: disconnected, nothing known).

    Views (read-only, each with ``.value``; subscribers get the current value then every
    change, consecutive duplicates suppressed): :meth:`view` with a spec of
    :data:`~utd_stream_rx.state.view_specs.VIEW_SPECS`, e.g. ``store.view(SEATS)``.
    Streams: :attr:`states`, :attr:`events`, :attr:`data`.
    """

    def __init__(self, initial: SessionState | None = None) -> None:
        start = initial if initial is not None else SessionState()
        self._queue: collections.deque[Event] = collections.deque()
        self._queue_lock = threading.Lock()
        self._drain_lock = threading.RLock()  # dispose() may run inside a notification
        self._drainer: int | None = None
        self._disposed = False
        self._subscriptions = CompositeDisposable()
        self._reduced = 0  # events pushed through the reducer, for the repr

        self._event_subject: Subject[Event] = Subject()
        self._state_subject: BehaviorSubject[SessionState] = BehaviorSubject(start)
        # A reducer that changed nothing returns the same object: views need not hear of it.
        self._subscriptions.add(
            self._event_subject.pipe(
                ops.scan(reduce, start), ops.filter(_NewState(start))
            ).subscribe(self._state_subject)
        )

        self.events: Observable[Event] = _read_only(self._event_subject)
        """Every dispatched event, in order (delivered after the state has absorbed it)."""
        self.states: Observable[SessionState] = _read_only(self._state_subject)
        """The current state, then every new one."""
        self.data: Observable[DataReceived] = _read_only(
            self._event_subject.pipe(ops.filter(_is_data), ops.map(_as_data))
        )
        """Data messages received in the room (from participants or the engine)."""

        self._views: dict[ViewSpec[Any, Any], View[Any]] = {}
        sources: dict[ViewSpec[Any, Any] | None, BehaviorSubject[Any]] = {
            None: self._state_subject
        }
        for spec in VIEW_SPECS:  # parents come first in the table
            sources[spec] = self._derive(sources[spec.parent], spec)
            self._views[spec] = View(sources[spec], spec.name)

    def _derive(self, source: BehaviorSubject[Any], spec: ViewSpec[Any, T]) -> BehaviorSubject[T]:
        subject: BehaviorSubject[T] = BehaviorSubject(spec.select(source.value))
        pipeline = source.pipe(
            ops.map(spec.select),
            ops.distinct_until_changed(comparer=spec.compare),
            ops.skip(1),  # the subject already holds the current value
        )
        self._subscriptions.add(pipeline.subscribe(subject))
        return subject

    def view(self, spec: ViewSpec[Any, T]) -> View[T]:
        """The view of ``spec`` (one of :data:`~utd_stream_rx.state.view_specs.VIEW_SPECS`).

        Raises:
            KeyError: ``spec`` is not in the table.
        """
        try:
            return self._views[spec]
        except KeyError:
            raise KeyError(f"{spec!r} is not a view of the store (not in VIEW_SPECS)") from None

    @property
    def state(self) -> SessionState:
        """The current state."""
        return self._state_subject.value

    def dispatch(self, event: Event) -> None:
        """Feed ``event`` into the store. Thread-safe and re-entrant.

        Returns once the event (and any queued before it) has reached every subscriber,
        except when called from inside a notification: then the event is queued and handled
        right after the current one. After :meth:`dispose` events are dropped.
        """
        if not isinstance(event, Event):
            raise TypeError(f"dispatch needs an Event, not {type(event).__name__}")
        me = threading.get_ident()
        with self._queue_lock:
            if self._disposed:
                log.debug("store disposed; dropped %r", event)
                return
            self._queue.append(event)
            if self._drainer == me:
                return  # re-entrant: the drain loop below, further up this stack, takes it
        with self._drain_lock:
            self._drainer = me
            try:
                self._drain()
            finally:
                self._drainer = None

    def _drain(self) -> None:
        queue, lock, push = self._queue, self._queue_lock, self._event_subject.on_next
        while True:
            with lock:
                if not queue or self._disposed:
                    return
                event = queue.popleft()
                self._reduced += 1
            try:
                push(event)
            except Exception:
                log.exception("a store pipeline failed on %r", event)

    def dispose(self) -> None:
        """Complete every view and stream and drop later events. Safe to call twice."""
        with self._queue_lock:
            if self._disposed:
                return
            self._disposed = True
            self._queue.clear()
        with self._drain_lock:
            self._event_subject.on_completed()
            self._subscriptions.dispose()

    def __repr__(self) -> str:
        state = self.state
        return fields_repr(
            "Store", views=len(self._views), events=self._reduced,
            connection=state.connection_state, identity=state.local_identity,
            disposed=self._disposed,
        )

    @property
    def disposed(self) -> bool:
        """True once :meth:`dispose` ran."""
        return self._disposed

