"""Fan-out of call changes to the open ``/calls/events`` streams of this process."""

from __future__ import annotations

import asyncio
from typing import Any

from .state import CallRecord

__all__ = ["CallHub"]


class CallHub:
    """Fan-out of call changes to the open ``/calls/events`` streams."""

    def __init__(self) -> None:
        self._queues: dict[tuple[str, str], set[asyncio.Queue[dict[str, Any] | None]]] = {}

    def subscribe(self, app_id: str, identity: str) -> asyncio.Queue[dict[str, Any] | None]:
        """A queue that receives every change of the identity's calls."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._queues.setdefault((app_id, identity), set()).add(queue)
        return queue

    def unsubscribe(
        self, app_id: str, identity: str, queue: asyncio.Queue[dict[str, Any] | None]
    ) -> None:
        """Stop delivering to ``queue``."""
        queues = self._queues.get((app_id, identity))
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[(app_id, identity)]

    def publish(self, call: CallRecord) -> None:
        """Deliver the call to its caller's and callee's streams (storage calls this for
        every saved change, made by this instance or another)."""
        data = call.to_json()
        for identity in {call.caller_identity, call.callee_identity}:
            for queue in self._queues.get((call.app_id, identity), ()):
                queue.put_nowait(data)

    def close(self) -> None:
        """End every stream (shutdown)."""
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(None)
