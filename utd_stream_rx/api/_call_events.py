"""The bearer's call events, as an async iterator over the engine's server-sent events."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp

from .._closing import ClosesOnExit
from .._http import decode_json
from .._sse import SSEDecoder, SSETooLarge
from ..error_codes import ErrorCode
from ..errors import UTDStreamException
from ..models import UTDCall
from ._caller import Caller, structure_answer

__all__ = ["UTDCallEventStream"]

_log = logging.getLogger("utd_stream_rx.api")

# The engine sends a keepalive every 15 s; a silent stream for this long is dead.
_EVENTS_READ_TIMEOUT = 60.0


async def _open_events(caller: Caller, token: str) -> aiohttp.ClientResponse:
    """Send ``GET /api/v1/calls/events`` as ``token`` and return the open response."""
    caller.require_open()
    transport = caller.transport
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=transport.timeout,
        sock_connect=transport.timeout,
        sock_read=max(_EVENTS_READ_TIMEOUT, transport.timeout),
    )
    url = transport.url(transport.base_url, "/api/v1/calls/events")
    headers = transport.headers({"Accept": "text/event-stream", "Cache-Control": "no-cache"}, token)
    response, _ = await transport.exchange("GET", url, headers, None, timeout, stream=True)
    if response.content_type != "text/event-stream":
        status, content_type = response.status, response.content_type
        response.close()
        raise UTDStreamException(
            f"The engine answered the call event stream with {content_type!r} "
            "instead of text/event-stream",
            status_code=status,
            code=ErrorCode.INVALID_RESPONSE,
        )
    return response


def _read_failure(exc: Exception) -> UTDStreamException:
    """The error for a read of the open stream that failed."""
    if isinstance(exc, TimeoutError):
        return UTDStreamException(
            "The call event stream went silent (no keepalive)", code=ErrorCode.TIMEOUT
        )
    return UTDStreamException(
        f"The call event stream broke: {exc or type(exc).__name__}", code=ErrorCode.NETWORK
    )


class UTDCallEventStream(AsyncIterator[UTDCall], ClosesOnExit):
    """The bearer's call events: an async iterator of
    :class:`~utd_stream_rx.models.UTDCall`, and a context manager.

    Created by ``api.calls.events()``. The request is sent on the first ``__anext__``;
    comments and keepalives are skipped, events other than ``call`` ignored. Iteration ends
    when the engine closes the stream or after :meth:`aclose`.
    """

    def __init__(self, caller: Caller, token: str) -> None:
        self._caller = caller
        self._token = token
        self._response: aiohttp.ClientResponse | None = None
        self._decoder = SSEDecoder()
        self._ready: list[UTDCall] = []
        # A bad event is reported only after the good ones that came before it.
        self._failure: UTDStreamException | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once the stream ended, failed or was closed; iteration then stops."""
        return self._closed

    async def open(self) -> None:
        """Send the request now and return once the engine accepted the stream.

        Optional: iteration opens the stream by itself. Events from this point on are
        delivered, so a caller can catch up on earlier calls with ``api.calls.list_calls``
        without missing any in between.
        """
        if self._response is None and not self._closed:
            try:
                self._response = await _open_events(self._caller, self._token)
            except BaseException:
                self._close_now()
                raise
            if self._closed:
                self._close_now()

    def __aiter__(self) -> UTDCallEventStream:
        """The stream is its own iterator."""
        return self

    async def __anext__(self) -> UTDCall:
        """The next call event; ``StopAsyncIteration`` when the stream is over."""
        while not self._ready:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                self._close_now()
                raise failure
            if self._closed:
                raise StopAsyncIteration
            try:
                await self._fill()
            except BaseException:
                self._close_now()
                raise
        return self._ready.pop(0)

    async def _fill(self) -> None:
        if self._response is None:
            self._response = await _open_events(self._caller, self._token)
            if self._closed:  # aclose() ran while connecting
                self._close_now()
                return
        response = self._response
        try:
            chunk = await response.content.readany()
        except (TimeoutError, aiohttp.ClientError) as exc:
            if self._closed:  # aclose() from another task cut the read short: a clean end
                return
            raise _read_failure(exc) from exc
        if self._closed:
            return
        if not chunk:
            _log.debug("call event stream ended by the engine")
            self._close_now()
            return
        self._take(chunk, response.status)

    def _take(self, chunk: bytes, status: int) -> None:
        """Decode ``chunk`` and queue its call events (or the first bad one's failure)."""
        try:
            events = self._decoder.feed(chunk)
        except SSETooLarge as exc:
            # Events completed earlier in this chunk are lost with the rest of it: the stream
            # is unusable anyway once it sends an event past the limit.
            raise UTDStreamException(
                f"The engine sent an oversized call event: {exc}",
                status_code=status,
                code=ErrorCode.INVALID_RESPONSE,
            ) from exc
        for event in events:
            if event.event != "call":
                continue
            try:
                data = decode_json(status, event.data.encode(), "a call event")
                self._ready.append(structure_answer(data, UTDCall, status))
            except UTDStreamException as exc:
                self._failure = exc
                return

    def _close_now(self) -> None:
        self._closed = True
        response, self._response = self._response, None
        if response is not None:
            response.close()

    async def aclose(self) -> None:
        """Stop the stream and close its connection (idempotent)."""
        self._close_now()
        self._ready.clear()

    def __del__(self) -> None:
        # A caller that breaks out of ``async for`` drops the last reference here; close the
        # connection now rather than leaving it to the pool's eventual cleanup.
        response = getattr(self, "_response", None)
        if response is not None and not response.closed:
            # Interpreter shutdown or a loop that is already gone: nothing left to close.
            with contextlib.suppress(Exception):
                response.close()
