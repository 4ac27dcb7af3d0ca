"""Work a command finishes after its answer has gone: the rest of a room's push to LiveKit.

A command's caller waits only for what it needs (the change saved, its grants applied); the
room metadata and the notifications every other participant reads follow right after, still
under the room's lock, so the pushes of one room stay in version order. The engine awaits this
work before it stops, and tests await it to see what was pushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

__all__ = ["AfterAnswer"]

log = logging.getLogger(__name__)


class AfterAnswer:
    """The tasks finishing commands that have answered already."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def finish(self, held: contextlib.AsyncExitStack, work: Awaitable[None]) -> None:
        """Run ``work`` in the background, then release what ``held`` holds (the room lock
        the command took), whatever ``work`` did."""
        task = asyncio.get_running_loop().create_task(_run(held, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until every command's remaining work is done (including work that those
        tasks' completion lets start)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def __len__(self) -> int:
        """Commands whose remaining work is still running."""
        return len(self._tasks)


async def _run(held: contextlib.AsyncExitStack, work: Awaitable[None]) -> None:
    async with held:
        try:
            await work
        except Exception:
            # Pushes are best effort (the reconciler catches up); nothing may escape a task.
            log.exception("finishing a command after its answer failed")
