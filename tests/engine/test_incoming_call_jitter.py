"""The incoming-call reconnect is jittered: two clients whose streams the in-process engine
ends at the same instant reconnect at their own instants (full jitter below the first
ceiling), and both catch up on the call rung meanwhile."""

from __future__ import annotations

import functools
import logging
import random

import pytest

from tests._support.engine import APP_ID, APP_KEY, Local
from tests._support.incoming_calls import IncomingCalls
from tests._support.paths import CALLS
from utd_stream_rx import UTDStreamClient
from utd_stream_rx._backoff import RECONNECT_BASE, Backoff

SEEDS = {"ann": 1, "bob": 2}


def _reconnect_delays(caplog: pytest.LogCaptureFixture, identity: str) -> list[float]:
    """The reconnect delays ``identity``'s follower logged."""
    return [
        float(record.args[1])  # type: ignore[arg-type,index]
        for record in caplog.records
        if record.name == "utd_stream_rx.client"
        and record.msg.startswith("incoming-call stream of")
        and record.args[0] == identity  # type: ignore[index]
    ]


def _has_call(follower: IncomingCalls, call_id: str) -> bool:
    return bool(follower.statuses(call_id))


async def test_streams_ended_together_reconnect_at_jittered_instants(
    local: Local, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="utd_stream_rx.client")
    followers: dict[str, IncomingCalls] = {}
    for identity, seed in SEEDS.items():
        client = UTDStreamClient(APP_ID, APP_KEY, local.client.base_url, local.client.base_url)
        client._call_follower.backoff = Backoff.reconnect(random.Random(seed))
        followers[identity] = IncomingCalls(client)
    try:
        for identity, follower in followers.items():
            await follower.client.authenticate(identity)
        caller = await local.client.user("caller")
        local.engine.hub.close()  # every call stream ends at once, as in an engine restart
        for identity, follower in followers.items():
            rung = await local.client.post(
                CALLS, {"callee_identity": identity, "type": "audio_call"}, bearer=caller
            )
            assert rung.status == 201, rung
            call_id = rung.body["call_id"]
            # It reaches the callee through the reconnected stream (after the logged pause).
            await follower.until(functools.partial(_has_call, follower, call_id))
    finally:
        for follower in followers.values():
            await follower.client.aclose()

    firsts = {identity: _reconnect_delays(caplog, identity)[0] for identity in SEEDS}
    for identity, seed in SEEDS.items():
        # The first reconnect after a working stream draws below the first ceiling.
        assert firsts[identity] == random.Random(seed).uniform(0, RECONNECT_BASE)
        assert 0 <= firsts[identity] <= RECONNECT_BASE
    assert firsts["ann"] != firsts["bob"]
