"""The listener processes of one side of the big-room bench, driven from the bench's loop.

Each worker is a fresh ``_bigroom_worker.py`` process (no heap shared with the other side or
the bench); commands go to every worker at once and one JSON answer comes back from each.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import attrs

from utd_stream_rx.testing import LocalStack

WORKER = Path(__file__).with_name("_bigroom_worker.py")
ANSWER_TIMEOUT = 300.0  # seconds; a worker that never answers fails the run instead of hanging
LINE_LIMIT = 64 * 1024 * 1024  # bytes of one answer line (the seat logs of every listener)


class RoomDidNotHold(RuntimeError):
    """Some listeners could not join, or not subscribe to every speaker, in time."""


@attrs.frozen
class RoomPlan:
    """Who is in the room: listeners per worker process, and the speakers they hear."""

    workers: int
    per_worker: int
    speakers: int

    @property
    def listeners(self) -> int:
        """Listeners of one side, all workers together."""
        return self.workers * self.per_worker


async def _answer(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    while True:
        line = await asyncio.wait_for(process.stdout.readline(), ANSWER_TIMEOUT)
        if not line:
            raise RuntimeError(f"listener worker {process.pid} exited ({process.returncode})")
        text = line.decode().strip()
        if text.startswith("{"):
            answer: dict[str, Any] = json.loads(text)
            return answer


@attrs.define
class WorkerSet:
    """The worker processes of one side, once every listener is in and subscribed."""

    side: str
    processes: list[asyncio.subprocess.Process]
    ready: list[dict[str, Any]]

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers."""
        return [process.pid for process in self.processes]

    async def ask(self, command: str) -> list[dict[str, Any]]:
        """Send ``command`` to every worker; their answers, in worker order."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(command.encode() + b"\n")
            await process.stdin.drain()
        return list(await asyncio.gather(*(_answer(p) for p in self.processes)))

    async def quit(self) -> None:
        """Every listener leaves; wait for the processes to end."""
        await self.ask("quit")
        for process in self.processes:
            await asyncio.wait_for(process.wait(), ANSWER_TIMEOUT)


async def start_workers(stack: LocalStack, side: str, room: str, plan: RoomPlan) -> WorkerSet:
    """Start ``plan.workers`` processes of ``side`` listeners and wait until all are ready."""
    processes = []
    for index in range(plan.workers):
        argv = [
            side, stack.base_url, stack.app_id, stack.app_key, room,
            str(index * plan.per_worker), str(plan.per_worker), str(plan.speakers),
        ]
        processes.append(await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), *argv,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=LINE_LIMIT,
        ))
    try:
        ready = list(await asyncio.gather(*(_answer(p) for p in processes)))
        errors = [answer["error"] for answer in ready if "error" in answer]
        if errors:
            raise RoomDidNotHold(f"{len(errors)} of {plan.workers} workers: {errors[0]}")
    except BaseException:
        for process in processes:
            if process.returncode is None:
                process.kill()
            await process.wait()
        raise
    return WorkerSet(side, processes, ready)
