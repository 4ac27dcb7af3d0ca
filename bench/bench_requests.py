"""A busy room: seat changes in an audio room holding 1,000 pending requests to speak, against
the same seat changes in an empty room, both through the engine's REST endpoint with the host
connected to each room.

The engine keeps a room's pending requests apart from its record and out of its metadata past
a few, so a change that does not touch them (a seat locked and unlocked here) should not pay
for them. Target: at most 1.10x.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from _common import parser, report

from utd_stream_rx import UTDStreamClient
from utd_stream_rx.testing import LocalStack

PENDING = 1000
SEATS = "/api/v1/audio-rooms/{room}/seats"


class Engine:
    """Plain HTTP to the stack's engine."""

    def __init__(self, http: aiohttp.ClientSession, stack: LocalStack) -> None:
        self.http = http
        self.base = stack.base_url
        self.app = {"X-UTD-App-Id": stack.app_id, "X-UTD-App-Key": stack.app_key}

    async def post(self, path: str, body: object, bearer: str | None = None) -> dict[str, object]:
        headers = dict(self.app)
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        async with self.http.post(self.base + path, json=body, headers=headers) as answer:
            data: dict[str, object] = await answer.json()
            if answer.status != 200:
                raise RuntimeError(f"{path}: {answer.status} {data}")
            return data

    async def bearer(self, identity: str, room: str, role: str) -> str:
        body = {"identity": identity, "room_name": room, "type": "audio_room", "role": role}
        return str((await self.post("/api/v1/token", body))["user_token"])


async def _fill(engine: Engine, room: str, count: int) -> None:
    async def ask(n: int) -> None:
        bearer = await engine.bearer(f"fan-{n:04d}", room, "audience")
        await engine.post(SEATS.format(room=room) + "/request", {}, bearer)

    for start in range(0, count, 25):
        await asyncio.gather(*(ask(n) for n in range(start, min(count, start + 25))))


async def _seat_change_ms(engine: Engine, room: str, bearer: str, locked: bool) -> float:
    began = time.perf_counter()
    await engine.post(SEATS.format(room=room) + "/5/lock", {"locked": locked}, bearer)
    return (time.perf_counter() - began) * 1e3


async def _run(stack: LocalStack, rounds: int, pending: int) -> tuple[list[float], list[float]]:
    busy_ms: list[float] = []
    empty_ms: list[float] = []
    async with aiohttp.ClientSession() as http:
        engine = Engine(http, stack)
        bearers = {}
        for room in ("busy", "empty"):
            bearers[room] = await engine.bearer("host", room, "host")
            await engine.post(SEATS.format(room=room) + "/setup", {"seat_mode": "request"},
                              bearers[room])
        clients = [UTDStreamClient(stack.app_id, stack.app_key, stack.base_url) for _ in range(2)]
        try:
            for client, room in zip(clients, ("busy", "empty"), strict=True):
                await client.join_audio_room("host", room, as_host=True)
            await _fill(engine, "busy", pending)
            for n in range(rounds):
                locked = n % 2 == 0
                busy_ms.append(await _seat_change_ms(engine, "busy", bearers["busy"], locked))
                empty_ms.append(await _seat_change_ms(engine, "empty", bearers["empty"], locked))
        finally:
            for client in clients:
                await client.aclose()
    return busy_ms, empty_ms


def main() -> int:
    args = parser(__doc__.splitlines()[0], rounds=60).parse_args()
    rounds, pending = (5, 100) if args.quick else (args.rounds, PENDING)
    with LocalStack(engine_args=["--rate-limit", "0", "--join-window", "600"]) as stack:
        busy_ms, empty_ms = asyncio.run(_run(stack, rounds, pending))
    ok = report(
        f"seat change with {pending} pending requests vs an empty room", "ms",
        busy_ms, empty_ms, 1.10,
    )
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
