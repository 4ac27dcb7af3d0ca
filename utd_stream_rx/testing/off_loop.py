"""Run the test tooling's blocking process control off the event loop.

Starting, stopping and restarting a child process waits (for a port to answer, for a process to
exit): done on the loop, every other task (LiveKit's reconnects, the SDK's timers) would freeze
meanwhile. :func:`off_loop` runs such a call on a thread of its own and awaits it.

The threads live as long as the process, never a pool an event loop shuts down: a child asks
the kernel (``PR_SET_PDEATHSIG``) to stop it when the *thread* that started it ends, so a child
started from a short-lived thread (``asyncio.to_thread``'s pool dies with its loop) would be
killed at the end of the test that restarted it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Self, TypeVar

__all__ = ["OffLoopLifecycle", "off_loop"]

_T = TypeVar("_T")

_WORKERS = 4  # more than one: a cluster's parts may be stopped side by side
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _children_executor() -> ThreadPoolExecutor:
    """The process-wide pool (made on first use; shut down only at interpreter exit)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(_WORKERS, thread_name_prefix="utd-children")
        return _executor


async def off_loop(call: Callable[[], _T]) -> _T:
    """``call()`` on the children's threads, awaited without blocking the loop.

    Cancelling the awaiting task does not stop ``call``: it runs to its end on its thread (a
    process half started is still stopped by its own error handling).
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_children_executor(), call)


class OffLoopLifecycle:
    """``restart()`` and the awaitable ``astart()``/``astop()``/``arestart()``/``acleanup()`` of
    a whole stack, over the blocking ``start()``, ``stop()`` and ``cleanup()`` it defines."""

    def start(self) -> object:
        """Start every part (defined by the stack)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop every part (defined by the stack)."""
        raise NotImplementedError

    def cleanup(self) -> None:
        """Stop every part and remove what it wrote (defined by the stack)."""
        raise NotImplementedError

    def restart(self) -> None:
        """Stop every part and start them again (same ports, same data)."""
        self.stop()
        self.start()

    async def astart(self) -> Self:
        """:meth:`start` without blocking the event loop."""
        await off_loop(self.start)
        return self

    async def astop(self) -> None:
        """:meth:`stop` without blocking the event loop."""
        await off_loop(self.stop)

    async def arestart(self) -> None:
        """:meth:`restart` without blocking the event loop."""
        await off_loop(self.restart)

    async def acleanup(self) -> None:
        """:meth:`cleanup` without blocking the event loop."""
        await off_loop(self.cleanup)
