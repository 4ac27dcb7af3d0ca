"""Incoming calls across a killed and restarted engine (real livekit-server, engine subprocess):
no phantom ringing call, each (call, version) once, the ring timeout's ``missed`` once."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests._support.figures import record
from tests._support.incoming_calls import IncomingCalls, ReconnectGate
from utd_stream_rx import UTDCallStatus, UTDStreamType
from utd_stream_rx.testing import ClientsOf, PrivateStackFactory

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("window", ["held", "racing"])
async def test_a_call_ended_while_the_engine_was_down_arrives_ended_once(
    utd_private_stack: PrivateStackFactory, clients_of: ClientsOf, window: str
) -> None:
    stack = utd_private_stack()
    make = clients_of(stack)
    caller, callee = make(), make()
    incoming = IncomingCalls(callee)
    gate = ReconnectGate(callee)
    await caller.authenticate("carol")
    await callee.authenticate("dave")
    session = caller.call_session(UTDStreamType.AUDIO_CALL)
    call = await session.start("dave")
    await incoming.until_status(call.call_id, UTDCallStatus.INITIATING)

    began = time.monotonic()
    if window == "held":
        # The callee's follower sees its stream end and is held before it reconnects: the call
        # surely ends while the callee hears nothing, as with a slow network.
        gate.hold()
    await stack.engine.akill()
    if window == "held":
        await asyncio.wait_for(gate.waiting.wait(), 10)
    await asyncio.to_thread(stack.engine.restart)
    # Right away, while the callee's follower still backs off (or is held).
    await session.end()
    gate.release()

    await incoming.until_status(call.call_id, UTDCallStatus.ENDED)
    took = time.monotonic() - began
    truth = await caller.api.calls.get_call(call.call_id)
    assert truth.status is UTDCallStatus.ENDED
    assert incoming.statuses(call.call_id) == [UTDCallStatus.INITIATING, UTDCallStatus.ENDED]
    assert [c.version for c in incoming.calls if c.call_id == call.call_id][-1] == truth.version
    if window == "held":
        # The end reached the callee through the catch-up after the reconnect.
        assert incoming.since[0] is None and incoming.since[-1] is not None, incoming.since
    await asyncio.sleep(1.0)  # let the stream's own replay and any late event come in
    incoming.assert_each_version_once()
    record(f"incoming calls, call ended during an engine restart ({window})",
           f"ended seen {took:.1f}s after the kill; {incoming.figure}")


async def test_the_missed_call_arrives_once_even_across_an_engine_restart(
    utd_private_stack: PrivateStackFactory, clients_of: ClientsOf
) -> None:
    ring_timeout = 1.5
    stack = utd_private_stack(["--ring-timeout", str(ring_timeout)])
    make = clients_of(stack)
    caller, callee = make(), make()
    incoming = IncomingCalls(callee)
    await caller.authenticate("carol")
    await callee.authenticate("dave")

    # Unanswered: the ring timeout makes it missed.
    first = await caller.call_session(UTDStreamType.AUDIO_CALL).start("dave")
    await incoming.until_status(first.call_id, UTDCallStatus.MISSED)
    assert incoming.statuses(first.call_id) == [UTDCallStatus.INITIATING, UTDCallStatus.MISSED]

    # Unanswered while the engine is down: it becomes missed when the engine is back (its
    # sweep runs at start), which the callee learns live or from the catch-up, once.
    second = await caller.call_session(UTDStreamType.AUDIO_CALL).start("dave")
    await incoming.until_status(second.call_id, UTDCallStatus.INITIATING)
    await stack.engine.akill()
    await asyncio.sleep(ring_timeout + 0.5)
    await asyncio.to_thread(stack.engine.restart)
    await incoming.until_status(second.call_id, UTDCallStatus.MISSED)
    assert incoming.statuses(second.call_id) == [UTDCallStatus.INITIATING, UTDCallStatus.MISSED]
    await asyncio.sleep(1.0)
    assert [c.status for c in incoming.calls].count(UTDCallStatus.MISSED) == 2
    incoming.assert_each_version_once()
    record("incoming calls, missed (ring timeout, then across an engine restart)",
           f"each missed delivered once; {incoming.figure}")
