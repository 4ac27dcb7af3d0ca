"""``UTDStreamClient.incoming_calls`` over a mocked engine: once per (call, version), in
version order, caught up page by page, and immune to a subscriber that raises."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aioresponses import aioresponses
from reactivex import operators as ops

from tests._support.api import APP_ID, APP_KEY, BASE, BEARER, call_json, sent
from utd_stream_rx import UTDCall, UTDStreamClient, UTDStreamType

EVENTS_URL = BASE + "/api/v1/calls/events"
PENDING_URL = BASE + "/api/v1/calls?status=pending"
SSE = "text/event-stream"
SENTINEL = "c-last"  # the last event of a mocked stream: once it is out, all before it are


def _sse(calls: Sequence[dict[str, Any]]) -> str:
    return "".join(f"event: call\ndata: {json.dumps(call)}\n\n" for call in calls)


def _c(call_id: str, version: int, status: str = "ringing", **more: Any) -> dict[str, Any]:
    return call_json(call_id=call_id, version=version, status=status, **more)


class _Seen(list[tuple[str, int]]):
    """``(call_id, version)`` of every incoming call, in delivery order."""

    def __init__(self, client: UTDStreamClient) -> None:
        super().__init__()
        self.arrived = asyncio.Event()
        client.incoming_calls.subscribe(self._add)

    def _add(self, call: UTDCall) -> None:
        self.append((call.call_id, call.version))
        self.arrived.set()

    async def until(self, item: tuple[str, int], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while item not in self:
                self.arrived.clear()
                await self.arrived.wait()


def _mock_sign_in(mocked: aioresponses) -> None:
    mocked.post(
        BASE + "/api/v1/auth/user-token",
        payload={"user_token": BEARER, "identity": "bob", "expires_at": 2e9},
        repeat=True,
    )


@pytest.fixture
async def client() -> AsyncIterator[UTDStreamClient]:
    made = UTDStreamClient(APP_ID, APP_KEY, BASE, BASE, timeout=2.0)
    made.api._transport.retry_backoff = 0  # a refused reconnect fails at once
    try:
        yield made
    finally:
        await made.aclose()


@pytest.mark.parametrize(
    ("pending", "events", "expected"),
    [
        pytest.param(
            [_c("c-1", 1)],
            # The engine replays the ringing call, then its changes and another call's.
            [_c("c-1", 1), _c("c-2", 1), _c("c-1", 3, "active"), _c("c-1", 2), _c("c-2", 1)],
            [("c-1", 1), ("c-2", 1), ("c-1", 3)],
            id="list-and-stream-overlap",
        ),
        pytest.param(
            [_c("c-1", 2)],
            # The stream's backlog is older than the list read after it was opened.
            [_c("c-1", 1, "initiating"), _c("c-1", 2), _c("c-1", 3, "ended"), _c("c-1", 2)],
            [("c-1", 2), ("c-1", 3)],
            id="list-newer-than-backlog",
        ),
    ],
)
async def test_each_call_version_once_and_in_order(
    client: UTDStreamClient,
    mocked: aioresponses,
    pending: list[dict[str, Any]],
    events: list[dict[str, Any]],
    expected: list[tuple[str, int]],
) -> None:
    _mock_sign_in(mocked)
    mocked.get(PENDING_URL, payload={"calls": pending})
    mocked.get(EVENTS_URL, body=_sse([*events, _c(SENTINEL, 1)]), content_type=SSE)
    seen = _Seen(client)
    await client.authenticate("bob")
    await seen.until((SENTINEL, 1))
    assert seen == [*expected, (SENTINEL, 1)]
    dropped = len(pending) + len(events) - len(expected)
    assert (client._call_follower.ledger.delivered,
            client._call_follower.ledger.dropped) == (len(expected) + 1, dropped)


async def test_a_reconnect_catches_up_page_by_page_from_the_newest_change(
    client: UTDStreamClient, mocked: aioresponses
) -> None:
    _mock_sign_in(mocked)
    mocked.get(PENDING_URL, payload={"calls": []})
    mocked.get(EVENTS_URL, body=_sse([_c("c-0", 2, updated_at=100.0)]), content_type=SSE)
    # The stream ends; after the reconnect the client asks from 100 s minus its slack (2 s).
    full_page = [_c(f"c-{i}", 1, "ended", updated_at=100.0 + i) for i in range(100)]
    mocked.get(EVENTS_URL, body=_sse([_c(SENTINEL, 1, updated_at=300.0)]), content_type=SSE)
    mocked.get(BASE + "/api/v1/calls?status=all&since=98.0", payload={"calls": full_page})
    rest = [full_page[-1], _c("c-0", 3, "ended", updated_at=250.0)]
    mocked.get(BASE + "/api/v1/calls?status=all&since=199.0", payload={"calls": rest})
    seen = _Seen(client)
    await client.authenticate("bob")
    await seen.until((SENTINEL, 1))

    lists = [url for method, url, _ in sent(mocked) if "since=" in url]
    assert len(lists) == 2  # a short page ends the catch-up
    # c-0 v2 was seen live; the first page repeats it at v1, the second brings v3.
    assert seen[0] == ("c-0", 2)
    assert seen[1:100] == [(f"c-{i}", 1) for i in range(1, 100)]
    assert seen[100:] == [("c-0", 3), (SENTINEL, 1)]


async def test_a_raising_subscriber_is_isolated(
    client: UTDStreamClient, mocked: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    _mock_sign_in(mocked)
    mocked.get(PENDING_URL, payload={"calls": [_c("c-1", 1)]})
    mocked.get(
        EVENTS_URL, body=_sse([_c("c-1", 2, "active"), _c("c-2", 1), _c(SENTINEL, 1)]),
        content_type=SSE,
    )
    tried: list[str] = []

    def broken(call: UTDCall) -> None:
        tried.append(call.call_id)
        raise RuntimeError("a bug in the app")

    def broken_end() -> None:
        raise RuntimeError("a bug in the app, at the end")

    client.incoming_calls.subscribe(broken, on_completed=broken_end)
    seen = _Seen(client)
    piped: list[str] = []

    def call_id(call: UTDCall) -> str:
        return call.call_id

    client.incoming_calls.pipe(ops.map(call_id)).subscribe(piped.append)
    session = client.call_session(UTDStreamType.AUDIO_CALL)

    with caplog.at_level(logging.ERROR, logger="utd_stream_rx"):
        await client.authenticate("bob")
        await seen.until((SENTINEL, 1))
    assert seen == [("c-1", 1), ("c-1", 2), ("c-2", 1), (SENTINEL, 1)]
    assert piped == tried == ["c-1", "c-1", "c-2", SENTINEL]
    assert sum("a subscriber failed" in r.getMessage() for r in caplog.records) == 4
    follower = client._call_follower.task
    assert follower is not None and not follower.done()  # still following

    await client.aclose()  # raises nothing
    assert session._closed and follower.done()


async def test_an_expired_stream_bearer_is_renewed_and_a_ban_stops_the_stream(
    client: UTDStreamClient, mocked: aioresponses
) -> None:
    _mock_sign_in(mocked)
    expired = {"error": {"code": "token_expired", "message": "expired"}}
    banned = {"error": {"code": "banned", "message": "bob is banned"}}
    mocked.get(EVENTS_URL, status=401, payload=expired)
    mocked.get(EVENTS_URL, status=403, payload=banned)
    await client.authenticate("bob")
    follower = client._call_follower.task
    assert follower is not None
    await asyncio.wait_for(follower, 10)  # it stopped on the ban by itself, without raising
    urls = [url for _, url, _ in sent(mocked)]
    assert sum(url == EVENTS_URL for url in urls) == 2
    # Signed in once, then renewed once after the 401 before reconnecting.
    assert sum(url == BASE + "/api/v1/auth/user-token" for url in urls) == 2
