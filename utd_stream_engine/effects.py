"""What a room change tells the outside world, and the room change itself as a protocol.

A change runs under the room's lock: it mutates the room and queues its :class:`Effects`;
the engine then saves the room, bumps its version and pushes metadata, changed grants and
the queued effects to LiveKit (:mod:`.livekit_push`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import attrs

from utd_stream_rx.models import UTDStreamType

from .state import RoomRecord
from .storage import TrustHold

__all__ = ["Effects", "RoomChange", "RoomChanger"]


@attrs.define
class Effects:
    """What a room change must tell the outside world besides metadata and grants."""

    changed: bool = True
    # Save a change nobody sees (a name forgotten) without a new version.
    save_quietly: bool = False
    notes: list[tuple[str, tuple[str, ...], dict[str, Any]]] = attrs.field(factory=list)
    mutes: list[tuple[str, bool]] = attrs.field(factory=list)
    # Sent after the notes: participants LiveKit must disconnect, or the whole room closed.
    removals: list[str] = attrs.field(factory=list)
    delete_room: bool = False
    # Saved with the room: what identities admitted on trust hold is checked later.
    holds: list[TrustHold] = attrs.field(factory=list)

    def notify(self, topic: str, identities: tuple[str, ...], payload: dict[str, Any]) -> None:
        """Queue a data message; ``version`` is added once the new version is known."""
        self.notes.append((topic, identities, payload))


RoomChange = Callable[[RoomRecord, Effects], None]
"""Mutates a room under its lock and queues what the change must tell."""


class RoomChanger(Protocol):
    """What a collaborator needs to change a room (the engine, without importing it back)."""

    async def change_room(
        self,
        app_id: str,
        room_name: str,
        change: RoomChange,
        *,
        kind: UTDStreamType | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Apply ``change`` to a room under its lock, save, push; answer the new state (with
        ``grant_applied`` when LiveKit confirmed a new grant of ``actor``)."""
        ...
