"""Short, safe ``repr`` text for the SDK's long-lived objects (client, sessions, room, store).

A repr is read in logs, tracebacks and debuggers, maybe from another thread or while the loop
is busy: the objects hand over values they already hold (no await, no I/O, no lock taken), and
never a credential (no app key, bearer or room token).
"""

from __future__ import annotations

import enum

__all__ = ["client_repr", "fields_repr"]


def _shown(value: object) -> str:
    """``value`` as the repr shows it: an enum by its value (``'connected'``), else ``repr``."""
    if isinstance(value, enum.Enum):
        value = value.value
    return repr(value)


def fields_repr(name: str, **fields: object) -> str:
    """``name(key=value, ...)`` in the order given, each value by its ``repr`` (enums by
    value)."""
    shown = ", ".join(f"{key}={_shown(value)}" for key, value in fields.items())
    return f"{name}({shown})"


def client_repr(app_id: str, identity: str | None, closed: bool, sessions: int) -> str:
    """A client's repr: its app, the identity it acts for, open or closed, how many sessions
    it holds (never its app key or a bearer)."""
    return fields_repr(
        "UTDStreamClient", app_id=app_id, identity=identity, closed=closed, sessions=sessions
    )
