"""A room with a thousand pending requests on the real stack: its seat changes cost what they
cost in an empty room, its metadata stays small, the host still sees every request, and the
room takes no more than its cap."""

from __future__ import annotations

import asyncio
import statistics
import time

from livekit import api

from tests._support.figures import record
from tests._support.paths import SEATS
from tests._support.raw_engine import RawEngine, RawEngineOf
from utd_stream_rx.testing import ClientsOf, LocalStack, PrivateStackFactory

PENDING = 1000
PAIRS = 25


async def fill_with_requests(raw: RawEngine, room: str, count: int) -> None:
    """``count`` listeners of ``room`` who each ask to speak."""

    async def ask(n: int) -> None:
        fan = f"fan-{n:04d}"
        minted = await raw.room_token(fan, room, "audio_room", "audience")
        answer = await raw.send(
            "POST", SEATS.format(room=room) + "/request", {}, bearer=minted["user_token"]
        )
        assert answer.status == 200, answer

    for start in range(0, count, 25):
        await asyncio.gather(*(ask(n) for n in range(start, min(count, start + 25))))


async def seat_change_ms(raw: RawEngine, room: str, bearer: str, locked: bool) -> float:
    began = time.perf_counter()
    answer = await raw.send(
        "POST", SEATS.format(room=room) + "/5/lock", {"locked": locked}, bearer=bearer
    )
    took = (time.perf_counter() - began) * 1e3
    assert answer.status == 200, answer
    return took


async def livekit_metadata(stack: LocalStack, room: str) -> str:
    lk = stack.livekit
    async with api.LiveKitAPI(lk.http_url, lk.api_key, lk.api_secret) as client:
        asked = api.ListRoomsRequest(names=[f"{stack.app_id}__{room}"])
        found = await client.room.list_rooms(asked)
    assert found.rooms, f"LiveKit has no room {room}"
    return found.rooms[0].metadata


async def test_a_thousand_pending_requests_leave_seat_changes_as_fast(
    utd_private_stack: PrivateStackFactory,
    raw_engine_of: RawEngineOf,
    clients_of: ClientsOf,
) -> None:
    stack = utd_private_stack(["--rate-limit", "0", "--join-window", "600"])
    raw = raw_engine_of(stack)
    make = clients_of(stack)
    busy, empty = "busy-room", "empty-room"
    bearers: dict[str, str] = {}
    for room in (busy, empty):
        minted = await raw.room_token("host", room, "audio_room", "host")
        bearers[room] = minted["user_token"]
        setup = await raw.send(
            "POST", SEATS.format(room=room) + "/setup", {"seat_mode": "request"},
            bearer=bearers[room],
        )
        assert setup.status == 200, setup
    # The host is in both rooms from the start, so both push to one participant alike.
    host_client = make()
    host = await host_client.join_audio_room("host", busy, as_host=True)
    await make().join_audio_room("host", empty, as_host=True)

    began = time.perf_counter()
    await fill_with_requests(raw, busy, PENDING)
    filled = time.perf_counter() - began

    # The host's session sees every request although the metadata no longer lists them.
    seen = await host.speak_requests.wait_for(lambda r: len(r) == PENDING, timeout=20)
    assert [r.identity for r in seen[:2]] == ["fan-0000", "fan-0001"]
    metadata = await livekit_metadata(stack, busy)
    assert len(metadata) < 2_000, len(metadata)

    # The room is full of requests: one more is refused, and nothing changed.
    late = await raw.room_token("late-fan", busy, "audio_room", "audience")
    refused = await raw.send(
        "POST", SEATS.format(room=busy) + "/request", {}, bearer=late["user_token"]
    )
    assert (refused.status, refused.code) == (409, "queue_full"), refused

    # Seat changes in the busy room against the same in an empty one, in alternation.
    ratios, busy_ms, empty_ms = [], [], []
    for n in range(PAIRS):
        locked = n % 2 == 0
        b = await seat_change_ms(raw, busy, bearers[busy], locked)
        e = await seat_change_ms(raw, empty, bearers[empty], locked)
        busy_ms.append(b)
        empty_ms.append(e)
        ratios.append(b / e)
    ratio = statistics.median(ratios)
    record(
        "seat change with 1,000 pending requests vs an empty room",
        f"{statistics.median(busy_ms):.1f} ms vs {statistics.median(empty_ms):.1f} ms "
        f"(median of {PAIRS} paired ratios {ratio:.2f}x); metadata {len(metadata)} bytes; "
        f"1,000 requests made in {filled:.1f} s",
    )

    # The host's view followed the last seat change, and still lists every request.
    grid = await host.seats.wait_for(
        lambda g: g is not None and g.seats[5].locked is (PAIRS % 2 == 1), timeout=5
    )
    assert grid is not None
    assert len(host.speak_requests.value) == PENDING

    # Approving one moves the host's view on: the approved requester leaves the list.
    listed = await raw.send("GET", SEATS.format(room=busy) + "/requests", bearer=bearers[busy])
    chosen = listed.body["speak_requests"][500]
    approved = await raw.send(
        "POST",
        SEATS.format(room=busy) + f"/requests/{chosen['request_id']}/approve",
        {},
        bearer=bearers[busy],
    )
    assert approved.status == 200, approved
    after = await host.speak_requests.wait_for(lambda r: len(r) == PENDING - 1, timeout=10)
    assert chosen["identity"] not in {r.identity for r in after}
