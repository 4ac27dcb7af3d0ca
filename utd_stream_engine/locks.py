"""The lock under which a room changes: this process's own, then the database's.

Commands of one process on one room queue on an asyncio lock first, so that a burst on one
room holds one database connection, not one per command; the storage's room lock then keeps
out every other instance sharing the database (PostgreSQL), for as long as the change and its
push to LiveKit take. A process's locks are dropped once nobody holds or awaits them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from .storage import Storage

__all__ = ["RoomLocks"]


class RoomLocks:
    """The room locks of one engine process on one storage."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._local: dict[tuple[str, str], asyncio.Lock] = {}
        self._users: dict[tuple[str, str], int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, app_id: str, room_name: str) -> AsyncIterator[None]:
        """Hold the room: no other change of it runs meanwhile, in any instance."""
        key = (app_id, room_name)
        lock = self._local.get(key)
        if lock is None:
            lock = self._local[key] = asyncio.Lock()
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._storage.room_lock(app_id, room_name):
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._local[key]

    def __len__(self) -> int:
        """Rooms whose lock is held or awaited now."""
        return len(self._local)
