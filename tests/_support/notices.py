"""Watch a session's ``events`` for the engine's notifications."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from utd_stream_rx.sessions.base import UTDSession
from utd_stream_rx.state.events import Event

__all__ = ["EventLog"]

E = TypeVar("E", bound=Event)


class EventLog:
    """Every event a session emits from now on, in order (until :meth:`dispose`)."""

    def __init__(self, session: UTDSession) -> None:
        self.seen: list[Event] = []
        self._subscription = session.events.subscribe(self.seen.append)

    def of(self, kind: type[E]) -> list[E]:
        """The events of ``kind`` seen so far."""
        return [event for event in self.seen if isinstance(event, kind)]

    async def first(self, kind: type[E], timeout: float = 10.0) -> E:
        """The first event of ``kind``, once it has arrived (``TimeoutError`` after
        ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.of(kind):
            if loop.time() >= deadline:
                raise TimeoutError(f"no {kind.__name__} within {timeout}s")
            await asyncio.sleep(0.02)
        return self.of(kind)[0]

    def dispose(self) -> None:
        """Stop recording."""
        self._subscription.dispose()
