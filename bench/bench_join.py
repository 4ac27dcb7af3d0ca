"""Join latency: ``join_audio_room`` against a raw token request plus ``rtc.Room.connect``.

Both paths mint a room token from the same engine endpoint and connect to the same
livekit-server; the SDK path also builds its store and views and fetches the seat grid.
Target: at most 1.10x. Run inside ``scripts/isolated`` (``scripts/bench`` does).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from _common import parser, report
from livekit import rtc

from utd_stream_rx import UTDStreamClient
from utd_stream_rx.testing import LocalStack


async def _sdk_join(client: UTDStreamClient, identity: str, room: str) -> float:
    began = time.perf_counter()
    session = await client.join_audio_room(identity, room)
    took = time.perf_counter() - began
    await session.aclose()
    return took * 1e3


async def _raw_join(
    http: aiohttp.ClientSession, stack: LocalStack, identity: str, room: str
) -> float:
    began = time.perf_counter()
    async with http.post(
        stack.base_url + "/api/v1/token",
        json={"identity": identity, "room_name": room, "type": "audio_room"},
        headers=stack.engine.app_headers,
    ) as answer:
        answer.raise_for_status()
        token = await answer.json()
    livekit_room = rtc.Room()
    await livekit_room.connect(token["url"], token["token"], rtc.RoomOptions(auto_subscribe=True))
    took = time.perf_counter() - began
    await livekit_room.disconnect()
    return took * 1e3


async def measure(stack: LocalStack, rounds: int) -> bool:
    client = UTDStreamClient(stack.app_id, stack.app_key, stack.base_url)
    host = await client.join_audio_room("bench-host", "bench-join", as_host=True, seat_count=4)
    sdk: list[float] = []
    raw: list[float] = []
    async with aiohttp.ClientSession() as http:
        for warm in range(2):  # first connects pay for imports and native start-up
            await _sdk_join(client, f"warm-sdk-{warm}", "bench-join")
            await _raw_join(http, stack, f"warm-raw-{warm}", "bench-join")
        for n in range(rounds):
            pair = [
                ("sdk", _sdk_join(client, f"sdk-{n}", "bench-join")),
                ("raw", _raw_join(http, stack, f"raw-{n}", "bench-join")),
            ]
            if n % 2:
                pair.reverse()  # neither path always goes first
            for kind, run in pair:
                (sdk if kind == "sdk" else raw).append(await run)
    await host.aclose()
    await client.aclose()
    return report("join latency", "ms", sdk, raw, 1.10)


def main() -> int:
    args = parser(__doc__.splitlines()[0], rounds=40).parse_args()
    with LocalStack(engine_args=["--rate-limit", "0"]) as stack:
        ok = asyncio.run(measure(stack, 4 if args.quick else args.rounds))
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
