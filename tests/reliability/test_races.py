"""Load and races against the real stack: one winner, clean refusals, views that agree."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from utd_stream_rx import (
    UTDCall,
    UTDCallStatus,
    UTDSeatGrid,
    UTDStreamClient,
    UTDStreamException,
    UTDStreamType,
)

from .conftest import StackFactory, clients_of

pytestmark = pytest.mark.e2e

ClientFactory = Callable[[], UTDStreamClient]


def _holder_is(index: int, identity: str | None) -> Callable[[UTDSeatGrid | None], bool]:
    def check(grid: UTDSeatGrid | None) -> bool:
        return grid is not None and grid.seats[index].identity == identity

    return check


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
        await session.seats.wait_for(_holder_is(3, winners[0]), timeout=20)
    granted = [r.identity for r in racers if r.can_publish.value]
    assert granted == winners


async def test_concurrent_stage_and_seat_commands_leave_no_ghosts(
    utd_client_factory: ClientFactory, utd_unique: Callable[[str], str]
) -> None:
    show = utd_unique("show")
    host = await utd_client_factory().join_live_stream(utd_unique("star"), show, as_host=True)
    ids = [utd_unique(f"v{i}") for i in range(6)]
    viewers = await asyncio.gather(
        *(utd_client_factory().join_live_stream(i, show) for i in ids)
    )
    # Invites, removes, requests and leaves for the same people, all at once, twice over.
    commands = []
    for i, viewer in zip(ids, viewers, strict=True):
        commands += [host.invite_to_stage(i), host.invite_to_stage(i), viewer.request_stage()]
    for i, viewer in zip(ids[:3], viewers[:3], strict=True):
        commands += [host.remove_from_stage(i), viewer.leave_stage()]
    outcomes = await asyncio.gather(*commands, return_exceptions=True)
    assert all(o is None or isinstance(o, UTDStreamException) for o in outcomes), outcomes

    await host.refresh_stage()
    final = [m.identity for m in host.stage.value]
    assert len(final) == len(set(final)), f"duplicate stage members: {final}"
    for viewer in viewers:
        await viewer.refresh_stage()
        assert [m.identity for m in viewer.stage.value] == final
        on_stage = viewer.identity in final
        await viewer.can_publish.wait_for(lambda granted, want=on_stage: granted is want, 10)

    lobby = utd_unique("lobby")
    room_host = await utd_client_factory().join_audio_room(
        utd_unique("host"), lobby, as_host=True, seat_count=3, seat_mode="request"
    )
    people = [utd_unique(f"p{i}") for i in range(5)]
    members = await asyncio.gather(
        *(utd_client_factory().join_audio_room(p, lobby) for p in people)
    )
    await asyncio.gather(*(m.request_to_speak() for m in members))
    requests = (await room_host.get_seats(), room_host.speak_requests.value)[1]
    assert len(requests) == 5
    storm = [room_host.approve_speaker(r.request_id) for r in requests]
    storm += [room_host.invite_to_speak(p, seat_index=1) for p in people]
    storm += [room_host.kick_from_seat(0)]
    outcomes = await asyncio.gather(*storm, return_exceptions=True)
    assert all(o is None or isinstance(o, UTDStreamException) for o in outcomes), outcomes
    grid = await room_host.get_seats()
    holders = [s.identity for s in grid.seats if s.identity is not None]
    assert len(holders) == len(set(holders)) <= 3, grid
    for member in members:
        seated = member.identity in holders
        await member.can_publish.wait_for(lambda granted, want=seated: granted is want, 10)
        await member.seats.wait_for(lambda g, v=grid.version: g is not None and g.version >= v, 10)
        assert member.seats.value == grid


@pytest.mark.slow
async def test_answer_races_end_in_one_outcome_seen_by_both_sides(
    private_stack: StackFactory, created_clients: list[UTDStreamClient]
) -> None:
    stack = await private_stack(["--ring-timeout", "1.0"])
    make = clients_of(stack, created_clients)
    caller, callee = make(), make()
    await caller.authenticate("alice")
    await callee.authenticate("bob")
    outcomes: dict[str, int] = {}
    for round_ in range(8):
        a = caller.call_session(UTDStreamType.AUDIO_CALL)
        b1 = callee.call_session(UTDStreamType.AUDIO_CALL)  # two devices of the callee
        b2 = callee.call_session(UTDStreamType.AUDIO_CALL)
        call = await a.start("bob")
        # Answer at about the ring timeout, from both devices, in opposite ways.
        await asyncio.sleep(0.85 + 0.05 * (round_ % 4))
        answers = [b1.accept(call.call_id), b2.reject(call.call_id)]
        if round_ % 2:
            answers.reverse()
        results = await asyncio.gather(*answers, return_exceptions=True)
        assert all(r is None or isinstance(r, UTDCall | UTDStreamException) for r in results)
        winners = [r for r in results if not isinstance(r, BaseException)]
        assert len(winners) <= 1, results
        final = await caller.api.get_call(call.call_id)
        await a.status.wait_for(lambda s, want=final.status: s is want, timeout=10)
        for device in (b1, b2):
            if device.status.value is not None:
                assert device.status.value in (final.status, UTDCallStatus.MISSED)
        if final.status is UTDCallStatus.ACTIVE:
            assert b1.connected.value
            await a.end()
            await b1.status.wait_for(lambda s: s is UTDCallStatus.ENDED, timeout=10)
        else:
            assert final.status in (UTDCallStatus.REJECTED, UTDCallStatus.MISSED), final
            await a.connected.wait_for(lambda c: not c, timeout=10)
        outcomes[final.status.value] = outcomes.get(final.status.value, 0) + 1
        for session in (a, b1, b2):
            await session.aclose()
    print(f"answer races: {outcomes}")
    assert sum(outcomes.values()) == 8
