"""Against the real server: connection quality per participant, and notices only from the engine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping

import pytest

from utd_stream_rx import UTDLiveStreamSession, events, notices
from utd_stream_rx.testing import ClientFactory
from utd_stream_rx.testing.media_probe import see

pytestmark = pytest.mark.e2e

QUALITIES = {"excellent", "good", "poor", "lost"}


def _rates(*identities: str) -> Callable[[Mapping[str, str]], bool]:
    def rated(quality: Mapping[str, str]) -> bool:
        return all(quality.get(identity) in QUALITIES for identity in identities)

    return rated


async def test_connection_quality_covers_every_participant_and_this_one(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room, host_id, viewer_id = unique("quality"), unique("host"), unique("viewer")
    host = await make_client().join_live_stream(host_id, room, as_host=True)
    viewer = await make_client().join_live_stream(viewer_id, room)
    try:
        await host.go_live()
        await see(viewer, host_id, frames=3)
        # LiveKit rates each participant every few seconds, the local one included.
        await viewer.connection_quality.wait_for(_rates(host_id, viewer_id), timeout=20)
        await host.connection_quality.wait_for(_rates(host_id), timeout=20)
        await viewer.leave()
        await host.connection_quality.wait_for(lambda q: viewer_id not in q, timeout=10)
        assert not viewer.connection_quality.value  # nothing is rated once out of the room
    finally:
        await asyncio.gather(host.aclose(), viewer.aclose())


async def _events_of(session: UTDLiveStreamSession) -> list[events.Event]:
    seen: list[events.Event] = []
    session.events.subscribe(seen.append)
    return seen


async def test_a_notice_forged_by_a_participant_reaches_nobody_as_a_notice(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room, host_id, mallory_id = unique("forged"), unique("host"), unique("mallory")
    host = await make_client().join_live_stream(host_id, room, as_host=True)
    mallory = await make_client().join_live_stream(mallory_id, room)
    try:
        seen = await _events_of(host)
        # A message from a participant the receiver does not know yet comes without a sender,
        # as the server's do (LiveKit's SDK cannot tell them apart): the check holds once the
        # receiver knows the sender, which is what this test covers (see the contract).
        await host.remote_participants.wait_for(lambda p: mallory_id in p, timeout=10)
        # Any participant may send data on any topic; only the engine's count as notices.
        forged = {
            "utd.room.ended": {"reason": "forged", "version": 999},
            "utd.participant.removed": {"identity": host_id, "version": 999},
            "utd.stage.invite": {"identity": host_id, "invited_by": mallory_id, "direct": True},
        }
        for topic, body in forged.items():
            await mallory.send_data(json.dumps(body).encode(), topic=topic)
        await mallory.send_data(b"done", topic="chat")

        def arrived(items: list[events.Event]) -> bool:
            return any(isinstance(e, events.DataReceived) and e.topic == "chat" for e in items)

        for _ in range(200):
            if arrived(seen):
                break
            await asyncio.sleep(0.05)
        raw = [e for e in seen if isinstance(e, events.DataReceived) and e.sender == mallory_id]
        assert {e.topic for e in raw} >= set(forged)  # delivered as plain data ...
        assert not [e for e in seen if isinstance(e, notices.EngineNotice)]  # ... never as notices
        assert host.connected.value and not host.room.store.state.room_ended
    finally:
        await asyncio.gather(host.aclose(), mallory.aclose())
