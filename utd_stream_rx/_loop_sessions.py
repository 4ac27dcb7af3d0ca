"""One ``aiohttp.ClientSession`` per event loop, closed while its loop still runs.

An aiohttp session belongs to the loop it was made on; from another loop it fails with a bare
``RuntimeError``. A client used again after its loop closed (``asyncio.run`` twice, as scripts
and notebooks do) therefore gets a new session on the new loop.

Each session is closed on its own loop, so its sockets are closed too: ``asyncio.run`` cancels
every task left when its coroutine returns, and a watcher task per session closes the session
when cancelled. A session whose loop was closed without that (a loop closed by hand) is
marked closed when the next loop comes; its sockets went with that loop.
"""

from __future__ import annotations

import asyncio

import aiohttp
import attrs

__all__ = ["LoopSessions"]


@attrs.frozen
class _Entry:
    session: aiohttp.ClientSession
    watcher: asyncio.Task[None]


async def _close_when_cancelled(session: aiohttp.ClientSession) -> None:
    try:
        await asyncio.get_running_loop().create_future()  # until cancelled
    finally:
        await session.close()


class LoopSessions:
    """The HTTP sessions of one client, one per event loop that used it."""

    def __init__(self) -> None:
        self._entries: dict[asyncio.AbstractEventLoop, _Entry] = {}

    async def get(self) -> aiohttp.ClientSession:
        """The session of the running loop, made on first use (or after it was closed)."""
        loop = asyncio.get_running_loop()
        await self._release_dead_loops()
        entry = self._entries.get(loop)
        if entry is not None and not entry.session.closed:
            return entry.session
        session = aiohttp.ClientSession()
        # The watcher must stay referenced: the loop keeps only weak references to tasks.
        watcher = loop.create_task(_close_when_cancelled(session), name="utd-http-session-closer")
        self._entries[loop] = _Entry(session, watcher)
        return session

    async def aclose(self) -> None:
        """Close every session: the running loop's now, the others' on their own loops."""
        loop = asyncio.get_running_loop()
        entries, self._entries = self._entries, {}
        for owner, entry in entries.items():
            if owner is loop:
                entry.watcher.cancel()
                await entry.session.close()
                await asyncio.wait({entry.watcher})
            elif owner.is_closed():
                await entry.session.close()  # marks it closed; nothing of it is left to free
            else:
                owner.call_soon_threadsafe(entry.watcher.cancel)

    async def _release_dead_loops(self) -> None:
        for owner in [loop for loop in self._entries if loop.is_closed()]:
            entry = self._entries.pop(owner)
            # Closed by its watcher when ``asyncio.run`` ended; otherwise this marks it closed
            # (no "Unclosed client session"): its sockets were abandoned with the loop.
            await entry.session.close()
