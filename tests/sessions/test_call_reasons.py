"""Why calls end, and calls answered busy, end to end: real livekit-server, reference engine,
real audio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from utd_stream_rx import (
    UTDCall,
    UTDCallSession,
    UTDCallStatus,
    UTDStreamClient,
    UTDStreamException,
    UTDStreamType,
    media,
)
from utd_stream_rx.models import UTDCallEndReason
from utd_stream_rx.testing import ClientFactory, ClientsOf, LocalStack, PrivateStackFactory
from utd_stream_rx.testing.media_probe import hear, remote_track

pytestmark = pytest.mark.e2e

AUDIO = UTDStreamType.AUDIO_CALL


class CallLog:
    """Every change of every call a client's ``incoming_calls`` delivers, in order."""

    def __init__(self, client: UTDStreamClient) -> None:
        self.calls: list[UTDCall] = []
        client.incoming_calls.subscribe(self.calls.append)

    def of(self, call_id: str) -> list[UTDCall]:
        """The changes of one call."""
        return [call for call in self.calls if call.call_id == call_id]

    async def until(self, call_id: str, status: UTDCallStatus, timeout: float = 10.0) -> UTDCall:
        """The first change of ``call_id`` to ``status``."""
        async with asyncio.timeout(timeout):
            while True:
                for call in self.of(call_id):
                    if call.status is status:
                        return call
                await asyncio.sleep(0.05)


def _is(status: UTDCallStatus) -> Callable[[UTDCallStatus | None], bool]:
    return lambda value: value is status


async def _clients(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> tuple[UTDStreamClient, UTDStreamClient, str, str]:
    caller, callee = make_client(), make_client()
    alice, bob = unique("alice"), unique("bob")
    await caller.authenticate(alice)
    await callee.authenticate(bob)
    return caller, callee, alice, bob


async def test_the_caller_learns_the_reason_the_callee_rejected_for(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    caller, callee, _, bob = await _clients(make_client, unique)
    log = CallLog(callee)
    a = caller.call_session(AUDIO)
    b = callee.call_session(AUDIO)
    started = await a.start(bob)
    await log.until(started.call_id, UTDCallStatus.INITIATING)
    await b.reject(started.call_id, reason="in a meeting")
    assert b.call.value is not None and b.call.value.end_reason == "in a meeting"
    await a.status.wait_for(_is(UTDCallStatus.REJECTED), timeout=10)
    assert a.call.value is not None and a.call.value.end_reason == "in a meeting"
    await a.connected.wait_for(lambda c: not c, timeout=10)
    with pytest.raises(ValueError, match="reason must be a string of 1-64 characters"):
        await b.reject(started.call_id, reason="x" * 65)


async def test_a_call_the_caller_cancels_reaches_the_callee_cancelled(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    caller, callee, _, bob = await _clients(make_client, unique)
    log = CallLog(callee)
    a = caller.call_session(AUDIO)
    b = callee.call_session(AUDIO)
    started = await a.start(bob)
    await log.until(started.call_id, UTDCallStatus.INITIATING)
    await b.ringing(started.call_id)
    await a.status.wait_for(_is(UTDCallStatus.RINGING), timeout=10)
    await a.end()
    assert a.call.value is not None and a.call.value.end_reason == UTDCallEndReason.CANCELLED
    over = await log.until(started.call_id, UTDCallStatus.ENDED)
    assert over.end_reason == "cancelled"
    await b.status.wait_for(_is(UTDCallStatus.ENDED), timeout=10)
    assert b.call.value is not None and b.call.value.end_reason == "cancelled"


async def test_the_callee_hanging_up_ends_it_hung_up_for_both_and_the_media_stops(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    caller, callee, alice, bob = await _clients(make_client, unique)
    log = CallLog(callee)
    a = caller.call_session(AUDIO, audio_source=media.tone(440.0))
    b = callee.call_session(AUDIO, audio_source=media.tone(660.0))
    started = await a.start(bob)
    await log.until(started.call_id, UTDCallStatus.INITIATING)
    await b.accept(started.call_id)
    heard = await hear(a, bob)
    assert abs(heard.dominant_hz - 660.0) < 15, heard

    await b.end()
    await a.status.wait_for(_is(UTDCallStatus.ENDED), timeout=10)
    for session in (a, b):
        assert session.call.value is not None
        assert session.call.value.end_reason == UTDCallEndReason.HUNG_UP
    await a.connected.wait_for(lambda c: not c, timeout=10)
    assert not b.connected.value
    # Neither side receives the other any more.
    for session, other in ((a, bob), (b, alice)):
        with pytest.raises(TimeoutError):
            await remote_track(session, other, timeout=1.0)


async def _in_an_active_call(
    busy_side: UTDStreamClient, other: UTDStreamClient, busy_identity: str
) -> tuple[UTDCallSession, UTDCallSession]:
    """``other`` calls ``busy_side``, which answers: both sessions, the call active."""
    log = CallLog(busy_side)
    calling = other.call_session(AUDIO)
    answering = busy_side.call_session(AUDIO)
    started = await calling.start(busy_identity)
    await log.until(started.call_id, UTDCallStatus.INITIATING)
    await answering.accept(started.call_id)
    await calling.status.wait_for(_is(UTDCallStatus.ACTIVE), timeout=10)
    return calling, answering


async def test_reject_when_busy_answers_a_third_caller_busy_without_ringing(
    utd_stack: LocalStack,
    utd_clients_of: ClientsOf,
    make_client: ClientFactory,
    unique: Callable[[str], str],
) -> None:
    bee = utd_clients_of(utd_stack, reject_when_busy=True)()
    ann, cy = make_client(), make_client()
    bee_id = unique("bee")
    await bee.authenticate(bee_id)
    await ann.authenticate(unique("ann"))
    await cy.authenticate(unique("cy"))
    await _in_an_active_call(bee, ann, bee_id)
    log = CallLog(bee)

    c = cy.call_session(AUDIO)
    call = await c.start(bee_id)
    assert (call.status, call.end_reason, call.token) == (UTDCallStatus.BUSY, "busy", None)
    assert c.status.value is UTDCallStatus.BUSY and not c.connected.value
    assert c.call.value is not None and c.call.value.end_reason == UTDCallEndReason.BUSY
    # bee's client learns of the call only as over: it never rang there.
    seen = await log.until(call.call_id, UTDCallStatus.BUSY)
    assert seen.end_reason == "busy"
    await asyncio.sleep(0.5)
    assert all(change.status.is_terminal for change in log.of(call.call_id))
    # cy may call again once it is over: the session is free.
    assert not c.connected.value


async def test_without_reject_when_busy_a_third_call_rings(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    bee, ann, cy = make_client(), make_client(), make_client()
    bee_id = unique("bee")
    await bee.authenticate(bee_id)
    await ann.authenticate(unique("ann"))
    await cy.authenticate(unique("cy"))
    await _in_an_active_call(bee, ann, bee_id)
    log = CallLog(bee)

    c = cy.call_session(AUDIO)
    call = await c.start(bee_id)
    assert call.status is UTDCallStatus.INITIATING and c.connected.value
    ringing = await log.until(call.call_id, UTDCallStatus.INITIATING)
    assert ringing.end_reason is None
    await c.end()


async def test_a_call_nobody_could_join_ends_failed(
    utd_private_stack: PrivateStackFactory, utd_clients_of: ClientsOf
) -> None:
    stack = utd_private_stack()
    make = utd_clients_of(stack)
    caller, callee = make(), make()
    await caller.authenticate("carol")
    await callee.authenticate("dave")
    log = CallLog(callee)
    await stack.livekit.akill()  # the engine is up, the media server is gone

    calling = caller.call_session(AUDIO)
    calling.connect_timeout = 3.0
    with pytest.raises(UTDStreamException) as failed:
        await calling.start("dave")
    assert failed.value.code == "connect_failed", failed.value
    assert calling.status.value is UTDCallStatus.ENDED
    assert calling.call.value is not None
    assert calling.call.value.end_reason == UTDCallEndReason.FAILED
    call_id = calling.call_id.value
    assert call_id is not None
    over = await log.until(call_id, UTDCallStatus.ENDED)
    assert over.end_reason == "failed"
