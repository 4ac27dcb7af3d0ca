"""A 10 ms ticker on the event loop: how a test tells that the loop kept running meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs

TICK = 0.01
"""Seconds between two ticks of a free loop."""


@attrs.define
class Ticks:
    """How many times the ticker ran: close to ``seconds / TICK`` on a free loop, 0 on a
    blocked one."""

    count: int = 0


@asynccontextmanager
async def ticking() -> AsyncIterator[Ticks]:
    """Count ticks of a task sleeping :data:`TICK` at a time, until the block ends."""
    ticks = Ticks()

    async def tick() -> None:
        while True:
            await asyncio.sleep(TICK)
            ticks.count += 1

    task = asyncio.create_task(tick())
    try:
        yield ticks
    finally:
        task.cancel()
