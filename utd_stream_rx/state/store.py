"""The store: one serialised entry point, one reduced state, read-only views.

::

    dispatch(event) -> events subject -> scan(reduce) -> (new states only) -> state subject
                                                          ├─ map(selector) + distinct -> View
                                                          └─ ...

``dispatch`` is the only way in. It is thread-safe (one thread at a time pushes into the
subjects; the others wait) and re-entrant (an observer that dispatches while being notified
has its event queued and handled once the current one has reached everyone), because a
``BehaviorSubject`` notifies outside its lock and would otherwise interleave.

Views that read one part of the state are chained off that part: ``stage``, ``seats`` and
the other room-state views hang off ``room_state``, ``call_status`` and ``call_id`` off
``call``. An event that does not touch the room state costs one identity check for all of
them instead of one selector per view.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.subject import BehaviorSubject, Subject

from ..models import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDSeatGrid,
    UTDSeatInvitation,
    UTDSpeakRequest,
    UTDStageMember,
    UTDStageRequest,
)
from .events import DataReceived, Event, ParticipantSnapshot
from .reducers import (
    ConnectionState,
    SessionState,
    reduce,
    select_active_speakers,
    select_call,
    select_can_publish,
    select_connection_state,
    select_remote_participants,
    select_room_state,
)
from .views import View, guarded_observer

__all__ = ["Store"]

log = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S")


def _same(a: object, b: object) -> bool:
    """Equality with an identity shortcut: the reducer shares unchanged parts."""
    return a is b or a == b


def _identical(a: object, b: object) -> bool:
    """Identity only: the reducer builds a new participant map only when something changed,
    so comparing thousands of entries on every event is never needed."""
    return a is b


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


def _is_connected(state: ConnectionState) -> bool:
    return state is ConnectionState.CONNECTED


def _stage(room: UTDRoomState | None) -> tuple[UTDStageMember, ...]:
    return room.stage if room is not None else ()


def _stage_requests(room: UTDRoomState | None) -> tuple[UTDStageRequest, ...]:
    return room.stage_requests if room is not None else ()


def _seats(room: UTDRoomState | None) -> UTDSeatGrid | None:
    return room.seats if room is not None else None


def _speak_requests(room: UTDRoomState | None) -> tuple[UTDSpeakRequest, ...]:
    return room.speak_requests if room is not None else ()


def _invitations(room: UTDRoomState | None) -> tuple[UTDSeatInvitation, ...]:
    return room.invitations if room is not None else ()


def _call_status(call: UTDCall | None) -> UTDCallStatus | None:
    return call.status if call is not None else None


def _call_id(call: UTDCall | None) -> str | None:
    return call.call_id if call is not None else None


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
    change, consecutive duplicates suppressed): :attr:`connected`, :attr:`connection_state`,
    :attr:`can_publish`, :attr:`remote_participants`, :attr:`active_speakers`,
    :attr:`room_state`, :attr:`stage`, :attr:`stage_requests`, :attr:`seats`,
    :attr:`speak_requests`, :attr:`invitations`, :attr:`call`, :attr:`call_status`,
    :attr:`call_id`. Streams: :attr:`states`, :attr:`events`, :attr:`data`.
    """

    def __init__(self, initial: SessionState | None = None) -> None:
        start = initial if initial is not None else SessionState()
        self._queue: collections.deque[Event] = collections.deque()
        self._queue_lock = threading.Lock()
        self._drain_lock = threading.RLock()  # dispose() may run inside a notification
        self._drainer: int | None = None
        self._disposed = False
        self._subscriptions = CompositeDisposable()

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

        states = self._state_subject
        self.connection_state: View[ConnectionState] = self._view(
            states, select_connection_state, "connection_state"
        )
        """Where the media connection is."""
        self.connected: View[bool] = self._view(
            self.connection_state._subject, _is_connected, "connected"
        )
        """Whether the room is connected."""
        self.can_publish: View[bool] = self._view(states, select_can_publish, "can_publish")
        """Whether LiveKit lets the local participant publish (the engine's grant)."""
        self.remote_participants: View[Mapping[str, ParticipantSnapshot]] = self._view(
            states, select_remote_participants, "remote_participants", _identical
        )
        """The other participants by identity."""
        self.active_speakers: View[tuple[str, ...]] = self._view(
            states, select_active_speakers, "active_speakers"
        )
        """Identities speaking now, loudest first."""
        self.room_state: View[UTDRoomState | None] = self._view(
            states, select_room_state, "room_state", _same
        )
        """The engine's room state (highest version seen)."""
        rooms = self.room_state._subject
        self.stage: View[tuple[UTDStageMember, ...]] = self._view(rooms, _stage, "stage")
        """Live-stream publishers (host first)."""
        self.stage_requests: View[tuple[UTDStageRequest, ...]] = self._view(
            rooms, _stage_requests, "stage_requests"
        )
        """Raised hands waiting for the host."""
        self.seats: View[UTDSeatGrid | None] = self._view(rooms, _seats, "seats")
        """The audio room's seat grid."""
        self.speak_requests: View[tuple[UTDSpeakRequest, ...]] = self._view(
            rooms, _speak_requests, "speak_requests"
        )
        """Requests to speak waiting for the host."""
        self.invitations: View[tuple[UTDSeatInvitation, ...]] = self._view(
            rooms, _invitations, "invitations"
        )
        """Open invitations to take a seat."""
        self.call: View[UTDCall | None] = self._view(states, select_call, "call", _same)
        """The current call (highest version seen)."""
        calls = self.call._subject
        self.call_status: View[UTDCallStatus | None] = self._view(
            calls, _call_status, "call_status"
        )
        """The current call's status."""
        self.call_id: View[str | None] = self._view(calls, _call_id, "call_id")
        """The current call's id."""

    def _view(
        self,
        source: BehaviorSubject[S],
        selector: Callable[[S], T],
        name: str,
        comparer: Callable[[T, T], bool] | None = None,
    ) -> View[T]:
        subject: BehaviorSubject[T] = BehaviorSubject(selector(source.value))
        pipeline = source.pipe(
            ops.map(selector),
            ops.distinct_until_changed(comparer=comparer),
            ops.skip(1),  # the subject already holds the current value
        )
        self._subscriptions.add(pipeline.subscribe(subject))
        return View(subject, name)

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

    @property
    def disposed(self) -> bool:
        """True once :meth:`dispose` ran."""
        return self._disposed

