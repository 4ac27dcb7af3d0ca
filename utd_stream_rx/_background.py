"""Background work: the loop an object belongs to, and the task sets of sessions and rooms
(the retry pacing of the client's loops is in :mod:`utd_stream_rx._backoff`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

__all__ = ["BackgroundTasks", "running_loop", "stopped_elsewhere"]


def stopped_elsewhere(task: asyncio.Task[None]) -> bool:
    """Stop ``task`` if it runs on another event loop than this one; whether it did.

    A client used by one ``asyncio.run`` after another finds its background tasks on the
    previous loop: cancelled by ``asyncio.run`` already, or told to stop on their own loop
    (touching them from here would raise a bare ``RuntimeError``).
    """
    owner = task.get_loop()
    if owner is asyncio.get_running_loop():
        return False
    if not task.done() and not owner.is_closed():
        owner.call_soon_threadsafe(task.cancel)
    return True


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop, or ``None`` outside a coroutine (an object made there is bound
    to the loop of its first use)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class BackgroundTasks:
    """The running background steps of one owner (a session, a room).

    Args:
        log: Where :meth:`spawn` reports a step that failed.
    """

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Run ``coro`` in the background; a failure is logged, not raised."""
        task = asyncio.ensure_future(coro)
        self.keep(task)
        task.add_done_callback(self._report)

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Hold ``task`` until it ends (the loop keeps only weak references to tasks)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _report(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._log.warning("background step failed: %s", task.exception())

    def _others(self) -> list[asyncio.Task[Any]]:
        current = asyncio.current_task()
        return [task for task in self._tasks if task is not current]

    async def cancel(self) -> None:
        """Cancel every step (but the one calling this) and wait until they ended."""
        tasks = self._others()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def settle(self) -> None:
        """Wait until every step (but the one calling this) ended, whatever its outcome."""
        tasks = self._others()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
