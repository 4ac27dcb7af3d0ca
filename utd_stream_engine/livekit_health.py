"""Whether LiveKit is in trouble, and the wake-up call of the reconciler.

A failed push says LiveKit may have lost something; the reconciler (:mod:`.background`)
catches up once LiveKit answers again. This is the signal between them.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["LiveKitHealth"]


class LiveKitHealth:
    """LiveKit's state as the engine last saw it, and the requests for a reconciliation."""

    def __init__(self) -> None:
        self._wanted = asyncio.Event()
        self._trouble = False

    @property
    def in_trouble(self) -> bool:
        """True from a failed LiveKit call until a reconciliation pass reaches LiveKit."""
        return self._trouble

    def request_reconcile(self) -> None:
        """Run a reconciliation pass soon (see :mod:`.reconcile`)."""
        self._wanted.set()

    def failed(self) -> None:
        """A LiveKit call failed."""
        # After a LiveKit outage: the first failure wakes the reconciler, whose passes then
        # run every few seconds until one reaches LiveKit again (the first call that succeeds
        # after the failures); that pass catches up with what was lost meanwhile (departures
        # whose webhooks were dropped, grants that were never applied).
        if not self._trouble:
            self._trouble = True
            self.request_reconcile()

    def reached(self) -> None:
        """A reconciliation pass reached LiveKit: the trouble is over."""
        self._trouble = False

    def clear_requests(self) -> None:
        """Forget the requests so far (a pass is about to run)."""
        self._wanted.clear()

    async def wait_for_request(self, timeout: float | None) -> None:
        """Return on the next request for a pass, or after ``timeout`` seconds (``None``:
        only on a request)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wanted.wait(), timeout)
