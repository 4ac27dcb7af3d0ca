"""One listener process of the big-room bench: joins its share of listeners, then answers.

``python bench/_bigroom_worker.py SIDE BASE_URL APP_ID APP_KEY ROOM FIRST COUNT SPEAKERS``
joins ``COUNT`` listeners (SDK sessions or raw ``rtc.Room``s, both auto-subscribing), waits
until each is subscribed to the ``SPEAKERS`` speakers' audio, prints one JSON line and then
answers one JSON line per command read from stdin:

- ``window SECONDS``: this process's CPU time (user + system) over that many seconds of the
  steady room, then its resident set, threads and open files;
- ``hear``: the dominant frequency one listener receives from one speaker (real audio);
- ``seats``: every listener's log of its ``seats`` view (SDK side; empty for raw);
- ``quit``: every listener leaves, then the process exits.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path

import _common  # noqa: F401  (puts the project root on sys.path)
from _bigroom_listeners import Listener, Listeners, join_raw, join_sdk, subscribed_audio
from livekit import rtc

from utd_stream_rx import media

READY_TIMEOUT = 120.0  # seconds for every listener to be subscribed to every speaker


def _status_field(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {name} in /proc/self/status")


def _reply(payload: dict[str, object]) -> None:
    print(json.dumps(payload), flush=True)


def _publications(room: rtc.Room) -> dict[str, list[str]]:
    return {
        identity: [
            f"{pub.kind} subscribed={pub.subscribed} muted={pub.muted}"
            for pub in participant.track_publications.values()
        ]
        for identity, participant in room.remote_participants.items()
    }


async def _all_subscribed(listeners: list[Listener], speakers: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while any(subscribed_audio(one.room) < speakers for one in listeners):
        if time.monotonic() > deadline:
            counts = [subscribed_audio(one.room) for one in listeners]
            raise TimeoutError(
                f"listeners subscribed to {counts} of {speakers} speakers; the first sees "
                f"{_publications(listeners[0].room)}"
            )
        await asyncio.sleep(0.1)


async def _window(listeners: list[Listener], seconds: float) -> dict[str, object]:
    began, cpu = time.monotonic(), os.times()
    await asyncio.sleep(seconds)
    wall, spent = time.monotonic() - began, os.times()
    used = (spent.user - cpu.user) + (spent.system - cpu.system)
    gc.collect()
    return {
        "cpu_s": used, "wall_s": wall, "rss_kib": _status_field("VmRSS"),
        "threads": _status_field("Threads"), "fds": len(os.listdir("/proc/self/fd")),
        "subscribed": [subscribed_audio(one.room) for one in listeners],
    }


async def _hear(listeners: list[Listener]) -> dict[str, object]:
    room = listeners[0].room
    for participant in room.remote_participants.values():
        for publication in participant.track_publications.values():
            if publication.subscribed and publication.track is not None:
                heard = await media.collect_audio(publication.track, 1.0)
                return {"from": participant.identity, "hz": heard.dominant_hz, "rms": heard.rms}
    return {"from": None, "hz": 0.0, "rms": 0.0}


async def _serve(joined: Listeners) -> None:
    listeners = joined.members
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        command, *args = line.split() or ["quit"]
        if command == "window":
            _reply(await _window(listeners, float(args[0])))
        elif command == "hear":
            _reply(await _hear(listeners))
        elif command == "seats":
            _reply({"logs": [one.seats_log for one in listeners]})
        else:
            await joined.close()
            _reply({"bye": True})
            return


async def main(argv: list[str]) -> None:
    side, base_url, app_id, app_key, room = argv[:5]
    first, count, speakers = (int(value) for value in argv[5:8])
    # The first rtc.Room loads the native library; that cost is not per listener.
    warm = rtc.Room()
    del warm
    gc.collect()
    rss_before = _status_field("VmRSS")
    join = join_sdk if side == "sdk" else join_raw
    began = time.monotonic()
    identities = [f"{side}-listener-{first + n}" for n in range(count)]
    try:
        joined = await join(base_url, app_id, app_key, room, identities)
        join_s = time.monotonic() - began
        await _all_subscribed(joined.members, speakers)
    except Exception as exc:  # the room did not hold them: say why, for the bench to print
        _reply({"error": f"{type(exc).__name__}: {exc}"})
        return
    _reply({"rss_before_kib": rss_before, "join_s": join_s, "ready_s": time.monotonic() - began})
    await _serve(joined)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
    # Skip interpreter teardown: the native layer may abort while unloading, after the
    # figures are already out.
    os._exit(0)
