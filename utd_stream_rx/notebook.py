"""Views and sessions in Jupyter: HTML that renders itself and updates in place.

The core knows nothing of notebooks: this module teaches IPython to render them. Importing it
inside IPython registers HTML formatters for :class:`~utd_stream_rx.state.views.View` and
:class:`~utd_stream_rx.sessions.base.UTDSession`, and so does loading it as an extension
(``%load_ext utd_stream_rx.notebook``). A view or a session shown as the last expression of
a cell then renders as HTML (its current value). :func:`live` shows one and keeps the output
updated through an IPython display handle on every change, with no event-loop tricks:
Jupyter's top-level ``await`` drives the session and the subscriptions redraw the output::

    from utd_stream_rx.notebook import live
    panel = live(room)          # connected, can_publish, seats, speakers ... redrawn as they change
    await room.take_seat(0)
    panel.stop()                # freeze the output

A session's panel shows the views its class exposes that the spec table places in the panel
(:attr:`~utd_stream_rx.state.view_specs.ViewSpec.panel`), in that order.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex.abc import DisposableBase

from .error_codes import ErrorCode
from .errors import UTDStreamException
from .models import UTDSeatGrid, UTDStageMember
from .sessions.base import UTDSession
from .state.session_view import session_views
from .state.views import View

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = [
    "LiveDisplay",
    "live",
    "load_ipython_extension",
    "panel_views",
    "register_formatters",
    "session_html",
    "view_html",
]


def _value_html(value: Any) -> str:
    if isinstance(value, UTDSeatGrid):
        return _seats_html(value)
    if isinstance(value, bool):
        color = "#1a7f37" if value else "#888"
        return f'<b style="color:{color}">{value}</b>'
    if isinstance(value, Mapping):
        return html.escape(", ".join(str(key) for key in value) or "(none)")
    if isinstance(value, tuple) and value and isinstance(value[0], UTDStageMember):
        return html.escape(", ".join(member.identity for member in value))
    if isinstance(value, tuple):
        return html.escape(", ".join(str(item) for item in value) or "(none)")
    text = getattr(value, "value", value)  # enums show their wire value
    return html.escape("-" if text is None else str(text))


def _seats_html(grid: UTDSeatGrid) -> str:
    cells = []
    for seat in grid.seats:
        label = seat.identity or ("locked" if seat.locked else "free")
        mark = " (muted)" if seat.muted else ""
        style = "background:#dafbe1" if seat.identity else "background:#f6f8fa"
        cells.append(
            f'<td style="{style};padding:2px 6px;border:1px solid #ccc">'
            f"{seat.index}: {html.escape(label + mark)}</td>"
        )
    return (
        f"<span>v{grid.version} {html.escape(grid.mode.value)}</span>"
        f'<table style="border-collapse:collapse"><tr>{"".join(cells)}</tr></table>'
    )


def view_html(view: View[Any]) -> str:
    """A view as HTML: its name and its current value."""
    return f"<div><code>{html.escape(view.name)}</code> = {_value_html(view.value)}</div>"


def panel_views(session: UTDSession) -> list[View[Any]]:
    """The views a session's panel shows: those of its class the spec table places in the
    panel, in the table's order."""
    placed = [
        (declared.spec.panel, name)
        for name, declared in session_views(type(session)).items()
        if declared.spec.panel is not None
    ]
    return [getattr(session, name) for _, name in sorted(placed)]


def session_html(session: UTDSession) -> str:
    """A session as an HTML table of its views' current values."""
    title = html.escape(f"{type(session).__name__} {session.identity or ''}".strip())
    rows = "".join(
        f"<tr><td><code>{html.escape(view.name)}</code></td><td>{_value_html(view.value)}</td></tr>"
        for view in panel_views(session)
    )
    return f"<div><b>{title}</b><table>{rows}</table></div>"


class LiveDisplay:
    """An output cell kept in step with a view or a session until :meth:`stop`."""

    def __init__(self, render: Any, views: list[View[Any]], handle: Any) -> None:
        self._render = render
        self._handle = handle
        self._subscriptions: list[DisposableBase] = []
        self.updates = 0
        """How many times the output was redrawn."""
        for view in views:
            self._subscriptions.append(view.subscribe(self._redraw))

    def _redraw(self, _: object) -> None:
        from IPython.display import HTML

        self.updates += 1
        self._handle.update(HTML(self._render()))  # type: ignore[no-untyped-call]

    def stop(self) -> None:
        """Stop updating; the output keeps its last content."""
        for subscription in self._subscriptions:
            subscription.dispose()
        self._subscriptions.clear()

    def _repr_html_(self) -> str:
        return str(self._render())


def live(target: UTDSession | View[Any]) -> LiveDisplay:
    """Display ``target`` and redraw it on every change of its view(s).

    Raises:
        UTDStreamException: ``missing_dependency`` when IPython is not installed.
    """
    try:
        from IPython.display import HTML, display
    except ImportError as exc:
        raise UTDStreamException(
            "live() needs IPython (run it in Jupyter or install ipython)",
            code=ErrorCode.MISSING_DEPENDENCY,
        ) from exc
    if isinstance(target, reactivex.Observable):
        view = target

        def render() -> str:
            return view_html(view)

        views = [view]
    else:
        session = target

        def render() -> str:
            return session_html(session)

        views = panel_views(session)
    handle = display(HTML(render()), display_id=True)  # type: ignore[no-untyped-call]
    return LiveDisplay(render, views, handle)


# -- IPython registration -----------------------------------------------------------------------


def register_formatters(shell: InteractiveShell) -> None:
    """Render views and sessions as HTML in ``shell`` (subclasses included)."""
    display = shell.display_formatter
    if display is None:  # a shell that displays nothing (not set up yet)
        return
    html_formatter = display.formatters["text/html"]
    html_formatter.for_type(View, view_html)
    html_formatter.for_type(UTDSession, session_html)


def load_ipython_extension(shell: InteractiveShell) -> None:
    """``%load_ext utd_stream_rx.notebook``: render views and sessions as HTML."""
    register_formatters(shell)


def _register_in_running_shell() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return  # no IPython: nothing to render into
    shell = get_ipython()
    if shell is not None:
        register_formatters(shell)


_register_in_running_shell()
