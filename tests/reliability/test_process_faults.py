"""Faults, injected for real: a killed engine, an engine that is down, a crashed participant."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from livekit import api

from tests._support.calls import answered_call
from tests._support.figures import record
from tests._support.raw_engine import RawEngineOf
from tests._support.seats import holder_is
from tests._support.views import is_value
from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDCallStatus,
    UTDLiveStreamSession,
    UTDStreamException,
    UTDStreamType,
)
from utd_stream_rx.state import ConnectionState
from utd_stream_rx.state.view_specs import CONNECTION_STATE
from utd_stream_rx.testing import (
    ClientFactory,
    ClientsOf,
    LocalStack,
    PrivateStackFactory,
    back_in_room,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]

Command = Callable[[], Awaitable[object]]
"""One SDK command, not yet sent."""


@pytest.mark.slow
async def test_engine_killed_mid_room_and_restarted_loses_nothing(
    utd_private_stack: PrivateStackFactory, clients_of: ClientsOf
) -> None:
    ring_timeout = 8.0
    stack = utd_private_stack(["--ring-timeout", str(ring_timeout)])
    make = clients_of(stack)
    host = await make().join_audio_room("host", "den", as_host=True, seat_count=4,
                                        seat_mode="request")
    ann = await make().join_audio_room("ann", "den")
    bob = await make().join_audio_room("bob", "den")
    await host.take_seat(0)
    await host.invite_to_speak("bob", seat_index=2)
    await ann.request_to_speak()
    star = await make().join_live_stream("star", "gig", as_host=True)
    fan = await make().join_live_stream("fan", "gig")
    shy = await make().join_live_stream("shy", "gig")
    await star.invite_to_stage("fan", direct=True)
    await shy.request_stage()
    await fan.can_publish.wait_for(bool, timeout=10)
    # One call talking, one still ringing when the engine dies.
    answered = await answered_call(make, "erin", "frank")
    talking, answering, live_call = answered.caller, answered.callee, answered.call
    erin = answered.caller_client
    caller = make()
    await caller.authenticate("carol")
    ringing = caller.call_session(UTDStreamType.AUDIO_CALL)
    call = await ringing.start("dave")
    seats_before = await host.get_seats()
    requests_before = host.speak_requests.value
    invitations_before = host.invitations.value
    await star.refresh_stage()
    stage_before, hands_before = star.stage.value, star.stage_requests.value

    await stack.engine.akill()  # SIGKILL: no shutdown hook runs
    with pytest.raises(UTDStreamException) as down:
        await host.get_seats()
    assert down.value.code == "network"
    await stack.engine.arestart()

    assert await host.get_seats() == seats_before
    assert host.speak_requests.value == requests_before and len(requests_before) == 1
    assert host.invitations.value == invitations_before and len(invitations_before) == 1
    await star.refresh_stage()
    assert star.stage.value == stage_before and len(stage_before) == 2
    assert star.stage_requests.value == hands_before and len(hands_before) == 1
    still_ringing = await caller.api.calls.get_call(call.call_id)
    assert still_ringing.status is call.status, still_ringing
    assert (await erin.api.calls.get_call(live_call.call_id)).status is UTDCallStatus.ACTIVE
    assert talking.connected.value and answering.connected.value
    # The next commands just work.
    await bob.accept_invitation()
    await host.approve_speaker(requests_before[0].request_id)
    for session in (bob, ann):
        await session.can_publish.wait_for(bool, timeout=10)
    await star.invite_to_stage("shy")
    await shy.can_publish.wait_for(bool, timeout=10)
    await star.remove_from_stage("fan")
    await fan.can_publish.wait_for(lambda granted: not granted, timeout=10)
    await talking.end()
    await answering.status.wait_for(lambda s: s is UTDCallStatus.ENDED, timeout=10)
    # The ring timeout outlives the crash: the call rung before it still ends as missed.
    assert call.created_at is not None
    left = call.created_at + ring_timeout + 5 - time.time()
    await ringing.status.wait_for(lambda s: s is UTDCallStatus.MISSED, timeout=max(left, 1))
    record("engine SIGKILL", "1 kill + restart on the same DB: 2 seats, 1 request, "
                             "1 invitation, 2 stage members, 1 hand, 2 calls kept; nothing lost")


async def test_engine_down_gives_clear_network_errors_fast(
    utd_private_stack: PrivateStackFactory, clients_of: ClientsOf
) -> None:
    stack = utd_private_stack()
    make = clients_of(stack)  # 3 s request timeout
    host = await make().join_audio_room("host", "quiet", as_host=True, seat_count=2)
    star = await make().join_live_stream("star", "quiet-show", as_host=True)
    caller = make()
    await caller.authenticate("carol")
    seats, stage = host.seats.value, star.stage.value
    await stack.engine.astop()

    commands: dict[str, Command] = {
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
    await stack.engine.astart()
    await host.take_seat(1)
    # Published on the engine's answer; LiveKit's own permission event follows.
    await host.can_publish.wait_for(bool, timeout=10)
    record("engine down", f"{len(commands)} commands, each a prompt code=network error")


async def test_a_hung_engine_times_out_and_views_catch_up(
    utd_private_stack: PrivateStackFactory,
    utd_clients_of: ClientsOf,
    raw_engine_of: RawEngineOf,
) -> None:
    stack = utd_private_stack()
    timeout = 1.0

    make = utd_clients_of(stack, timeout=timeout)

    host = await make().join_audio_room("host", "stuck", as_host=True, seat_count=3)
    ann = await make().join_audio_room("ann", "stuck")
    impatient = make()
    seats = host.seats.value
    pid = stack.engine.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # alive, accepting connections, answering nothing
    try:
        commands: dict[str, tuple[Command, str]] = {
            "take_seat": (lambda: ann.take_seat(1), "POST"),
            "get_seats": (host.get_seats, "GET"),
            "kick_from_seat": (lambda: host.kick_from_seat(0), "POST"),
            "authenticate": (lambda: impatient.authenticate("erin"), "POST"),
            "join_audio_room": (lambda: impatient.join_audio_room("finn", "stuck"), "POST"),
        }
        for name, (command, method) in commands.items():
            # Reads are retried twice (with a short backoff); writes never are.
            bound = timeout * (3 if method == "GET" else 1) + 1.5
            began = time.monotonic()
            with pytest.raises(UTDStreamException) as failure:
                await asyncio.wait_for(command(), timeout=bound + 10)
            took = time.monotonic() - began
            assert failure.value.is_network_error, (name, failure.value)
            assert took < bound, f"{name} took {took:.1f}s (bound {bound:.1f}s)"
        assert host.seats.value == seats and not ann.can_publish.value
    finally:
        os.kill(pid, signal.SIGCONT)
    # The engine then serves what was queued (ann's take may land after all): whatever the
    # engine decided, every view reaches it.
    raw = raw_engine_of(stack)
    for _ in range(50):
        truth = (await raw.send("GET", "/api/v1/audio-rooms/stuck/seats",
                                bearer=await raw.bearer("host"))).body
        await asyncio.sleep(0.2)
        again = (await raw.send("GET", "/api/v1/audio-rooms/stuck/seats",
                                bearer=await raw.bearer("host"))).body
        if again["version"] == truth["version"]:
            break
    holders = [s["identity"] for s in truth["seats"]["seats"]]
    for session in (host, ann):
        await session.seats.wait_for(
            lambda g: g is not None and [s.identity for s in g.seats] == holders, timeout=10
        )
    await ann.can_publish.wait_for(is_value("ann" in holders), timeout=10)
    record("engine hung (SIGSTOP)", f"{len(commands)} commands timed out within bounds; "
                                    f"views caught up to holders {holders}")


@pytest.mark.slow
async def test_livekit_server_restart_is_reported_and_state_comes_back(
    utd_private_stack: PrivateStackFactory,
    clients_of: ClientsOf,
    raw_engine_of: RawEngineOf,
) -> None:
    stack = utd_private_stack()
    make = clients_of(stack)
    host = await make().join_audio_room("host", "hall", as_host=True, seat_count=4)
    ann = await make().join_audio_room("ann", "hall")
    bob = await make().join_audio_room("bob", "hall")
    await ann.take_seat(2)
    star = await make().join_live_stream("star", "show", as_host=True)
    fan = await make().join_live_stream("fan", "show")
    await star.invite_to_stage("fan", direct=True)
    await fan.can_publish.wait_for(bool, timeout=10)
    sessions: list[UTDAudioRoomSession | UTDLiveStreamSession] = [host, ann, bob, star, fan]
    trails: list[list[ConnectionState]] = []
    for session in sessions:
        trail: list[ConnectionState] = []
        session.room.store.view(CONNECTION_STATE).subscribe(trail.append)
        trails.append(trail)
    raw = raw_engine_of(stack)
    host_bearer, star_bearer = await raw.bearer("host"), await raw.bearer("star")
    seats_before = (await raw.send("GET", "/api/v1/audio-rooms/hall/seats",
                                   bearer=host_bearer)).body["seats"]
    stage_before = (await raw.send("GET", "/api/v1/live/show/stage",
                                   bearer=star_bearer)).body["stage"]

    await stack.livekit.akill()  # a crash: no goodbyes to anyone
    # Honest reporting while it is gone: nobody claims to be connected.
    for session in sessions:
        await session.connected.wait_for(lambda c: not c, timeout=20)
    assert all(t[-1] is not ConnectionState.CONNECTED for t in trails), trails
    await stack.livekit.astart()

    hows = [await back_in_room(session) for session in sessions]
    # The engine lost nothing, and every session's views come back to its state.
    seats_after = (await raw.send("GET", "/api/v1/audio-rooms/hall/seats",
                                  bearer=host_bearer)).body["seats"]
    stage_after = (await raw.send("GET", "/api/v1/live/show/stage",
                                  bearer=star_bearer)).body["stage"]
    assert seats_after["seats"] == seats_before["seats"]
    assert stage_after == stage_before
    for session in (host, ann, bob):
        await session.seats.wait_for(holder_is(2, "ann"), timeout=15)
    for session in (star, fan):
        await session.stage.wait_for(lambda s: [m.identity for m in s] == ["star", "fan"], 15)
    await ann.can_publish.wait_for(bool, timeout=15)
    await fan.can_publish.wait_for(bool, timeout=15)
    assert not bob.can_publish.value
    # LiveKit, which forgot everything, holds the engine's grants again.
    async with api.LiveKitAPI(
        stack.livekit.http_url, stack.livekit.api_key, stack.livekit.api_secret
    ) as lk:
        for room, identity, granted in (("hall", "ann", True), ("hall", "bob", False),
                                        ("show", "fan", True)):
            for _ in range(50):
                found = await lk.room.list_participants(
                    api.ListParticipantsRequest(room=f"{stack.app_id}__{room}")
                )
                held = {p.identity: p.permission.can_publish for p in found.participants}
                if held.get(identity) is granted:
                    break
                await asyncio.sleep(0.2)
            assert held.get(identity) is granted, (room, identity, held)
    # And commands work again, end to end.
    await host.kick_from_seat(2)
    await ann.can_publish.wait_for(lambda g: not g, timeout=10)
    await star.remove_from_stage("fan")
    await fan.can_publish.wait_for(lambda g: not g, timeout=10)
    record("livekit-server SIGKILL + start", f"5 sessions: {sorted(set(hows))}, "
                                             "seat and stage place kept and re-granted")


def _spawn_participant(
    stack: LocalStack, kind: str, room: str, identity: str
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests._support.participant_process", stack.base_url,
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
        await host.seats.wait_for(holder_is(1, seated), timeout=10)
        await star.stage_requests.wait_for(lambda r: any(x.identity == guest for x in r), 10)
        await star.invite_to_stage(guest)
        await star.stage.wait_for(lambda s: any(m.identity == guest for m in s), timeout=10)

        for process in processes:
            process.send_signal(signal.SIGKILL)
            process.wait(10)

        # LiveKit notices the silence, tells the engine by webhook, and everyone sees it.
        await host.seats.wait_for(holder_is(1, None), timeout=60)
        await star.stage.wait_for(lambda s: all(m.identity != guest for m in s), timeout=60)
        await host.remote_participants.wait_for(lambda p: seated not in p, timeout=60)
        record("participant process SIGKILL", "2 processes: seat and stage place freed")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)


@pytest.mark.slow
async def test_a_holder_lost_in_a_livekit_restart_who_never_returns_is_released(
    utd_private_stack: PrivateStackFactory, clients_of: ClientsOf
) -> None:
    # The engine holds a seat for a participant lost to a livekit-server restart (the rejoin
    # grace), then releases it if they never come back. Whether the stopping server still
    # reported them gone or not, the room starting again on the new server starts the grace.
    grace = 2.0
    stack = utd_private_stack(["--rejoin-grace", str(grace)])
    host = await clients_of(stack)().join_audio_room(
        "host", "lobby", as_host=True, seat_count=2
    )
    ghost = await asyncio.to_thread(_spawn_participant, stack, "seat", "lobby", "ghost")
    try:
        await host.seats.wait_for(holder_is(1, "ghost"), timeout=10)
        await stack.livekit.astop()
        ghost.send_signal(signal.SIGKILL)  # gone while the server is down: never back
        ghost.wait(10)
        await host.connected.wait_for(lambda c: not c, timeout=15)
        await stack.livekit.astart()
        await back_in_room(host)
        back = time.monotonic()
        await host.seats.wait_for(holder_is(1, None), timeout=grace + 15)
        held = time.monotonic() - back
        assert "ghost" not in host.remote_participants.value
        record("livekit-server restart, holder never back", f"seat released {held:.1f}s "
                                                            f"after the room was back")
    finally:
        if ghost.poll() is None:
            ghost.kill()
            ghost.wait(10)


@pytest.mark.slow
async def test_who_left_while_the_engine_was_down_is_released_after_its_restart(
    utd_private_stack: PrivateStackFactory,
    clients_of: ClientsOf,
    raw_engine_of: RawEngineOf,
) -> None:
    # LiveKit retries a webhook about 5 times over about 15 s, then drops it: nothing ever
    # tells the restarted engine that these two left. Its reconciliation with LiveKit's
    # participants does, and releases them after the rejoin grace.
    grace = 2.0
    stack = utd_private_stack(["--rejoin-grace", str(grace), "--reconcile-interval", "1"])
    make = clients_of(stack)
    host = await make().join_audio_room("host", "vigil", as_host=True, seat_count=3)
    speaker = await make().join_audio_room("speaker", "vigil")
    await speaker.take_seat(1)
    await host.seats.wait_for(holder_is(1, "speaker"), timeout=10)
    answered = await answered_call(make, "erin", "frank")
    talking, answering, call = answered.caller, answered.callee, answered.call
    erin = answered.caller_client
    await talking.remote_participants.wait_for(lambda p: "frank" in p, timeout=10)

    await stack.engine.akill()
    await speaker.aclose()
    await answering.aclose()  # its "end" cannot reach the engine: it only leaves the room
    await asyncio.sleep(20)  # past LiveKit's webhook retries
    await asyncio.to_thread(stack.engine.restart)
    restarted = time.monotonic()

    raw = raw_engine_of(stack)
    bearer = await raw.bearer("host")
    first = (await raw.send("GET", "/api/v1/audio-rooms/vigil/seats", bearer=bearer)).body
    assert first["seats"]["seats"][1]["identity"] == "speaker"  # no late webhook freed it
    seat_freed = call_ended = None
    while seat_freed is None or call_ended is None:
        waited = time.monotonic() - restarted
        assert waited < grace + 15, (seat_freed, call_ended, stack.engine.log_tail())
        if seat_freed is None:
            seats = (await raw.send("GET", "/api/v1/audio-rooms/vigil/seats",
                                    bearer=bearer)).body["seats"]["seats"]
            seat_freed = waited if seats[1]["identity"] is None else None
        if call_ended is None:
            status = (await erin.api.calls.get_call(call.call_id)).status
            call_ended = waited if status is UTDCallStatus.ENDED else None
        await asyncio.sleep(0.1)
    # Views follow: the host sees the seat empty, erin's session sees the call over.
    await host.seats.wait_for(holder_is(1, None), timeout=10)
    await talking.status.wait_for(lambda s: s is UTDCallStatus.ENDED, timeout=10)
    assert "but is not there" in stack.engine.log_path.read_text()
    record("reconciled releases", f"1 seat freed {seat_freed:.1f}s and 1 call ended "
                                  f"{call_ended:.1f}s after the engine restart "
                                  f"(rejoin grace {grace:g}s)")
