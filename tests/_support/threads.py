"""Work run on a thread of its own, so it can call ``asyncio.run`` while a test's loop runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["in_a_thread"]

T = TypeVar("T")


def in_a_thread(work: Callable[[], T], timeout: float = 20.0) -> T:
    """Run ``work`` on a fresh thread and return what it returned, or raise what it raised."""
    results: list[T] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"the work did not finish within {timeout} s"
    if failures:
        raise failures[0]
    return results[0]
