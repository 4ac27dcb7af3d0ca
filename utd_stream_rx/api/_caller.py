"""What every REST service sends through: the shared transport, acting as one bearer."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Protocol, TypeVar

from yarl import URL

from .._http import decode_json, quote_segment
from .._validate import check_name
from ..error_codes import ErrorCode
from ..errors import UTDStreamException
from ..models import UTDRoomState, structure
from ._bearer import Bearer
from ._transport import Transport

__all__ = ["Caller", "ClosableStream", "body_of", "room_segment", "structure_answer"]

T = TypeVar("T")


def structure_answer(data: object, cls: type[T], status: int) -> T:
    """``data`` as a ``cls``; a malformed body keeps its message and code, plus ``status``."""
    try:
        return structure(data, cls)
    except UTDStreamException as exc:
        raise UTDStreamException(exc.message, status_code=status, code=exc.code) from exc


class ClosableStream(Protocol):
    """An event stream a caller opened and closes with itself."""

    async def aclose(self) -> None:
        """Close the stream (idempotent)."""
        ...


class Caller:
    """One client's way to the engine: its :class:`Transport`, its :class:`Bearer`, whether it
    is closed, and the event streams it opened (closed with it)."""

    def __init__(self, transport: Transport, bearer: Bearer) -> None:
        self.transport = transport
        self.bearer = bearer
        self.closed = False
        self.streams: weakref.WeakSet[ClosableStream] = weakref.WeakSet()

    def require_open(self) -> None:
        """Refuse any request after the client was closed (code ``closed``)."""
        if self.closed:
            raise UTDStreamException("this UTDApiClient is closed", code=ErrorCode.CLOSED)

    async def aclose(self) -> None:
        """Mark closed and close the event streams opened through this caller."""
        self.closed = True
        for stream in list(self.streams):
            await stream.aclose()

    async def send(
        self,
        method: str,
        base: URL,
        path: str,
        *,
        bearer: bool,
        body: Mapping[str, object] | None = None,
        query: str = "",
    ) -> tuple[int, bytes]:
        """Send a request (with the bearer when ``bearer``); return status and body.

        A bearer the engine calls expired (a clock apart, a suspended laptop) is renewed when
        it can be and the request sent once more: a refused request was not applied.
        """
        self.require_open()
        token = await self.bearer.fresh() if bearer else None
        try:
            return await self.transport.send(method, base, path, token=token, body=body,
                                             query=query)
        except UTDStreamException as exc:
            renewed = None if token is None else await self.bearer.renewed(exc, token)
            if renewed is None:
                raise
            return await self.transport.send(method, base, path, token=renewed, body=body,
                                             query=query)

    async def model(
        self,
        method: str,
        base: URL,
        path: str,
        cls: type[T],
        *,
        bearer: bool = True,
        body: Mapping[str, object] | None = None,
    ) -> T:
        """Send a request and structure its JSON answer into ``cls``."""
        status, raw = await self.send(method, base, path, bearer=bearer, body=body)
        return structure_answer(decode_json(status, raw, cls.__name__), cls, status)

    async def room(
        self, method: str, path: str, body: Mapping[str, object] | None = None
    ) -> UTDRoomState:
        """An engine request (as the bearer) answered with the room's state."""
        return await self.model(method, self.transport.base_url, path, UTDRoomState, body=body)


def body_of(**fields: object) -> dict[str, object]:
    """A request body without the optional fields left as ``None``."""
    return {key: value for key, value in fields.items() if value is not None}


def room_segment(room_name: object) -> str:
    """A checked room name as one percent-encoded path segment."""
    return quote_segment(check_name(room_name, "room_name"))
