"""The reactive core: typed events, pure reducers, one serialised store, read-only views.

Everything that can change a session's state is an :mod:`~utd_stream_rx.state.events` event;
:func:`~utd_stream_rx.state.reducers.reduce` folds events into a
:class:`~utd_stream_rx.state.reducers.SessionState`; the
:class:`~utd_stream_rx.state.store.Store` serialises dispatch and exposes the state as
read-only :class:`~utd_stream_rx.state.views.View` objects, one per spec of the table in
:mod:`~utd_stream_rx.state.view_specs` (``store.view(view_specs.SEATS)``).
"""

from . import events, notices, view_specs
from .events import Event, ParticipantSnapshot, PermissionSnapshot, TrackSnapshot
from .reducers import ConnectionState, SessionState, reduce
from .session_view import SessionView, session_view
from .store import Store
from .view_specs import VIEW_SPECS, ViewSpec
from .views import View, ViewTimeoutError

__all__ = [
    "VIEW_SPECS",
    "ConnectionState",
    "Event",
    "ParticipantSnapshot",
    "PermissionSnapshot",
    "SessionState",
    "SessionView",
    "Store",
    "TrackSnapshot",
    "View",
    "ViewSpec",
    "ViewTimeoutError",
    "events",
    "notices",
    "reduce",
    "session_view",
    "view_specs",
]
