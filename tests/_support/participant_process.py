"""A participant in a process of its own: joins, takes its place, says so, then waits.

Run by the fault tests, which SIGKILL it to play a crashed app:
``python -m tests._support.participant_process BASE_URL APP_ID APP_KEY KIND ROOM IDENTITY``.
"""

from __future__ import annotations

import asyncio
import sys

from utd_stream_rx import UTDStreamClient


async def main(base_url: str, app_id: str, app_key: str, kind: str, room: str, me: str) -> None:
    client = UTDStreamClient(app_id, app_key, base_url)
    if kind == "seat":
        session = await client.join_audio_room(me, room)
        await session.take_seat(1)
    else:
        stage = await client.join_live_stream(me, room)
        await stage.request_stage()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
