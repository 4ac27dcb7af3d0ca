"""Faults, injected for real: a killed engine, an engine that is down, a crashed participant."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from utd_stream_rx import UTDSeatGrid, UTDStreamClient, UTDStreamException, UTDStreamType
from utd_stream_rx.testing import LocalStack

from .conftest import StackFactory, clients_of

pytestmark = pytest.mark.e2e

ClientFactory = Callable[[], UTDStreamClient]
ROOT = Path(__file__).parents[2]


def _holder_is(index: int, identity: str | None) -> Callable[[UTDSeatGrid | None], bool]:
    def check(grid: UTDSeatGrid | None) -> bool:
        return grid is not None and grid.seats[index].identity == identity

    return check


@pytest.mark.slow
async def test_engine_killed_mid_room_and_restarted_loses_nothing(
    private_stack: StackFactory, created_clients: list[UTDStreamClient]
) -> None:
    stack = await private_stack()
    make = clients_of(stack, created_clients)
    host = await make().join_audio_room("host", "den", as_host=True, seat_count=4,
                                        seat_mode="request")
    ann = await make().join_audio_room("ann", "den")
    bob = await make().join_audio_room("bob", "den")
    await host.take_seat(0)
    await host.invite_to_speak("bob", seat_index=2)
    await ann.request_to_speak()
    star = await make().join_live_stream("star", "gig", as_host=True)
    fan = await make().join_live_stream("fan", "gig")
    await star.invite_to_stage("fan")
    await fan.can_publish.wait_for(bool, timeout=10)
    caller = make()
    await caller.authenticate("carol")
    ringing = caller.call_session(UTDStreamType.AUDIO_CALL)
    call = await ringing.start("dave")
    seats_before = await host.get_seats()
    requests_before = host.speak_requests.value
    await star.refresh_stage()
    stage_before = star.stage.value

    stack.engine.kill()  # SIGKILL: no shutdown hook runs
    with pytest.raises(UTDStreamException) as down:
        await host.get_seats()
    assert down.value.code == "network"
    stack.engine.restart()

    assert await host.get_seats() == seats_before
    assert host.speak_requests.value == requests_before and len(requests_before) == 1
    await star.refresh_stage()
    assert star.stage.value == stage_before and len(stage_before) == 2
    assert (await caller.api.get_call(call.call_id)).status is call.status
    # The next commands just work.
    await bob.accept_invitation()
    await host.approve_speaker(requests_before[0].request_id)
    for session in (bob, ann):
        await session.can_publish.wait_for(bool, timeout=10)
    await star.remove_from_stage("fan")
    await fan.can_publish.wait_for(lambda granted: not granted, timeout=10)
    await ringing.end()


async def test_engine_down_gives_clear_network_errors_fast(
    private_stack: StackFactory, created_clients: list[UTDStreamClient]
) -> None:
    stack = await private_stack()
    make = clients_of(stack, created_clients)  # 3 s request timeout
    host = await make().join_audio_room("host", "quiet", as_host=True, seat_count=2)
    star = await make().join_live_stream("star", "quiet-show", as_host=True)
    caller = make()
    await caller.authenticate("carol")
    seats, stage = host.seats.value, star.stage.value
    stack.engine.stop()

    commands = {
        "take_seat": lambda: host.take_seat(1),
        "get_seats": host.get_seats,
        "lock_seat": lambda: host.lock_seat(0),
        "refresh_stage": star.refresh_stage,
        "invite_to_stage": lambda: star.invite_to_stage("fan"),
        "start": lambda: caller.call_session(UTDStreamType.AUDIO_CALL).start("dave"),
        "authenticate": lambda: make().authenticate("erin"),
        "join_audio_room": lambda: make().join_audio_room("finn", "quiet"),
    }
    for name, command in commands.items():
        began = time.monotonic()
        with pytest.raises(UTDStreamException) as failure:
            await asyncio.wait_for(command(), timeout=15)
        assert failure.value.code == "network", (name, failure.value)
        assert time.monotonic() - began < 12, f"{name} took too long to fail"
    # Views are as they were, the media rooms are still up.
    assert host.seats.value == seats and star.stage.value == stage
    assert host.connected.value and star.connected.value and not host.can_publish.value
    stack.engine.start()
    await host.take_seat(1)
    assert host.can_publish.value


def _spawn_participant(
    stack: LocalStack, kind: str, room: str, identity: str
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.participant_process", stack.base_url,
         stack.app_id, stack.app_key, kind, room, identity],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "ready", f"the participant process did not start: {line!r}"
    return process


@pytest.mark.slow
async def test_a_crashed_participant_loses_its_seat_and_stage_place(
    utd_stack: LocalStack, utd_client_factory: ClientFactory, utd_unique: Callable[[str], str]
) -> None:
    room, show = utd_unique("crash-room"), utd_unique("crash-show")
    host = await utd_client_factory().join_audio_room(
        utd_unique("host"), room, as_host=True, seat_count=2
    )
    star = await utd_client_factory().join_live_stream(utd_unique("star"), show, as_host=True)
    seated, guest = utd_unique("seated"), utd_unique("guest")
    processes = [
        await asyncio.to_thread(_spawn_participant, utd_stack, "seat", room, seated),
        await asyncio.to_thread(_spawn_participant, utd_stack, "stage", show, guest),
    ]
    try:
        await host.seats.wait_for(_holder_is(1, seated), timeout=10)
        await star.stage_requests.wait_for(lambda r: any(x.identity == guest for x in r), 10)
        await star.invite_to_stage(guest)
        await star.stage.wait_for(lambda s: any(m.identity == guest for m in s), timeout=10)

        for process in processes:
            process.send_signal(signal.SIGKILL)
            process.wait(10)

        # LiveKit notices the silence, tells the engine by webhook, and everyone sees it.
        await host.seats.wait_for(_holder_is(1, None), timeout=60)
        await star.stage.wait_for(lambda s: all(m.identity != guest for m in s), timeout=60)
        await host.remote_participants.wait_for(lambda p: seated not in p, timeout=60)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
