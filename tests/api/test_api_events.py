"""The incoming-call event stream: SSE decoding, errors, and closing when the caller stops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import aioresponses

from tests._support.api import APP_ID, APP_KEY, BASE, BEARER, call_json, sent
from utd_stream_rx import UTDCallStatus, UTDStreamException
from utd_stream_rx._sse import SSEDecoder, SSEEvent, SSETooLarge
from utd_stream_rx.api import UTDApiClient

EVENTS_URL = BASE + "/api/v1/calls/events"
SSE = "text/event-stream"


def _feed_all(decoder: SSEDecoder, chunks: list[bytes]) -> list[SSEEvent]:
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


# -- the decoder -----------------------------------------------------------------------------


def test_decoder_events_comments_and_multiline_data() -> None:
    stream = (
        b": hello\n"
        b"event: call\ndata: one\n\n"
        b": keepalive\n\n"
        b"data: first line\ndata:second line\ndata\n\n"
        b"event: call\nid: 7\nretry: 3000\ndata: {\"a\": 1}\n\n"
        b"event: ignored-without-data\n\n"
        b"unknown: field\ndata:  two spaces\n\n"
    )
    assert _feed_all(SSEDecoder(), [stream]) == [
        SSEEvent(event="call", data="one"),
        SSEEvent(event="message", data="first line\nsecond line\n"),
        SSEEvent(event="call", data='{"a": 1}', id="7", retry=3000),
        SSEEvent(event="message", data=" two spaces", id="7", retry=3000),
    ]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_decoder_line_endings_split_anywhere(newline: bytes) -> None:
    text = "event: call\ndata: héllo ✓\n\n:c\ndata: two\n\n".encode().replace(b"\n", newline)
    whole = _feed_all(SSEDecoder(), [text])
    bytewise = _feed_all(SSEDecoder(), [text[i : i + 1] for i in range(len(text))])
    expected = [SSEEvent(event="call", data="héllo ✓"), SSEEvent(event="message", data="two")]
    assert whole == expected
    assert bytewise == expected


def test_decoder_crlf_split_between_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []  # the "\n" completes "\r\n", not a blank line
    assert decoder.feed(b"\r\n") == [SSEEvent(event="message", data="a")]


def test_decoder_drops_bom_and_incomplete_tail() -> None:
    decoder = SSEDecoder()
    assert decoder.feed("\ufeffdata: x\n\ndata: partial".encode()) == [
        SSEEvent(event="message", data="x")
    ]


def test_decoder_refuses_unbounded_lines_and_events() -> None:
    with pytest.raises(SSETooLarge):
        SSEDecoder(max_size=16).feed(b"data: " + b"x" * 32)
    decoder = SSEDecoder(max_size=16)
    with pytest.raises(SSETooLarge):
        for _ in range(10):
            decoder.feed(b"data: xxxx\n")


# -- the stream over a mocked transport ---------------------------------------------------------


def _sse_call(**overrides: Any) -> str:
    return f"event: call\ndata: {json.dumps(call_json(**overrides))}\n\n"


async def test_stream_yields_calls_and_ends(api: UTDApiClient, mocked: aioresponses) -> None:
    multi_line = json.dumps(call_json(call_id="c-3", status="active"), indent=1)
    body = (
        ": connected\n\n"
        + _sse_call(call_id="c-1", status="ringing")
        + ": keepalive\n\n"
        + "event: something-newer\ndata: {}\n\n"
        + _sse_call(call_id="c-2", status="missed")
        + "event: call\n"
        + "".join(f"data: {line}\n" for line in multi_line.splitlines())
        + "\n"
    )
    mocked.get(EVENTS_URL, body=body, content_type=SSE)

    calls = [call async for call in api.calls.events()]

    assert [(c.call_id, c.status) for c in calls] == [
        ("c-1", UTDCallStatus.RINGING),
        ("c-2", UTDCallStatus.MISSED),
        ("c-3", UTDCallStatus.ACTIVE),
    ]
    ((method, url, request),) = sent(mocked)
    assert (method, url) == ("GET", EVENTS_URL)
    headers = request["headers"]
    assert headers["X-UTD-App-Id"] == APP_ID
    assert headers["X-UTD-App-Key"] == APP_KEY
    assert headers["Authorization"] == f"Bearer {BEARER}"
    assert headers["Accept"] == SSE
    timeout: aiohttp.ClientTimeout = request["timeout"]
    assert timeout.total is None
    assert timeout.sock_read is not None and timeout.sock_read >= 60


async def test_stream_is_lazy(api: UTDApiClient, mocked: aioresponses) -> None:
    stream = api.calls.events()
    assert sent(mocked) == []
    await stream.aclose()
    assert [c async for c in stream] == []
    assert sent(mocked) == []


@pytest.mark.parametrize(
    ("status", "payload", "code"),
    [
        (401, {"error": {"code": "token_expired", "message": "expired"}}, "token_expired"),
        (403, {"error": {"code": "banned", "message": "no"}}, "banned"),
        (500, None, "internal_server_error"),
    ],
)
async def test_stream_http_errors(
    api: UTDApiClient, mocked: aioresponses, status: int, payload: Any, code: str
) -> None:
    if payload is None:
        mocked.get(EVENTS_URL, status=status, body="oops", content_type="text/plain")
    else:
        mocked.get(EVENTS_URL, status=status, payload=payload)
    stream = api.calls.events()
    with pytest.raises(UTDStreamException) as info:
        await anext(stream)
    assert (info.value.status_code, info.value.code) == (status, code)
    assert stream.closed
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_stream_open_is_retried_like_a_read(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.get(EVENTS_URL, exception=aiohttp.ClientConnectionError("refused"))
    mocked.get(EVENTS_URL, body=_sse_call(), content_type=SSE)
    assert [c.call_id async for c in api.calls.events()] == ["c-1"]
    assert len(sent(mocked)) == 2


async def test_stream_wrong_content_type(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.get(EVENTS_URL, payload={"calls": []})
    with pytest.raises(UTDStreamException) as info:
        await anext(api.calls.events())
    assert (info.value.status_code, info.value.code) == (200, "invalid_response")


@pytest.mark.parametrize(
    ("data", "field"),
    [("{broken", "JSON"), (json.dumps({"status": "ringing", "type": "audio_call"}), "call_id")],
)
async def test_stream_malformed_event(
    api: UTDApiClient, mocked: aioresponses, data: str, field: str
) -> None:
    mocked.get(EVENTS_URL, body=_sse_call() + f"event: call\ndata: {data}\n\n", content_type=SSE)
    stream = api.calls.events()
    first = await anext(stream)
    assert first.call_id == "c-1"
    with pytest.raises(UTDStreamException) as info:
        await anext(stream)
    assert info.value.code == "invalid_response"
    assert field in info.value.message
    assert stream.closed


# -- the stream against a real server ----------------------------------------------------------


Served = tuple[UTDApiClient, asyncio.Event, list[str]]


@pytest.fixture
async def sse_server() -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """Start a real engine stand-in that streams calls, then keepalives, until the client leaves.

    Returns a factory ``(events, keepalive=0.05, timeout=10.0) -> (client, disconnected, log)``;
    a float among the events is a pause of that many seconds, filled with keepalives.
    """
    servers: list[TestServer] = []
    clients: list[UTDApiClient] = []

    async def start(
        events: list[dict[str, Any] | float], keepalive: float = 0.05, timeout: float = 10.0
    ) -> Served:
        disconnected = asyncio.Event()
        log: list[str] = []

        async def handler(request: web.Request) -> web.StreamResponse:
            log.append(request.headers.get("Authorization", ""))
            response = web.StreamResponse(headers={"Content-Type": SSE})
            await response.prepare(request)
            try:
                for event in events:
                    if isinstance(event, float):  # a pause, filled with keepalives
                        for _ in range(round(event / keepalive)):
                            await asyncio.sleep(keepalive)
                            await response.write(b": keepalive\n\n")
                        continue
                    await response.write(f"event: call\ndata: {json.dumps(event)}\n\n".encode())
                while True:
                    await asyncio.sleep(keepalive)
                    await response.write(b": keepalive\n\n")
            except (ConnectionError, asyncio.CancelledError):
                disconnected.set()
                raise
            return response

        app = web.Application()
        app.router.add_get("/api/v1/calls/events", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        client = UTDApiClient(APP_ID, APP_KEY, str(server.make_url("")), user_token=BEARER,
                              timeout=timeout)
        clients.append(client)
        return client, disconnected, log

    try:
        yield start
    finally:
        for client in clients:
            await client.aclose()
        for server in servers:
            await server.close()


async def test_breaking_out_of_the_loop_closes_the_connection(
    sse_server: Callable[..., Awaitable[Served]],
) -> None:
    client, disconnected, log = await sse_server([call_json(call_id="c-1"),
                                                  call_json(call_id="c-2")])
    seen = []
    async for call in client.calls.events():
        seen.append(call.call_id)
        if len(seen) == 2:
            break
    assert seen == ["c-1", "c-2"]
    assert log == [f"Bearer {BEARER}"]
    # The server keeps writing keepalives; it only notices a client that really hung up.
    await asyncio.wait_for(disconnected.wait(), timeout=5)


async def test_async_with_closes_even_while_the_stream_is_referenced(
    sse_server: Callable[..., Awaitable[Served]],
) -> None:
    client, disconnected, _ = await sse_server([call_json()])
    async with client.calls.events() as stream:
        async for call in stream:
            assert call.call_id == "c-1"
            break
        assert not disconnected.is_set()
    assert stream.closed
    await asyncio.wait_for(disconnected.wait(), timeout=5)
    assert [c async for c in stream] == []


async def test_aclose_from_another_task_ends_iteration_cleanly(
    sse_server: Callable[..., Awaitable[Served]],
) -> None:
    client, disconnected, _ = await sse_server([call_json()])
    stream = client.calls.events()
    received: list[str] = []
    first = asyncio.Event()

    async def consume() -> None:
        async for call in stream:
            received.append(call.call_id)
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), timeout=5)
    await asyncio.sleep(0.1)  # let the consumer block in the next read
    await stream.aclose()
    await asyncio.wait_for(task, timeout=5)  # ends without an exception
    assert received == ["c-1"]
    await asyncio.wait_for(disconnected.wait(), timeout=5)


async def test_client_aclose_closes_open_streams(
    sse_server: Callable[..., Awaitable[Served]],
) -> None:
    client, disconnected, _ = await sse_server([call_json()])
    stream = client.calls.events()
    assert (await anext(stream)).call_id == "c-1"
    await client.aclose()
    assert stream.closed
    await asyncio.wait_for(disconnected.wait(), timeout=5)


async def test_stream_outlives_the_request_timeout(
    sse_server: Callable[..., Awaitable[Served]],
) -> None:
    # The second call comes 1.2 s in, well past the 0.4 s request timeout, with keepalives
    # between: only a silent stream may time out, never a long one.
    client, _, _ = await sse_server(
        [call_json(call_id="c-1"), 1.2, call_json(call_id="c-2")], keepalive=0.2, timeout=0.4
    )
    async with client.calls.events() as stream:
        assert (await anext(stream)).call_id == "c-1"
        assert (await anext(stream)).call_id == "c-2"
