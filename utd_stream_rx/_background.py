"""Helpers for the client's background loops (bearer renewal, incoming-call following)."""

from __future__ import annotations

import asyncio

__all__ = ["backoff", "stopped_elsewhere"]

_RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) of a background loop."""
    return _RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)]


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
