"""1:1 calls: create, list, event stream, and the status changes."""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any

from aiohttp import web

from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.models import UTDCallEndReason, UTDCallStatus, UTDStreamType

from .auth import Bearer, check_name
from .call_outcomes import CallDecision, CallOutcome, ended_by
from .common import actor, engine_of, opt_reason, opt_str, read_body
from .core import OPEN_CALL_STATUSES
from .errors import ApiError
from .ratelimit import client_address
from .state import CallRecord

__all__ = ["routes"]

routes = web.RouteTableDef()
"""Routes of this module."""

_CALL_TYPES = {"audio_call": UTDStreamType.AUDIO_CALL, "video_call": UTDStreamType.VIDEO_CALL}

CHANGED_CALLS_LIMIT = 100
"""Most calls one ``GET /calls?since=`` answers; the client asks again from the last one."""

# A plain decimal number (exponent allowed): no "nan", "inf", "0x..", "1_000" or spaces.
_NUMBER_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


@routes.post("/api/v1/calls")
async def create(request: web.Request) -> web.Response:
    """The bearer calls ``callee_identity``; answers 201 with the caller's token."""
    bearer = await actor(request)
    body = await read_body(request)
    callee = check_name(body.get("callee_identity"), "callee_identity")
    if callee == bearer.identity:
        raise ApiError.invalid("a call needs two different identities")
    kind_name = body.get("type")
    kind = _CALL_TYPES.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise ApiError.invalid("type must be audio_call or video_call")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ApiError.invalid("metadata must be an object")
    engine = engine_of(request)
    await engine.check_not_banned(bearer.app_id, callee)
    engine.limiter.call(bearer.app_id, bearer.identity, callee, client_address(request))
    data = await engine.create_call(
        bearer,
        callee_identity=callee,
        callee_name=opt_str(body, "callee_name"),
        kind=kind,
        metadata=metadata,
    )
    return web.json_response(data, status=201)


@routes.get("/api/v1/calls")
async def list_calls(request: web.Request) -> web.Response:
    """The bearer's calls: ``status=pending`` (still ringing) or ``all``, newest first.

    With ``since`` (Unix seconds): the calls changed at or after it, ``status=all`` by default,
    oldest change first and at most :data:`CHANGED_CALLS_LIMIT` of them.
    """
    bearer = await actor(request)
    since = _since(request.query.get("since"))
    which = request.query.get("status", "pending" if since is None else "all")
    if which not in ("pending", "all"):
        raise ApiError.invalid("status must be pending or all")
    statuses = OPEN_CALL_STATUSES if which == "pending" else None
    storage = engine_of(request).storage
    if since is None:
        calls = await storage.calls_of(bearer.app_id, bearer.identity, statuses)
    else:
        calls = await storage.calls_changed_since(
            bearer.app_id, bearer.identity, since, CHANGED_CALLS_LIMIT, statuses
        )
    return web.json_response({"calls": [c.to_json() for c in calls]})


def _since(raw: str | None) -> float | None:
    """The ``since`` query parameter: a finite, non-negative number of Unix seconds."""
    if raw is None:
        return None
    value = float(raw) if _NUMBER_RE.fullmatch(raw) else math.nan
    if not math.isfinite(value) or value < 0:
        raise ApiError.invalid("since must be a finite, non-negative number of Unix seconds")
    return value


@routes.get("/api/v1/calls/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every change of the bearer's calls, pending ones first."""
    bearer = await actor(request)
    engine = engine_of(request)
    queue = engine.hub.subscribe(bearer.app_id, bearer.identity)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    # Each call's changes go out once and in version order: a change saved while the
    # pending calls were read arrives both ways, and is sent only the first time.
    sent: dict[str, int] = {}
    try:
        await response.prepare(request)
        pending = await engine.storage.calls_of(bearer.app_id, bearer.identity, OPEN_CALL_STATUSES)
        for call in pending:
            await _send_newer(response, call.to_json(), sent)
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), engine.config.sse_keepalive)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if item is None:
                break
            await _send_newer(response, item, sent)
    except ConnectionResetError:
        pass
    finally:
        engine.hub.unsubscribe(bearer.app_id, bearer.identity, queue)
    return response


async def _send_newer(
    response: web.StreamResponse, call: dict[str, Any], sent: dict[str, int]
) -> None:
    """Send ``call`` unless a version as new of it was sent already."""
    call_id, version = str(call["call_id"]), int(call["version"])
    if sent.get(call_id, -1) >= version:
        return
    sent[call_id] = version
    await response.write(f"event: call\ndata: {json.dumps(call)}\n\n".encode())


@routes.get("/api/v1/calls/{call_id}")
async def get_call(request: web.Request) -> web.Response:
    """One call, for its caller or callee."""
    bearer = await actor(request)
    call = await engine_of(request).call_for(bearer, request.match_info["call_id"])
    return web.json_response(call.to_json())


def _callee_only(call: CallRecord, identity: str) -> None:
    if call.callee_identity != identity:
        raise ApiError.forbidden("only the callee may do this")


def _still_ringing(call: CallRecord, target: UTDCallStatus) -> CallOutcome:
    if call.status.is_terminal:
        raise ApiError.conflict(f"the call is already {call.status.value}", ErrorCode.CALL_ENDED)
    if call.status is UTDCallStatus.ACTIVE:
        raise ApiError.conflict("the call is already active")
    return CallOutcome(target)


@routes.post("/api/v1/calls/{call_id}/ringing")
async def ringing(request: web.Request) -> web.Response:
    """The callee's device rings (``initiating -> ringing``)."""
    bearer = await actor(request)
    engine = engine_of(request)
    call_id = request.match_info["call_id"]
    _callee_only(await engine.call_for(bearer, call_id), bearer.identity)

    def decide(call: CallRecord) -> CallOutcome | None:
        return _still_ringing(call, UTDCallStatus.RINGING)

    call = await engine.transition_call(bearer.app_id, call_id, decide)
    return web.json_response(call.to_json())


@routes.post("/api/v1/calls/{call_id}/accept")
async def accept(request: web.Request) -> web.Response:
    """The callee answers; the call is ``active`` and the callee gets a token."""
    bearer = await actor(request)
    engine = engine_of(request)
    call_id = request.match_info["call_id"]
    _callee_only(await engine.call_for(bearer, call_id), bearer.identity)

    def decide(call: CallRecord) -> CallOutcome | None:
        if call.status is UTDCallStatus.ACTIVE:  # answering twice: a fresh token, same call
            return None
        return _still_ringing(call, UTDCallStatus.ACTIVE)

    call = await engine.transition_call(bearer.app_id, call_id, decide)
    token = await engine.callee_token(call)
    return web.json_response(call.to_json(token=token, url=engine.livekit_url))


@routes.post("/api/v1/calls/{call_id}/rejoin")
async def rejoin(request: web.Request) -> web.Response:
    """A party joins its live call's room again (a lost connection, a reload, a second
    device): a fresh token for the same call; the call goes on."""
    bearer = await actor(request)
    engine = engine_of(request)
    call = await engine.call_for(bearer, request.match_info["call_id"])
    if call.status.is_terminal:
        raise ApiError.conflict(f"the call is already {call.status.value}", ErrorCode.CALL_ENDED)
    if bearer.identity == call.callee_identity and call.status is not UTDCallStatus.ACTIVE:
        raise ApiError.conflict("the call is not active: accept it first")
    token = await engine.party_token(call, bearer.identity)
    return web.json_response(call.to_json(token=token, url=engine.livekit_url))


def _declined(outcome: CallOutcome) -> CallDecision:
    """The callee declines a call that still rings; a call already over stays as it is."""

    def decide(call: CallRecord) -> CallOutcome | None:
        if call.status.is_terminal:  # idempotent: the call is over either way
            return None
        if call.status is UTDCallStatus.ACTIVE:
            raise ApiError.conflict("the call is active; end it instead")
        return outcome

    return decide


async def _callee_declines(
    request: web.Request, bearer: Bearer, outcome: CallOutcome
) -> web.Response:
    engine = engine_of(request)
    call_id = request.match_info["call_id"]
    _callee_only(await engine.call_for(bearer, call_id), bearer.identity)
    call = await engine.transition_call(bearer.app_id, call_id, _declined(outcome))
    return web.json_response(call.to_json())


@routes.post("/api/v1/calls/{call_id}/reject")
async def reject(request: web.Request) -> web.Response:
    """The callee declines; the call becomes ``rejected``, ending for ``reason`` (optional,
    ``declined`` by default)."""
    bearer = await actor(request)
    reason = opt_reason(await read_body(request))
    outcome = CallOutcome(UTDCallStatus.REJECTED, reason or UTDCallEndReason.DECLINED)
    return await _callee_declines(request, bearer, outcome)


@routes.post("/api/v1/calls/{call_id}/busy")
async def busy(request: web.Request) -> web.Response:
    """The callee is busy on another call; the call becomes ``busy`` (reason ``busy``)."""
    outcome = CallOutcome(UTDCallStatus.BUSY, UTDCallEndReason.BUSY)
    return await _callee_declines(request, await actor(request), outcome)


@routes.post("/api/v1/calls/{call_id}/end")
async def end(request: web.Request) -> web.Response:
    """Either party ends the call, for ``reason`` (optional: ``cancelled`` by the caller of a
    call that still rings, ``hung_up`` once it is active); a call already over is answered as
    it is."""
    bearer = await actor(request)
    reason = opt_reason(await read_body(request))
    engine = engine_of(request)
    call_id = request.match_info["call_id"]
    await engine.call_for(bearer, call_id)
    call = await engine.transition_call(bearer.app_id, call_id, ended_by(bearer.identity, reason))
    return web.json_response(call.to_json())
