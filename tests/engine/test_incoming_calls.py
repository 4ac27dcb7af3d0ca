"""``UTDStreamClient.incoming_calls`` against the in-process engine: what changed while the
stream was down arrives after the reconnect, once; a call the engine lost does not ring on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests._support.engine import APP_ID, APP_KEY, Local
from tests._support.incoming_calls import IncomingCalls, ReconnectGate
from tests._support.paths import CALLS
from utd_stream_engine.sqlite_storage import SQLiteStorage
from utd_stream_rx import UTDCallStatus, UTDStreamClient


class Follower(IncomingCalls):
    """A client signed in as ``callee`` whose incoming calls are recorded and gated."""

    def __init__(self, client: UTDStreamClient) -> None:
        super().__init__(client)
        self.gate = ReconnectGate(client)


@pytest.fixture
async def follower(local: Local) -> AsyncIterator[Follower]:
    client = UTDStreamClient(APP_ID, APP_KEY, local.client.base_url, local.client.base_url)
    try:
        yield Follower(client)
    finally:
        await client.aclose()


async def _ring(local: Local, caller: str) -> dict[str, Any]:
    answer = await local.client.post(
        CALLS, {"callee_identity": "callee", "type": "audio_call"}, bearer=caller
    )
    assert answer.status == 201, answer
    body: dict[str, Any] = answer.body
    return body


async def _drop_streams(local: Local, follower: Follower) -> None:
    """End the engine's event streams and hold the follower's reconnect: whatever the engine
    publishes now reaches no stream of the callee."""
    follower.gate.hold()
    local.engine.hub.close()
    await asyncio.wait_for(follower.gate.waiting.wait(), 10)


async def test_a_call_already_ringing_arrives_once(local: Local, follower: Follower) -> None:
    caller = await local.client.user("caller")
    call = await _ring(local, caller)
    await follower.client.authenticate("callee")
    # Both the stream's replay and the pending list carry it.
    await follower.until(lambda: len(follower.calls) >= 1)
    await local.client.post(f"{CALLS}/{call['call_id']}/end", bearer=caller)
    await follower.until(lambda: len(follower.calls) >= 2)
    assert follower.versions(call["call_id"]) == [
        (call["version"], UTDCallStatus.INITIATING), (call["version"] + 1, UTDCallStatus.ENDED)
    ]
    assert follower.client._call_follower.ledger.dropped >= 1
    assert follower.since == [None]  # the first attach reads the pending calls only


async def test_a_call_that_ended_while_the_stream_was_down_arrives_ended(
    local: Local, follower: Follower
) -> None:
    caller = await local.client.user("caller")
    await follower.client.authenticate("callee")
    call = await _ring(local, caller)
    other = await _ring(local, caller)
    await follower.until(lambda: len(follower.calls) == 2)

    await _drop_streams(local, follower)
    ended = await local.client.post(f"{CALLS}/{call['call_id']}/end", bearer=caller)
    assert ended.status == 200
    follower.gate.release()

    await follower.until(lambda: len(follower.versions(call["call_id"])) == 2)
    assert follower.versions(call["call_id"]) == [
        (call["version"], UTDCallStatus.INITIATING), (ended.body["version"], UTDCallStatus.ENDED)
    ]
    # It came from the catch-up: changes since the newest change seen, minus the slack.
    newest = max(call["updated_at"], other["updated_at"])
    assert follower.since[0] is None and follower.since[1] == pytest.approx(newest - 2.0)
    await asyncio.sleep(0.3)  # the reconnected stream replays the other call: dropped
    assert follower.versions(other["call_id"]) == [(other["version"], UTDCallStatus.INITIATING)]
    follower.assert_each_version_once()


@pytest.mark.sqlite_only  # reads SQLite's own tables
async def test_a_ringing_call_the_engine_lost_ends_after_the_reconnect(
    local: Local, follower: Follower
) -> None:
    caller = await local.client.user("caller")
    await follower.client.authenticate("callee")
    lost = await _ring(local, caller)
    kept = await _ring(local, caller)
    await follower.until(lambda: len(follower.calls) == 2)

    await _drop_streams(local, follower)
    # The engine forgets the call (think: a new, empty database).
    storage = local.engine.storage
    assert isinstance(storage, SQLiteStorage)
    storage._db.execute("DELETE FROM calls WHERE call_id = ?", (lost["call_id"],))
    follower.gate.release()

    await follower.until(lambda: len(follower.versions(lost["call_id"])) == 2)
    ended = [c for c in follower.calls if c.call_id == lost["call_id"]][-1]
    assert (ended.status, ended.version) == (UTDCallStatus.ENDED, lost["version"] + 1)
    assert ended.caller_identity == "caller" and ended.token is None
    await asyncio.sleep(0.3)
    # The call the engine still has is left as it is.
    assert follower.versions(kept["call_id"]) == [(kept["version"], UTDCallStatus.INITIATING)]
    follower.assert_each_version_once()
