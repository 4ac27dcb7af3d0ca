"""Incoming-call tools shared by the engine and reliability tests: a recorder of what a client's
``incoming_calls`` delivered, and a gate that holds its next reconnect to make a window in which
the engine changes calls unseen."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

from utd_stream_rx import UTDCall, UTDCallEventStream, UTDCallStatus, UTDStreamClient

__all__ = ["IncomingCalls", "ReconnectGate"]


class IncomingCalls:
    """What a client's ``incoming_calls`` delivered, and the ``since`` of each catch-up read."""

    def __init__(self, client: UTDStreamClient) -> None:
        self.client = client
        self.calls: list[UTDCall] = []
        self.since: list[float | None] = []
        self.arrived = asyncio.Event()
        client.incoming_calls.subscribe(self._add)
        real = client.api.calls.list_calls

        async def spied(**kwargs: Any) -> list[UTDCall]:
            self.since.append(kwargs.get("since"))
            return await real(**kwargs)

        client.api.calls.list_calls = spied  # type: ignore[method-assign]

    def _add(self, call: UTDCall) -> None:
        self.calls.append(call)
        self.arrived.set()

    def versions(self, call_id: str) -> list[tuple[int, UTDCallStatus]]:
        return [(c.version, c.status) for c in self.calls if c.call_id == call_id]

    def statuses(self, call_id: str) -> list[UTDCallStatus]:
        return [c.status for c in self.calls if c.call_id == call_id]

    async def until(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self.arrived.clear()
                await self.arrived.wait()

    async def until_status(
        self, call_id: str, status: UTDCallStatus, timeout: float = 20.0
    ) -> None:
        await self.until(lambda: status in self.statuses(call_id), timeout)

    def assert_each_version_once(self) -> None:
        """Each ``(call, version)`` delivered once, the versions of each call in order."""
        counts = Counter((c.call_id, c.version) for c in self.calls)
        assert counts and all(n == 1 for n in counts.values()), counts
        for call_id in {c.call_id for c in self.calls}:
            versions = [c.version for c in self.calls if c.call_id == call_id]
            assert versions == sorted(versions), (call_id, versions)

    @property
    def figure(self) -> str:
        ledger = self.client._call_follower.ledger
        return f"{ledger.delivered} delivered, {ledger.dropped} repeats dropped"


class ReconnectGate:
    """Holds the client's next incoming-call stream before it opens, until released."""

    def __init__(self, client: UTDStreamClient) -> None:
        self.waiting = asyncio.Event()  # the follower is held
        self._open = asyncio.Event()
        self._open.set()
        real = client.api.calls.events

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

        client.api.calls.events = gated  # type: ignore[method-assign]

    def hold(self) -> None:
        self.waiting.clear()
        self._open.clear()

    def release(self) -> None:
        self._open.set()
