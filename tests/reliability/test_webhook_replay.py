"""LiveKit webhooks applied once, for real: a captured delivery replayed while its signature is
still valid, and an old event posted after a newer one, change nothing.

livekit-server posts every webhook to the engine and to a sink of the test's own, which keeps
each delivery as sent (body and signature) so the test can post it again.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from livekit import api

from tests._support.figures import record
from tests._support.raw_engine import RawEngine, RawEngineOf
from utd_stream_rx.testing import ClientsOf, LocalStack
from utd_stream_rx.testing.livekit_server import free_port

pytestmark = pytest.mark.e2e


@attrs.frozen
class Delivery:
    """One webhook as livekit-server posted it."""

    body: bytes
    authorization: str

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@attrs.define
class WebhookSink:
    """Keeps every delivery livekit-server posts to it."""

    url: str
    deliveries: list[Delivery] = attrs.field(factory=list)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.deliveries.append(Delivery(body, request.headers.get("Authorization", "")))
        return web.json_response({})

    async def wait_for(self, kind: str, identity: str, timeout: float = 10.0) -> Delivery:
        """The first delivery of ``kind`` about ``identity`` (waits for it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for delivery in self.deliveries:
                event = delivery.event
                if event.get("event") == kind and (
                    event.get("participant", {}).get("identity") == identity
                ):
                    return delivery
            assert loop.time() < deadline, f"livekit-server never posted {kind} of {identity}"
            await asyncio.sleep(0.05)


@attrs.frozen
class CapturingStack:
    stack: LocalStack
    sink: WebhookSink


@pytest.fixture
async def capturing_stack() -> AsyncIterator[CapturingStack]:
    """A private stack whose livekit-server also posts every webhook to the test's sink."""
    port = free_port()
    sink = WebhookSink(f"http://127.0.0.1:{port}/hook")
    app = web.Application()
    app.router.add_post("/hook", sink.receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stack = LocalStack()
    stack.livekit.webhook_urls.append(sink.url)
    try:
        await stack.astart()
        yield CapturingStack(stack, sink)
    finally:
        await stack.engine.astop()
        await stack.livekit.akill()
        await stack.acleanup()
        await runner.cleanup()


async def _post(stack: LocalStack, body: bytes, authorization: str) -> int:
    async with aiohttp.ClientSession() as http, http.post(
        stack.base_url + "/api/v1/livekit/webhook",
        data=body,
        headers={"Authorization": authorization, "Content-Type": "application/webhook+json"},
    ) as response:
        return response.status


def _signed(stack: LocalStack, event: dict[str, Any]) -> tuple[bytes, str]:
    """``event`` signed as livekit-server signs a delivery (valid for 5 minutes)."""
    body = json.dumps(event).encode()
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = (
        api.AccessToken(stack.livekit.api_key, stack.livekit.api_secret)
        .with_ttl(datetime.timedelta(minutes=5))
        .with_sha256(digest)
        .to_jwt()
    )
    return body, token


async def _seats(raw: RawEngine, room: str, bearer: str) -> tuple[int, list[str | None]]:
    state = (await raw.send("GET", f"/api/v1/rooms/{room}", bearer=bearer)).body
    return state["version"], [seat["identity"] for seat in state["seats"]["seats"]]


async def test_a_captured_departure_replayed_frees_nothing(
    capturing_stack: CapturingStack,
    raw_engine_of: RawEngineOf,
    clients_of: ClientsOf,
) -> None:
    stack, sink = capturing_stack.stack, capturing_stack.sink
    raw = raw_engine_of(stack)
    make = clients_of(stack)
    room = "replay"
    ann = await make().join_audio_room("ann", room)
    await ann.take_seat(1)
    await ann.leave()
    left = await sink.wait_for("participant_left", "ann")
    watcher = await raw.bearer("watcher")
    for _ in range(100):
        if (await _seats(raw, room, watcher))[1][1] is None:
            break
        await asyncio.sleep(0.1)
    assert (await _seats(raw, room, watcher))[1][1] is None, "ann's departure freed nothing"

    # Ann comes back: a fresh token, a seat taken while she connects.
    minted = await raw.room_token("ann", room, "audio_room", "audience")
    taken = await raw.send("POST", f"/api/v1/audio-rooms/{room}/seats/take", {"seat_index": 1},
                           bearer=minted["user_token"])
    assert taken.status == 200, taken
    before = await _seats(raw, room, watcher)
    assert before[1][1] == "ann"

    # The departure captured seconds ago, its signature still valid, posted again.
    replays = 3
    for _ in range(replays):
        assert await _post(stack, left.body, left.authorization) == 200
    assert await _seats(raw, room, watcher) == before
    record("captured webhook replays", f"{replays} replays of a participant_left: no effect")


async def test_an_old_departure_after_a_newer_join_frees_nothing(
    capturing_stack: CapturingStack,
    raw_engine_of: RawEngineOf,
    clients_of: ClientsOf,
) -> None:
    stack, sink = capturing_stack.stack, capturing_stack.sink
    raw = raw_engine_of(stack)
    room = "late"
    bob = await clients_of(stack)().join_audio_room("bob", room)
    await bob.take_seat(2)
    await bob.can_publish.wait_for(bool, timeout=10)  # LiveKit's event follows the answer
    joined = (await sink.wait_for("participant_joined", "bob")).event
    # The engine got that very delivery too; make sure it was applied before going on.
    assert await _post(stack, *_signed(stack, {**joined, "id": f"EV_{uuid.uuid4().hex}"})) == 200
    watcher = await raw.bearer("watcher")
    before = await _seats(raw, room, watcher)
    assert before[1][2] == "bob"

    # A departure of bob's current connection, created before his join (a retry LiveKit
    # delivered late, or a forged order): it must not free the seat he holds now.
    old_left = {
        "event": "participant_left",
        "id": f"EV_{uuid.uuid4().hex}",
        "createdAt": str(int(joined["createdAt"]) - 30),
        "room": joined["room"],
        "participant": {**joined["participant"], "disconnectReason": "CLIENT_INITIATED"},
    }
    assert await _post(stack, *_signed(stack, old_left)) == 200
    assert await _seats(raw, room, watcher) == before
    assert bob.can_publish.value
