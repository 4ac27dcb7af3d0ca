"""A session's background steps: started, logged if they fail, cancelled when it leaves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

__all__ = ["BackgroundTasks"]

log = logging.getLogger("utd_stream_rx.sessions.base")


class BackgroundTasks:
    """The running background steps of one session."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Run ``coro`` in the background; a failure is logged, not raised."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background step failed: %s", task.exception())

    async def cancel(self) -> None:
        """Cancel every step (but the one calling this) and wait until they ended."""
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
