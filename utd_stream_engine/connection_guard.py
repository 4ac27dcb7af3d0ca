"""Connection limits aiohttp does not have: a deadline for a request's headers and a cap on the
connections one client address holds at once.

aiohttp reads request headers with no deadline of its own (only its keep-alive timer, 75 s by
default, ever closes a connection that never finishes a request) and accepts connections for
as long as the process has file descriptors: about a thousand half-sent requests from one
address used to take the engine offline. :class:`GuardedSite` serves an ``AppRunner`` the way
``TCPSite`` does, each connection wrapped in a protocol that

- closes a connection at once when its address already holds ``max_per_client`` of them;
- answers 408 and closes a connection whose first request line and headers did not all arrive
  within ``header_timeout`` seconds. Later requests on a kept-alive connection are bounded by
  aiohttp's keep-alive timer, bodies by the handlers (``read_body``).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from collections.abc import Callable

import attrs
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from utd_stream_rx.error_codes import ErrorCode

__all__ = ["ConnectionGate", "ConnectionLimits", "GuardedSite"]

log = logging.getLogger(__name__)

# The end of the headers: b"\r\n\r\n", or b"\n\n" from a client sending bare line feeds.
_HEADER_ENDS = (b"\n\r\n", b"\n\n")
_TAIL = 2  # bytes kept between reads: an end split over two reads is still seen


@attrs.frozen
class ConnectionLimits:
    """How long headers may take, and how many connections one address may hold."""

    header_timeout: float = 10.0
    """Seconds a new connection has to send its first request line and headers."""
    max_per_client: int = 256
    """Connections one client address may hold at once; 0 = no cap."""


def _timeout_answer(timeout: float) -> bytes:
    body = json.dumps(
        {
            "error": {
                "code": ErrorCode.REQUEST_TIMEOUT,
                "message": f"the request headers did not arrive within {timeout:g}s",
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class ConnectionGate:
    """Counts the open connections of each client address and wraps each new connection's
    aiohttp handler in a guarded protocol."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open: collections.Counter[str] = collections.Counter()
        """Open connections by client address."""
        self.refused = 0
        """Connections closed at once because their address was over the cap."""
        self.timed_out = 0
        """Connections closed because their headers came too late."""
        self._over_cap: set[str] = set()

    def protocol_factory(self, make_handler: Callable[[], RequestHandler]) -> Callable[
        [], asyncio.Protocol
    ]:
        """The factory ``loop.create_server`` takes: a guarded protocol around each handler
        ``make_handler`` (the runner's ``server``) makes."""

        def make() -> asyncio.Protocol:
            return _GuardedConnection(make_handler(), self)

        return make

    def admit(self, peer: str) -> bool:
        """Count a new connection of ``peer``; False (and not counted) over the cap."""
        cap = self.limits.max_per_client
        if cap > 0 and self.open[peer] >= cap:
            self.refused += 1
            if peer not in self._over_cap:
                self._over_cap.add(peer)
                log.warning("%s holds %d connections: closing its new ones", peer, cap)
            return False
        self.open[peer] += 1
        return True

    def release(self, peer: str) -> None:
        """Forget one connection of ``peer``."""
        self.open[peer] -= 1
        if self.open[peer] <= 0:
            del self.open[peer]
        if self.open[peer] < self.limits.max_per_client:
            self._over_cap.discard(peer)


def _peer_of(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer)  # a Unix socket: all its clients share one count


class _GuardedConnection(asyncio.Protocol):
    """aiohttp's handler behind a cap check and a header deadline; everything else is
    passed through."""

    def __init__(self, handler: RequestHandler, gate: ConnectionGate) -> None:
        self._handler = handler
        self._gate = gate
        self._peer: str | None = None  # set once admitted
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = _peer_of(transport)
        if not self._gate.admit(peer):
            transport.abort()
            return
        self._peer = peer
        self._transport = transport
        timeout = self._gate.limits.header_timeout
        if timeout > 0:
            self._timer = asyncio.get_running_loop().call_later(timeout, self._headers_late)
        self._handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._peer is None:
            return
        if self._timer is not None:
            seen = self._tail + data
            if any(end in seen for end in _HEADER_ENDS):
                self._disarm()
            else:
                self._tail = seen[-_TAIL:]
        self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        if self._peer is not None:
            self._handler.eof_received()
        return None  # as aiohttp's handler: the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        peer, self._peer = self._peer, None
        if peer is None:
            return
        self._disarm()
        self._gate.release(peer)
        self._handler.connection_lost(exc)

    def pause_writing(self) -> None:
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._handler.resume_writing()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._tail = b""

    def _headers_late(self) -> None:
        self._timer = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._gate.timed_out += 1
        log.debug("%s sent no complete request headers in time; closing", self._peer)
        transport.write(_timeout_answer(self._gate.limits.header_timeout))
        transport.close()


class GuardedSite(web.BaseSite):
    """A TCP site whose connections are limited by a :class:`ConnectionGate`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        limits: ConnectionLimits,
        backlog: int = 1024,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self.gate = ConnectionGate(limits)

    @property
    def name(self) -> str:
        """``http://host:port``."""
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        """Listen and serve."""
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self.gate.protocol_factory(server), self._host, self._port, backlog=self._backlog
        )
