"""A hung livekit-server (SIGSTOP: alive, accepting connections, answering nothing) holds no
engine command longer than the LiveKit timeout, and what could not be pushed arrives once it
runs again."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests._support.figures import record
from tests._support.raw_engine import RawEngineOf
from utd_stream_rx.testing import ClientsOf, PrivateStackFactory

pytestmark = pytest.mark.e2e

LIVEKIT_TIMEOUT = 1.0  # seconds, the engine's --livekit-timeout here
MARGIN = 1.5  # seconds for the engine's own work on a loaded machine


async def test_commands_are_answered_within_the_bound_while_livekit_is_hung(
    utd_private_stack: PrivateStackFactory,
    clients_of: ClientsOf,
    raw_engine_of: RawEngineOf,
) -> None:
    stack = utd_private_stack(["--livekit-timeout", str(LIVEKIT_TIMEOUT)])
    make = clients_of(stack)
    await make().join_audio_room("host", "den", as_host=True, seat_count=4)
    ann = await make().join_audio_room("ann", "den")
    await make().join_live_stream("star", "gig", as_host=True)
    fan = await make().join_live_stream("fan", "gig")
    raw = raw_engine_of(stack)
    bearers = {who: await raw.bearer(who) for who in ("host", "ann", "star", "carol")}
    # (what, path, body, bearer, expected status): each needs LiveKit today.
    commands: list[tuple[str, str, dict[str, Any], str | None, int]] = [
        ("seat take", "/api/v1/audio-rooms/den/seats/take", {"seat_index": 1}, "ann", 200),
        # The same room again: its lock must not be held by the push before.
        ("seat take, same room", "/api/v1/audio-rooms/den/seats/take", {"seat_index": 0},
         "host", 200),
        ("stage invite", "/api/v1/live/gig/stage/invite", {"identity": "fan", "direct": True},
         "star", 200),
        ("first mint of a room", "/api/v1/token",
         {"identity": "gus", "room_name": "fresh", "type": "audio_room", "role": "host"},
         None, 200),
        ("call create", "/api/v1/calls", {"callee_identity": "dave", "type": "audio_call"},
         "carol", 201),
    ]
    took: dict[str, float] = {}
    with stack.livekit.hung():
        for what, path, body, bearer, status in commands:
            began = time.monotonic()
            answer = await raw.send(
                "POST", path, body, bearer=bearers[bearer] if bearer else None
            )
            took[what] = time.monotonic() - began
            assert answer.status == status, (what, answer)
        resumed = time.monotonic()
    slowest = max(took.values())
    assert slowest < LIVEKIT_TIMEOUT + MARGIN, took
    # The engine decided while LiveKit was hung; once it runs again, the grants reach the
    # participants (sent again by the reconciler, which the timeouts woke).
    await ann.can_publish.wait_for(bool, timeout=20)
    await fan.can_publish.wait_for(bool, timeout=20)
    caught_up = time.monotonic() - resumed
    # What the engine answered while LiveKit was hung is what it kept.
    seats = (await raw.send("GET", "/api/v1/audio-rooms/den/seats", bearer=bearers["host"])).body
    assert [seat["identity"] for seat in seats["seats"]["seats"][:2]] == ["host", "ann"], seats
    stage = (await raw.send("GET", "/api/v1/live/gig/stage", bearer=bearers["star"])).body
    assert [member["identity"] for member in stage["stage"]] == ["star", "fan"], stage
    # The room metadata whose push was cut reaches the participants too (the reconciler sends
    # it again): their views end at the engine's version.
    grid = await ann.seats.wait_for(
        lambda g: g is not None and g.version >= seats["version"], timeout=20
    )
    assert grid is not None and [s.identity for s in grid.seats[:2]] == ["host", "ann"]
    await fan.stage.wait_for(lambda members: len(members) == 2, timeout=20)
    record(
        "livekit hung (SIGSTOP)",
        f"{len(commands)} commands answered in at most {slowest:.2f}s ({_slowest(took)}) "
        f"(--livekit-timeout {LIVEKIT_TIMEOUT:g}s); grants arrived {caught_up:.1f}s after SIGCONT",
    )


def _slowest(took: dict[str, float]) -> str:
    what = max(took, key=took.__getitem__)
    return f"the slowest: {what}"
