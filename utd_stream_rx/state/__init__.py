"""The reactive core: typed events, pure reducers, one serialised store, read-only views.

Everything that can change a session's state is an :mod:`~utd_stream_rx.state.events` event;
:func:`~utd_stream_rx.state.reducers.reduce` folds events into a
:class:`~utd_stream_rx.state.reducers.SessionState`; the
:class:`~utd_stream_rx.state.store.Store` serialises dispatch and exposes the state as
read-only :class:`~utd_stream_rx.state.views.View` objects.
"""

from . import events
from .events import Event, ParticipantSnapshot, PermissionSnapshot, TrackSnapshot
from .reducers import ConnectionState, SessionState, reduce
from .store import Store
from .views import View, ViewTimeoutError

__all__ = [
    "ConnectionState",
    "Event",
    "ParticipantSnapshot",
    "PermissionSnapshot",
    "SessionState",
    "Store",
    "TrackSnapshot",
    "View",
    "ViewTimeoutError",
    "events",
    "reduce",
]
