"""Memory: resident memory per idle listener, 50 SDK sessions against 50 raw ``rtc.Room``s.

Each side runs in a fresh process of its own (no shared heap), measures its resident set
before and after joining 50 listeners to one room, and reports the growth per listener.
Target: at most 1.10x. Run inside ``scripts/isolated`` (``scripts/bench`` does).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
from _common import parser, report
from livekit import rtc

from utd_stream_rx import UTDStreamClient
from utd_stream_rx.testing import LocalStack

LISTENERS = 50


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _warm_up_native() -> None:
    # The first rtc.Room loads the native library; that cost is not per listener.
    room = rtc.Room()
    del room
    await asyncio.sleep(0)


async def _sdk_side(base_url: str, app_id: str, app_key: str, room: str, count: int) -> float:
    client = UTDStreamClient(app_id, app_key, base_url)
    warm = await client.join_audio_room("warm-sdk", room)
    gc.collect()
    before = _rss_kib()
    sessions = [await client.join_audio_room(f"sdk-{n}", room) for n in range(count)]
    await asyncio.sleep(2)  # idle: let every subscription and buffer settle
    gc.collect()
    grown = _rss_kib() - before
    for session in [warm, *sessions]:
        await session.aclose()
    await client.aclose()
    return grown / count


async def _raw_side(base_url: str, app_id: str, app_key: str, room: str, count: int) -> float:
    headers = {"X-UTD-App-Id": app_id, "X-UTD-App-Key": app_key}
    rooms: list[rtc.Room] = []
    async with aiohttp.ClientSession() as http:

        async def join(identity: str) -> rtc.Room:
            async with http.post(
                base_url + "/api/v1/token",
                json={"identity": identity, "room_name": room, "type": "audio_room"},
                headers=headers,
            ) as answer:
                token = await answer.json()
            joined = rtc.Room()
            await joined.connect(token["url"], token["token"], rtc.RoomOptions(auto_subscribe=True))
            return joined

        warm = await join("warm-raw")
        gc.collect()
        before = _rss_kib()
        rooms = [await join(f"raw-{n}") for n in range(count)]
        await asyncio.sleep(2)
        gc.collect()
        grown = _rss_kib() - before
        for joined in [warm, *rooms]:
            await joined.disconnect()
    return grown / count


def _child(side: str, base_url: str, app_id: str, app_key: str, room: str, count: int) -> None:
    run = _sdk_side if side == "sdk" else _raw_side
    per_listener = asyncio.run(run(base_url, app_id, app_key, room, count))
    print(json.dumps({"kib_per_listener": per_listener}), flush=True)
    # Skip interpreter teardown: the native layer may abort while unloading, after the
    # figure is already out.
    os._exit(0)


def _measure(stack: LocalStack, side: str, room: str, count: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", side, stack.base_url, stack.app_id,
         stack.app_key, room, str(count)],
        check=True, capture_output=True, text=True,
    ).stdout
    result: float = json.loads(out.strip().splitlines()[-1])["kib_per_listener"]
    return result


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        base_url, app_id, app_key, room = sys.argv[3:7]
        _child(sys.argv[2], base_url, app_id, app_key, room, int(sys.argv[7]))
        return 0
    args = parser(__doc__.splitlines()[0], rounds=3).parse_args()
    rounds, count = (1, 10) if args.quick else (args.rounds, LISTENERS)
    sdk: list[float] = []
    raw: list[float] = []
    with LocalStack(engine_args=["--rate-limit", "0"]) as stack:
        for n in range(rounds):
            sdk.append(_measure(stack, "sdk", f"mem-sdk-{n}", count))
            raw.append(_measure(stack, "raw", f"mem-raw-{n}", count))
    ok = report(f"memory per idle listener ({count} in one process)", "KiB", sdk, raw, 1.10)
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
