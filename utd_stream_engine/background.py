"""The engine's background work: the sweeper (ring timeout, rejoin grace, join window,
request expiry) and the reconciler (:mod:`.reconcile`), which runs at start-up, every
``reconcile_interval``, when asked, and every few seconds while LiveKit is in trouble."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from .config import EngineConfig
from .errors import StorageUnavailable
from .livekit_health import LiveKitHealth
from .reconcile import Reconcilable, reconcile

__all__ = ["BackgroundWork", "Sweep"]

log = logging.getLogger(__name__)

_RECONCILE_RETRY = 5.0  # seconds between reconciliation passes while LiveKit is in trouble

Sweep = tuple[str, Callable[[], Awaitable[None]]]
"""One step of every sweep: what it is called in logs, and the step itself."""


async def _sweep_step(what: str, step: Awaitable[None]) -> None:
    """Run one step of the sweep; a failure is logged and the sweep goes on."""
    try:
        await step
    except StorageUnavailable as exc:
        # Every second while the database cannot be written: one line, not a traceback.
        log.warning("%s sweep waits for the database: %s", what, exc)
    except Exception:
        log.exception("%s sweep failed", what)


class BackgroundWork:
    """Runs the sweeps and reconciliation passes while the engine is started."""

    def __init__(
        self,
        config: EngineConfig,
        health: LiveKitHealth,
        engine: Reconcilable,
        sweeps: Sequence[Sweep],
    ) -> None:
        self._config = config
        self._health = health
        self._engine = engine
        self._sweeps = tuple(sweeps)
        self._sweeper: asyncio.Task[None] | None = None
        self._reconciler: asyncio.Task[None] | None = None

    async def reconcile(self) -> bool:
        """One reconciliation pass now; False when LiveKit could not be asked."""
        try:
            reached = (await reconcile(self._engine)).reached
        except Exception:
            log.exception("reconciliation with LiveKit failed")
            reached = False
        if reached:
            self._health.reached()
        else:
            self._health.failed()
        return reached

    async def _reconcile_forever(self) -> None:
        # The first pass runs right after start-up: the engine may have been down while
        # participants left and LiveKit gave up retrying their webhooks.
        while True:
            self._health.clear_requests()
            await self.reconcile()
            if self._health.in_trouble:
                wait: float | None = _RECONCILE_RETRY
            elif self._config.reconcile_interval > 0:
                wait = self._config.reconcile_interval
            else:
                wait = None  # only when asked (a room started again, a LiveKit failure)
            await self._health.wait_for_request(wait)

    async def _sweep_forever(self) -> None:
        interval = max(0.05, min(1.0, self._config.ring_timeout / 4))
        while True:
            for what, step in self._sweeps:
                await _sweep_step(what, step())
            await asyncio.sleep(interval)

    def start(self) -> None:
        """Start background work (the ring timeout, the rejoin grace, reconciliation)."""
        loop = asyncio.get_running_loop()
        if self._sweeper is None:
            self._sweeper = loop.create_task(self._sweep_forever())
        # Without LiveKit nobody is ever in a room: there is nothing to reconcile with.
        if self._reconciler is None and self._config.livekit_url is not None:
            self._reconciler = loop.create_task(self._reconcile_forever())

    async def stop(self) -> None:
        """Stop the sweeper and the reconciler."""
        for task in (self._sweeper, self._reconciler):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sweeper = self._reconciler = None
