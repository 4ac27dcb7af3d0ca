"""Load and races against the real stack: one winner, clean refusals, views that agree."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from livekit import api

from tests._support.figures import record
from tests._support.raw_engine import RawEngineOf
from tests._support.seats import grid_version_at_least, holder_is
from tests._support.views import is_value
from utd_stream_rx import (
    UTDCall,
    UTDCallStatus,
    UTDStreamClient,
    UTDStreamException,
    UTDStreamType,
)
from utd_stream_rx.testing import ClientFactory, ClientsOf, LocalStack, PrivateStackFactory

pytestmark = pytest.mark.e2e



@pytest.mark.slow
async def test_fifty_clients_race_for_one_seat(
    utd_client_factory: ClientFactory, utd_unique: Callable[[str], str]
) -> None:
    room = utd_unique("race")
    host = await utd_client_factory().join_audio_room(
        utd_unique("host"), room, as_host=True, seat_count=4
    )
    ids = [utd_unique(f"racer{i:02d}") for i in range(50)]
    racers = await asyncio.gather(
        *(utd_client_factory().join_audio_room(i, room) for i in ids)
    )

    results = await asyncio.gather(*(r.take_seat(3) for r in racers), return_exceptions=True)

    winners = [ids[n] for n, result in enumerate(results) if result is None]
    refusals = [result for result in results if isinstance(result, UTDStreamException)]
    assert len(winners) == 1, results
    assert len(refusals) == 49 and all(e.status_code == 409 for e in refusals), refusals
    assert not [r for r in results if isinstance(r, BaseException) and r not in refusals]
    for session in [host, *racers]:
        await session.seats.wait_for(holder_is(3, winners[0]), timeout=20)
    # The winner published on the engine's answer; LiveKit's own permission event follows.
    for racer in racers:
        if racer.identity == winners[0]:
            await racer.can_publish.wait_for(bool, timeout=10)
    granted = [r.identity for r in racers if r.can_publish.value]
    assert granted == winners
    record("50-client seat race", f"1 holder, {len(refusals)} x 409 "
                                  f"({sorted({str(e.code) for e in refusals})})")


async def _livekit_grants(utd_livekit_api: Any, app_id: str, room: str) -> dict[str, Any]:
    """What LiveKit itself holds for each participant: its permission and attributes."""
    answer = await utd_livekit_api.room.list_participants(
        api.ListParticipantsRequest(room=f"{app_id}__{room}")
    )
    return {p.identity: p for p in answer.participants}


async def test_concurrent_stage_commands_leave_no_ghosts(
    utd_stack: LocalStack,
    utd_livekit_api: Any,
    utd_client_factory: ClientFactory,
    utd_unique: Callable[[str], str],
    raw_engine_of: RawEngineOf,
) -> None:
    show = utd_unique("show")
    star_id = utd_unique("star")
    star = await utd_client_factory().join_live_stream(star_id, show, as_host=True)
    ids = [utd_unique(f"v{i}") for i in range(8)]
    viewers = await asyncio.gather(*(utd_client_factory().join_live_stream(i, show) for i in ids))
    # Invites (twice), raised hands, removals and step-downs for the same people, all at once.
    commands = []
    for n, (i, viewer) in enumerate(zip(ids, viewers, strict=True)):
        commands += [star.invite_to_stage(i), viewer.request_stage(), star.invite_to_stage(i)]
        if n % 2:
            commands += [star.remove_from_stage(i), viewer.leave_stage(), viewer.request_stage()]
    outcomes = await asyncio.gather(*commands, return_exceptions=True)
    refusals = [o for o in outcomes if isinstance(o, UTDStreamException)]
    assert all(o is None or isinstance(o, UTDStreamException) for o in outcomes), outcomes
    assert all(e.status_code in (403, 404, 409) for e in refusals), refusals

    # The engine's truth: a stage without duplicates, the host first, nobody both on stage
    # and waiting with a raised hand.
    raw = raw_engine_of(utd_stack)
    truth = (await raw.send("GET", f"/api/v1/live/{show}/stage",
                            bearer=await raw.bearer(star_id))).body
    stage = [m["identity"] for m in truth["stage"]]
    hands = [r["identity"] for r in truth["stage_requests"]]
    assert stage[0] == star_id and len(stage) == len(set(stage)), stage
    assert not set(stage) & set(hands), (stage, hands)
    assert len(hands) == len(set(hands)), hands
    # Every session's views reach that same state through LiveKit alone (no refresh).
    for session in [star, *viewers]:
        await session.stage.wait_for(
            lambda s: [m.identity for m in s] == stage, timeout=10
        )
        await session.stage_requests.wait_for(
            lambda r: [x.identity for x in r] == hands, timeout=10
        )
    for viewer in viewers:
        on_stage = viewer.identity in stage
        await viewer.can_publish.wait_for(is_value(on_stage), timeout=10)
    # And LiveKit holds the matching grants: no ghost publisher, no member left without one.
    held = await _livekit_grants(utd_livekit_api, utd_stack.app_id, show)
    for identity in ids:
        on_stage = identity in stage
        assert held[identity].permission.can_publish is on_stage, identity
        assert held[identity].attributes.get("utd.role") == ("stage" if on_stage else "audience")
    record("stage storm", f"{len(commands)} commands, {len(refusals)} refused, "
                          f"{len(stage) - 1} on stage, {len(hands)} hands up")


async def test_concurrent_seat_commands_leave_no_duplicates(
    utd_stack: LocalStack,
    utd_livekit_api: Any,
    utd_client_factory: ClientFactory,
    utd_unique: Callable[[str], str],
) -> None:
    lobby = utd_unique("lobby")
    host = await utd_client_factory().join_audio_room(
        utd_unique("host"), lobby, as_host=True, seat_count=3, seat_mode="request"
    )
    people = [utd_unique(f"p{i}") for i in range(6)]
    members = await asyncio.gather(
        *(utd_client_factory().join_audio_room(p, lobby) for p in people)
    )
    await asyncio.gather(*(m.request_to_speak() for m in members))
    await host.get_seats()
    requests = host.speak_requests.value
    assert sorted(r.identity for r in requests) == sorted(people)
    # Approvals, invitations, takes, kicks, locks and leaves, racing for three seats.
    storm: list[Awaitable[object]] = [host.approve_speaker(r.request_id) for r in requests]
    storm += [host.invite_to_speak(p, seat_index=1) for p in people]
    storm += [m.take_seat(1) for m in members[:3]]
    storm += [host.kick_from_seat(0), host.lock_seat(2), host.unlock_seat(2)]
    storm += [m.leave_seat() for m in members[3:]]
    outcomes = await asyncio.gather(*storm, return_exceptions=True)
    refusals = [o for o in outcomes if isinstance(o, UTDStreamException)]
    assert all(o is None or isinstance(o, UTDStreamException) for o in outcomes), outcomes
    assert all(e.status_code in (403, 404, 409) or e.code == "timeout" for e in refusals), refusals

    grid = await host.get_seats()
    state = host.room_state.value
    assert state is not None
    holders = [s.identity for s in grid.seats if s.identity is not None]
    assert len(holders) == len(set(holders)) <= 3, grid
    # Nobody seated still waits with a request or an invitation.
    waiting = {r.identity for r in state.speak_requests} | {i.identity for i in state.invitations}
    assert not waiting & set(holders), (holders, waiting)
    for member in [host, *members]:
        await member.seats.wait_for(grid_version_at_least(grid.version), 10)
        assert member.seats.value == grid
    for member in members:
        seated = member.identity in holders
        await member.can_publish.wait_for(is_value(seated), timeout=10)
    held = await _livekit_grants(utd_livekit_api, utd_stack.app_id, lobby)
    for identity in people:
        seat = next((s.index for s in grid.seats if s.identity == identity), None)
        assert held[identity].permission.can_publish is (seat is not None), identity
        assert held[identity].attributes.get("utd.seat", "") == ("" if seat is None else str(seat))
    record("seat storm", f"{len(storm)} commands, {len(refusals)} refused, holders {holders}")


def _call_log(client: UTDStreamClient) -> dict[str, list[UTDCallStatus]]:
    """Every status each call reached, as pushed to this client (incoming-call stream)."""
    seen: dict[str, list[UTDCallStatus]] = {}

    def keep(call: UTDCall) -> None:
        statuses = seen.setdefault(call.call_id, [])
        if not statuses or statuses[-1] is not call.status:
            statuses.append(call.status)

    client.incoming_calls.subscribe(keep)
    return seen


_OPEN = (UTDCallStatus.INITIATING, UTDCallStatus.RINGING)


@pytest.mark.slow
async def test_answer_races_end_in_one_outcome_seen_by_both_sides(
    utd_private_stack: PrivateStackFactory, clients_of: ClientsOf
) -> None:
    ring_timeout = 0.8
    stack = utd_private_stack(["--ring-timeout", str(ring_timeout)])
    make = clients_of(stack)
    caller, callee = make(), make()
    await caller.authenticate("alice")
    await callee.authenticate("bob")
    caller_log, callee_log = _call_log(caller), _call_log(callee)
    outcomes: dict[str, int] = {}
    rounds = 14
    for round_ in range(rounds):
        a = caller.call_session(UTDStreamType.AUDIO_CALL)
        b1 = callee.call_session(UTDStreamType.AUDIO_CALL)  # two devices of the callee
        b2 = callee.call_session(UTDStreamType.AUDIO_CALL)
        call = await a.start("bob")
        # Answer around the ring timeout (the engine sweeps every ring_timeout / 4): from
        # well before it to well after it, from one device or from both in opposite ways.
        delay = ring_timeout * (0.7 + 0.08 * (round_ % 10))
        loop = asyncio.get_running_loop()
        assert call.created_at is not None
        await asyncio.sleep(max(0.0, call.created_at + delay - time.time()))
        plan = round_ % 3
        answers: list[Awaitable[object]] = []
        if plan in (0, 2):
            answers.append(b1.accept(call.call_id))
        if plan in (1, 2):
            answers.append(b2.reject(call.call_id))
        if round_ % 2:
            answers.reverse()
        started = loop.time()
        results = await asyncio.gather(*answers, return_exceptions=True)
        assert loop.time() - started < 10
        assert all(r is None or isinstance(r, UTDCall | UTDStreamException) for r in results)

        final = await caller.api.calls.get_call(call.call_id)
        assert final.status in (UTDCallStatus.ACTIVE, UTDCallStatus.REJECTED,
                                UTDCallStatus.MISSED), final
        accepted = next((r for r in results if isinstance(r, UTDCall)), None)
        refused = [r for r in results if isinstance(r, UTDStreamException)]
        # Exactly one transition out of ringing happened, and each answer agrees with it.
        if final.status is UTDCallStatus.ACTIVE:
            assert accepted is not None and accepted.status is UTDCallStatus.ACTIVE
            assert all(e.status_code == 409 and e.code == "conflict" for e in refused), refused
        else:
            assert accepted is None, results  # an accept never "wins" a call that is over
            assert all(e.status_code == 409 and e.code == "call_ended" for e in refused), refused
        # Both sides see the same outcome: the caller's session, the answering devices, and
        # the event streams of both users (which never show a status after a terminal one).
        await a.status.wait_for(is_value(final.status), timeout=10)
        for device in (b1, b2):
            if device.call_id.value == call.call_id and device.status.value is not None:
                await device.status.wait_for(is_value(final.status), timeout=10)
        for log in (caller_log, callee_log):
            for _ in range(100):
                if log.get(call.call_id, [None])[-1] is final.status:
                    break
                await asyncio.sleep(0.05)
            statuses = log.get(call.call_id, [])
            assert statuses and statuses[-1] is final.status, (statuses, final.status)
            assert all(s in _OPEN for s in statuses[:-1]), statuses
        if final.status is UTDCallStatus.ACTIVE:
            assert b1.connected.value
            await a.end()
            await b1.status.wait_for(lambda s: s is UTDCallStatus.ENDED, timeout=10)
        else:
            await a.connected.wait_for(lambda c: not c, timeout=10)
        outcomes[final.status.value] = outcomes.get(final.status.value, 0) + 1
        for session in (a, b1, b2):
            await session.aclose()
    print(f"answer races: {outcomes}")
    record("call answer races", f"{rounds} rounds: {outcomes}")
    assert sum(outcomes.values()) == rounds
    # The delays span the timeout, so every outcome must have happened at least once.
    assert set(outcomes) == {"active", "rejected", "missed"}, outcomes
