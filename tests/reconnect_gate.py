"""A gate on a client's incoming-call stream, shared by the engine and reliability tests: hold
the follower's next reconnect to make a window in which the engine changes calls unseen."""

from __future__ import annotations

import asyncio

from utd_stream_rx import UTDCallEventStream, UTDStreamClient

__all__ = ["ReconnectGate"]


class ReconnectGate:
    """Holds the client's next incoming-call stream before it opens, until released."""

    def __init__(self, client: UTDStreamClient) -> None:
        self.waiting = asyncio.Event()  # the follower is held
        self._open = asyncio.Event()
        self._open.set()
        real = client.api.call_events

        def gated() -> UTDCallEventStream:
            stream = real()
            opening = stream.open

            async def open_when_let_through() -> None:
                if not self._open.is_set():
                    self.waiting.set()
                    await self._open.wait()
                await opening()

            stream.open = open_when_let_through  # type: ignore[method-assign]
            return stream

        client.api.call_events = gated  # type: ignore[method-assign]

    def hold(self) -> None:
        self.waiting.clear()
        self._open.clear()

    def release(self) -> None:
        self._open.set()
