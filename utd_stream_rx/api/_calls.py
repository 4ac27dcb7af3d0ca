"""1:1 calls: create, answer, end, list, and follow them as events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .._http import decode_json, quote_segment
from .._validate import (
    check_bool,
    check_metadata,
    check_name,
    check_optional_str,
    check_reason,
    check_since,
    check_str,
    check_stream_type,
)
from ..error_codes import ErrorCode
from ..errors import UTDStreamException
from ..models import UTDCall, UTDStreamType, structure
from ._call_events import UTDCallEventStream
from ._caller import Caller, body_of

__all__ = ["CallsService"]


def _call_path(call_id: object, action: str = "") -> str:
    segment = quote_segment(check_str(call_id, "call_id"))
    return f"/api/v1/calls/{segment}" + (f"/{action}" if action else "")


def _calls_query(pending_only: bool | None, since: float | None) -> str:
    """The ``GET /api/v1/calls`` query, its arguments checked."""
    if pending_only is not None:
        check_bool(pending_only, "pending_only")
    checked = None if since is None else check_since(since)
    pending = pending_only if pending_only is not None else checked is None
    query = "status=pending" if pending else "status=all"
    if checked is not None:
        # repr() round-trips the float exactly; "1e+16" needs its "+" escaped.
        query += f"&since={quote(repr(checked), safe='')}"
    return query


def _call_list(status: int, raw: bytes) -> list[UTDCall]:
    """The calls of a ``GET /api/v1/calls`` answer."""
    data = decode_json(status, raw, "a call list")
    calls = data.get("calls") if isinstance(data, dict) else None
    if not isinstance(calls, list):
        raise UTDStreamException(
            "The engine sent an invalid call list: calls: expected a list",
            status_code=status,
            code=ErrorCode.INVALID_RESPONSE,
        )
    result = []
    for index, item in enumerate(calls):
        try:
            result.append(structure(item, UTDCall))
        except UTDStreamException as exc:
            raise UTDStreamException(
                f"calls[{index}]: {exc.message}", status_code=status, code=exc.code
            ) from exc
    return result


class CallsService:
    """``api.calls``: the bearer's 1:1 calls (every request carries the bearer)."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    async def create_call(
        self,
        callee_identity: str,
        type: UTDStreamType,
        *,
        callee_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> UTDCall:
        """Ring ``callee_identity``; the answer carries the caller's room ``token`` and ``url``.

        ``type`` must be a call type (``AUDIO_CALL`` or ``VIDEO_CALL``).
        """
        stream_type = check_stream_type(type)
        if not stream_type.is_call:
            raise ValueError(f"type must be a call type (audio_call or video_call), "
                             f"got {stream_type.value}")
        body = body_of(
            callee_identity=check_name(callee_identity, "callee_identity"),
            callee_name=check_optional_str(callee_name, "callee_name"),
            type=stream_type.value,
            metadata=check_metadata(metadata),
        )
        base = self._caller.transport.base_url
        return await self._caller.model("POST", base, "/api/v1/calls", UTDCall, body=body)

    async def get_call(self, call_id: str) -> UTDCall:
        """The call ``call_id`` as the engine sees it now (caller or callee only)."""
        path = _call_path(call_id)
        return await self._caller.model("GET", self._caller.transport.base_url, path, UTDCall)

    async def list_calls(
        self, *, pending_only: bool | None = None, since: float | None = None
    ) -> list[UTDCall]:
        """Calls where the bearer is caller or callee (``GET /api/v1/calls``).

        Without ``since``: the calls still ringing (or all of them with ``pending_only=False``),
        newest first. With ``since``: the calls whose engine-side ``updated_at`` is at or after
        ``since``, ended ones included (unless ``pending_only=True``), oldest change first and
        at most 100 (the contract's bound); for more, ask again from the last call's
        ``updated_at``. This is how to learn what changed while the event stream was down.

        Args:
            pending_only: Only calls still initiating or ringing. Default: ``True`` without
                ``since``, ``False`` with it.
            since: Unix seconds of the engine's clock (e.g. an earlier call's ``updated_at``).

        Raises:
            TypeError: ``pending_only`` is not a bool or ``since`` not a number.
            ValueError: ``since`` is negative, NaN or infinite.
        """
        query = _calls_query(pending_only, since)
        base = self._caller.transport.base_url
        status, raw = await self._caller.send(
            "GET", base, "/api/v1/calls", bearer=True, query=query
        )
        return _call_list(status, raw)

    async def _act(
        self, call_id: str, action: str, body: Mapping[str, object] | None = None
    ) -> UTDCall:
        path = _call_path(call_id, action)
        base = self._caller.transport.base_url
        return await self._caller.model("POST", base, path, UTDCall, body=body)

    async def report_ringing(self, call_id: str) -> UTDCall:
        """Callee: report that the call is ringing on this device (``initiating -> ringing``)."""
        return await self._act(call_id, "ringing")

    async def accept_call(self, call_id: str) -> UTDCall:
        """Callee: accept; the answer carries the callee's room ``token`` and ``url``."""
        return await self._act(call_id, "accept")

    async def rejoin_call(self, call_id: str) -> UTDCall:
        """A party of a live call: a fresh ``token`` for its room (a lost connection, a
        reload, a second device). The callee may rejoin only an active call."""
        return await self._act(call_id, "rejoin")

    async def reject_call(self, call_id: str, reason: str | None = None) -> UTDCall:
        """Callee: decline the call (``rejected``).

        Its ``end_reason`` is ``reason`` (1-64 characters) when given, else ``declined``. A
        call already over is returned as it is, its reason unchanged.
        """
        body = body_of(reason=check_reason(reason))
        return await self._act(call_id, "reject", body or None)

    async def report_busy(self, call_id: str) -> UTDCall:
        """Callee: decline because already in another call (``busy``)."""
        return await self._act(call_id, "busy")

    async def end_call(self, call_id: str, reason: str | None = None) -> UTDCall:
        """Caller or callee: hang up (``ended``); a call already over is returned as it is.

        Its ``end_reason`` is ``reason`` (1-64 characters) when given, else the engine's:
        ``hung_up`` for an active call, ``cancelled`` when the caller ends it before it is
        answered (``declined`` when the callee does).
        """
        body = body_of(reason=check_reason(reason))
        return await self._act(call_id, "end", body or None)

    def events(self) -> UTDCallEventStream:
        """Stream of :class:`UTDCall` changes for the bearer (``GET /api/v1/calls/events``).

        The bearer is the client's ``user_token`` at the time of this call; nothing is sent
        until the first ``__anext__``. The stream ends when the engine closes it, and is closed
        when the caller stops iterating: explicitly with ``aclose()`` or an ``async with``
        block, or as soon as the abandoned iterator is garbage-collected::

            async with api.calls.events() as events:
                async for call in events:
                    ...

        Raises:
            UTDStreamException: ``unauthenticated`` right away without a user token; any HTTP
                or network failure while opening or reading the stream.
        """
        stream = UTDCallEventStream(self._caller, self._caller.bearer.require())
        self._caller.streams.add(stream)
        return stream
