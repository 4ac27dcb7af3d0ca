"""1:1 calls end to end: real livekit-server, reference engine, real audio and video frames."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from livekit import api as lk_api

from utd_stream_rx import (
    UTDCall,
    UTDCallSession,
    UTDCallStatus,
    UTDRoom,
    UTDStreamClient,
    UTDStreamException,
    UTDStreamType,
    media,
)
from utd_stream_rx.state.view_specs import CONNECTED
from utd_stream_rx.testing import ClientFactory, LocalStack
from utd_stream_rx.testing.media_probe import hear, see

pytestmark = pytest.mark.e2e



def _next_incoming(client: UTDStreamClient, status: UTDCallStatus) -> asyncio.Future[UTDCall]:
    future: asyncio.Future[UTDCall] = asyncio.get_running_loop().create_future()

    def on_call(call: UTDCall) -> None:
        if call.callee_identity == client.identity and call.status is status and not future.done():
            future.set_result(call)

    client.incoming_calls.subscribe(on_call)
    return future


def _is(status: UTDCallStatus) -> Callable[[UTDCallStatus | None], bool]:
    return lambda value: value is status


def _status_now(session: UTDCallSession) -> UTDCallStatus | None:
    """The session's status as it is now (a call, so no earlier check narrows it)."""
    return session.status.value


async def _ring(
    make_client: ClientFactory, unique: Callable[[str], str], type: UTDStreamType
) -> tuple[UTDStreamClient, UTDStreamClient, str, str]:
    caller, callee = make_client(), make_client()
    alice, bob = unique("alice"), unique("bob")
    await caller.authenticate(alice)
    await callee.authenticate(bob)
    return caller, callee, alice, bob


@pytest.mark.parametrize("type", [UTDStreamType.AUDIO_CALL, UTDStreamType.VIDEO_CALL])
async def test_call_connects_both_ways_and_ends(
    make_client: ClientFactory, unique: Callable[[str], str], type: UTDStreamType
) -> None:
    caller, callee, alice, bob = await _ring(make_client, unique, type)
    incoming = _next_incoming(callee, UTDCallStatus.INITIATING)
    a = caller.call_session(type, audio_source=media.tone(440.0))
    b = callee.call_session(type, audio_source=media.tone(660.0))

    started = await a.start(bob, callee_name="Bob")
    assert a.call_id.value == started.call_id
    call = await asyncio.wait_for(incoming, 10)
    assert call.call_id == started.call_id and call.caller_identity == alice

    await b.ringing(call.call_id)
    await a.status.wait_for(_is(UTDCallStatus.RINGING), timeout=10)

    accepted = await b.accept(call.call_id)
    assert accepted.status is UTDCallStatus.ACTIVE
    await a.status.wait_for(_is(UTDCallStatus.ACTIVE), timeout=10)
    assert b.status.value is UTDCallStatus.ACTIVE

    heard_by_bob, heard_by_alice = await asyncio.gather(hear(b, alice), hear(a, bob))
    assert abs(heard_by_bob.dominant_hz - 440.0) < 15, heard_by_bob
    assert abs(heard_by_alice.dominant_hz - 660.0) < 15, heard_by_alice
    if type.has_video:
        seen_by_bob, seen_by_alice = await asyncio.gather(see(b, alice), see(a, bob))
        assert seen_by_bob.frames >= 5 and seen_by_bob.width > 0
        assert seen_by_alice.frames >= 5 and seen_by_alice.width > 0

    await b.end()
    assert _status_now(b) is UTDCallStatus.ENDED
    await a.status.wait_for(_is(UTDCallStatus.ENDED), timeout=10)
    await a.connected.wait_for(lambda c: not c, timeout=10)
    await a.end()  # a second end, and an end on the other side: harmless
    await b.end()
    assert a.status.value is UTDCallStatus.ENDED and not b.connected.value


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [("reject", UTDCallStatus.REJECTED), ("busy", UTDCallStatus.BUSY)],
)
async def test_reject_and_busy_reach_both_sides(
    make_client: ClientFactory, unique: Callable[[str], str], answer: str, outcome: UTDCallStatus
) -> None:
    caller, callee, _, bob = await _ring(make_client, unique, UTDStreamType.AUDIO_CALL)
    incoming = _next_incoming(callee, UTDCallStatus.INITIATING)
    a = caller.call_session(UTDStreamType.AUDIO_CALL)
    b = callee.call_session(UTDStreamType.AUDIO_CALL)
    await a.start(bob)
    call = await asyncio.wait_for(incoming, 10)
    await getattr(b, answer)(call.call_id)
    assert b.status.value is outcome
    await a.status.wait_for(_is(outcome), timeout=10)
    await a.connected.wait_for(lambda c: not c, timeout=10)  # the caller left the dead room


async def test_unanswered_call_is_missed(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    caller, callee, _, bob = await _ring(make_client, unique, UTDStreamType.AUDIO_CALL)
    missed = _next_incoming(callee, UTDCallStatus.MISSED)
    a = caller.call_session(UTDStreamType.AUDIO_CALL)
    await a.start(bob)
    await a.status.wait_for(_is(UTDCallStatus.MISSED), timeout=15)
    assert (await asyncio.wait_for(missed, 10)).call_id == a.call_id.value


async def test_bad_call_commands_are_clear_and_change_nothing(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    caller, _callee, _, bob = await _ring(make_client, unique, UTDStreamType.AUDIO_CALL)
    stranger = make_client()
    await stranger.authenticate(unique("mallory"))
    a = caller.call_session(UTDStreamType.AUDIO_CALL)
    call = await a.start(bob)

    m = stranger.call_session(UTDStreamType.AUDIO_CALL)
    with pytest.raises(UTDStreamException) as unknown:
        await m.accept("no-such-call")
    assert unknown.value.status_code == 404
    with pytest.raises(UTDStreamException) as not_yours:
        await m.accept(call.call_id)
    assert not_yours.value.status_code in (403, 404)
    assert m.status.value is None and m.call_id.value in (None, call.call_id)
    assert not m.connected.value
    assert a.status.value in (UTDCallStatus.INITIATING, UTDCallStatus.RINGING)

    with pytest.raises(ValueError):
        caller.call_session(UTDStreamType.LIVE_STREAM)
    with pytest.raises(TypeError):
        caller.call_session("audio_call")  # type: ignore[arg-type]
    await a.end()


async def test_a_third_participant_cannot_join_the_call_room(
    make_client: ClientFactory, unique: Callable[[str], str], utd_stack: LocalStack
) -> None:
    caller, callee, _, bob = await _ring(make_client, unique, UTDStreamType.AUDIO_CALL)
    incoming = _next_incoming(callee, UTDCallStatus.INITIATING)
    a = caller.call_session(UTDStreamType.AUDIO_CALL)
    b = callee.call_session(UTDStreamType.AUDIO_CALL)
    started = await a.start(bob)
    await b.accept((await asyncio.wait_for(incoming, 10)).call_id)
    assert started.room_name

    # Even with a valid LiveKit token for the call room, a third participant is turned away:
    # the engine created the room for two.
    server = utd_stack.livekit
    grants = lk_api.VideoGrants(room_join=True, room=f"{utd_stack.app_id}__{started.room_name}")
    token = (
        lk_api.AccessToken(server.api_key, server.api_secret)
        .with_identity(unique("mallory"))
        .with_grants(grants)
        .to_jwt()
    )
    intruder = UTDRoom()
    with pytest.raises(UTDStreamException) as refused:
        await intruder.connect(server.url, token, connect_timeout=5)
    assert refused.value.code == "connect_failed"
    assert not intruder.store.view(CONNECTED).value
    assert set(a.remote_participants.value) == {bob}
    await a.end()
