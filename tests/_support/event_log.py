"""Everything a session's ``events`` carried since a point, to wait for one kind of event."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from utd_stream_rx.sessions.base import UTDSession
from utd_stream_rx.state.events import Event

__all__ = ["EventLog"]

E = TypeVar("E", bound=Event)


class EventLog:
    """Records ``session.events`` from now on; dispose when done."""

    def __init__(self, session: UTDSession) -> None:
        self.seen: list[Event] = []
        # Set by each event (sessions deliver them on their loop); cleared by each look.
        self._arrived = asyncio.Event()
        self._subscription = session.events.subscribe(on_next=self._record)

    def _record(self, event: Event) -> None:
        self.seen.append(event)
        self._arrived.set()

    def of(self, kind: type[E]) -> list[E]:
        """The events of ``kind`` seen so far, in order."""
        return [event for event in self.seen if isinstance(event, kind)]

    async def wait_for(self, kind: type[E], timeout: float = 10.0) -> E:
        """The first event of ``kind``, once it has arrived (``TimeoutError`` after
        ``timeout`` seconds)."""
        async with asyncio.timeout(timeout):
            while not (found := self.of(kind)):
                self._arrived.clear()
                await self._arrived.wait()
        return found[0]

    def dispose(self) -> None:
        """Stop recording."""
        self._subscription.dispose()
