"""Request expiry: stage and speak requests that waited longer than ``request_ttl`` go.

The sweeper asks storage for the rooms that have a request made before the deadline (a query
of the pending requests' own table, answered inside the database), no more often than every
``min(request_ttl / 4, 5)`` seconds, so rooms with nothing due are never loaded. A room with a
request past its time gets a new version without it (pushed like any change), and each
requester is told: ``utd.stage.request.expired`` ``{identity}`` or
``utd.seat.request.expired`` ``{request_id, identity}``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from .config import EngineConfig
from .errors import ApiError
from .state import RoomRecord
from .storage import Storage

__all__ = ["Notes", "RequestExpiry", "RoomChanger", "check_interval", "expire_due"]

log = logging.getLogger(__name__)

_MAX_CHECK_INTERVAL = 5.0  # seconds: an expiry is never noticed much later than this


class Notes(Protocol):
    """What an expiry change needs of the engine's effects of a room change."""

    changed: bool

    def notify(self, topic: str, identities: tuple[str, ...], payload: dict[str, Any]) -> None:
        """Queue a data message to ``identities``."""
        ...


class RoomChanger(Protocol):
    """What expiry needs of the engine (the engine itself, without importing it back)."""

    config: EngineConfig
    storage: Storage

    async def change_room(
        self, app_id: str, room_name: str, change: Callable[[RoomRecord, Notes], None]
    ) -> dict[str, Any]:
        """Apply ``change`` to a room under its lock, save and push it."""
        ...


def check_interval(request_ttl: float) -> float:
    """Seconds between two looks for expired requests."""
    return min(request_ttl / 4, _MAX_CHECK_INTERVAL)


def _is_due(created_at: float | None, deadline: float) -> bool:
    # A request without a time (never written by this engine) expires with the first look.
    return created_at is None or created_at <= deadline


class RequestExpiry:
    """Removes requests older than the engine's ``request_ttl`` (0: never)."""

    def __init__(self, engine: RoomChanger) -> None:
        self._engine = engine
        self._next_check = 0.0

    async def sweep(self) -> None:
        """One look for expired requests, unless the last one was too recent."""
        ttl = self._engine.config.request_ttl
        now = time.time()
        if ttl <= 0 or now < self._next_check:
            return
        self._next_check = now + check_interval(ttl)
        deadline = now - ttl
        for app_id, room_name in await self._engine.storage.rooms_with_requests(made_by=deadline):
            try:
                await self._expire_in(app_id, room_name, deadline)
            except Exception:
                log.exception("expiring the requests of %s failed", room_name)

    async def _expire_in(self, app_id: str, room_name: str, deadline: float) -> None:
        def change(room: RoomRecord, effects: Notes) -> None:
            # Under the lock: a request answered meanwhile is no longer there to expire.
            effects.changed = expire_due(room, deadline, effects)

        with contextlib.suppress(ApiError):  # the room went meanwhile
            await self._engine.change_room(app_id, room_name, change)


def expire_due(room: RoomRecord, deadline: float, effects: Notes) -> bool:
    """Drop the room's requests made at or before ``deadline`` and tell each requester; True
    when any went."""
    stage_due = [r for r in room.stage_requests if _is_due(r.created_at, deadline)]
    speak_due = [r for r in room.speak_requests if _is_due(r.created_at, deadline)]
    # Request ids are unique within a room, whatever the kind of request.
    gone = {r.request_id for r in stage_due} | {r.request_id for r in speak_due}
    if stage_due:
        room.stage_requests = [r for r in room.stage_requests if r.request_id not in gone]
    if speak_due:
        room.speak_requests = [r for r in room.speak_requests if r.request_id not in gone]
    for stage in stage_due:
        effects.notify("utd.stage.request.expired", (stage.identity,), {"identity": stage.identity})
    for speak in speak_due:
        body = {"request_id": speak.request_id, "identity": speak.identity}
        effects.notify("utd.seat.request.expired", (speak.identity,), body)
    return bool(stage_due or speak_due)
