"""Every error code of the SDK and the engine, in one place.

The engine answers ``{"error": {"code": ..., "message": ...}}`` with one of the codes marked
*engine*; the SDK raises the codes marked *SDK* itself, before or without an answer. Both sides
import this module, so a code is spelled once. :class:`ErrorCode` is a ``StrEnum``: a member
compares equal to its plain string (``ErrorCode.SEAT_TAKEN == "seat_taken"``), so code that
branches on strings keeps working.
"""

from __future__ import annotations

import enum

__all__ = ["ENGINE_CODES", "ErrorCode"]


class ErrorCode(enum.StrEnum):
    """A stable, machine-readable reason for a failure (``UTDStreamException.code``)."""

    # -- engine: 400 ------------------------------------------------------------------------
    INVALID_REQUEST = "invalid_request"
    """Engine, 400: a body, path or query the contract does not allow."""
    INVALID_SEAT = "invalid_seat"
    """Engine, 400: no such seat in the room's grid."""

    # -- engine: 401 ------------------------------------------------------------------------
    UNAUTHORIZED = "unauthorized"
    """Engine, 401: wrong app credentials, or a missing or invalid bearer."""
    TOKEN_EXPIRED = "token_expired"
    """Engine, 401: the bearer expired (a renewable one is renewed and the command resent)."""
    IDENTITY_REQUIRED = "identity_required"
    """Engine, 401: a production engine needs a proof of identity from the app's backend."""
    INVALID_IDENTITY_TOKEN = "invalid_identity_token"
    """Engine, 401: the proof of identity is not valid."""
    IDENTITY_TOKEN_EXPIRED = "identity_token_expired"
    """Engine, 401: the proof of identity expired."""

    # -- engine: 403 ------------------------------------------------------------------------
    FORBIDDEN = "forbidden"
    """Engine (or SDK, for a host command on a guest's session), 403: not allowed to do this."""
    BANNED = "banned"
    """Engine, 403: the identity is banned."""
    APPROVAL_REQUIRED = "approval_required"
    """Engine, 403: the room's seats need the host's approval."""

    # -- engine: 404, 408 ---------------------------------------------------------------------
    NOT_FOUND = "not_found"
    """Engine (or SDK, for a room without a seat grid), 404: no such room, call or request."""
    NO_REQUEST = "no_request"
    """Engine, 404: no such pending stage or speak request (to cancel, deny or approve)."""
    NO_INVITATION = "no_invitation"
    """Engine, 404: the identity has no open invitation (to accept or decline)."""
    REQUEST_TIMEOUT = "request_timeout"
    """Engine, 408: the request came too slowly; the connection is closed."""

    # -- engine: 409 ------------------------------------------------------------------------
    SEAT_TAKEN = "seat_taken"
    """Engine, 409: someone holds that seat."""
    SEAT_LOCKED = "seat_locked"
    """Engine, 409: the host locked that seat."""
    ALREADY_SEATED = "already_seated"
    """Engine, 409: the identity holds a seat already."""
    CALL_ENDED = "call_ended"
    """Engine (or SDK, rejoining without a live call), 409: the call is over."""
    ROOM_FULL = "room_full"
    """Engine, 409: no free seat."""
    NOT_IN_ROOM = "not_in_room"
    """Engine, 409: the identity is not in the LiveKit room."""
    ROOM_ENDED = "room_ended"
    """Engine, 409: the host ended the room; only a host can start it anew."""
    QUEUE_FULL = "queue_full"
    """Engine, 409: the room holds as many pending requests or invitations as it may."""
    CONFLICT = "conflict"
    """Engine, 409: the state does not allow this now."""

    # -- engine: 429, 503, 500 ------------------------------------------------------------------
    RATE_LIMITED = "rate_limited"
    """Engine, 429: slow down (``retry_after`` says for how long)."""
    STORAGE_UNAVAILABLE = "storage_unavailable"
    """Engine, 503: it cannot use its database now; retry later."""

    INTERNAL = "internal"
    """Engine, 500: a bug of the engine (its log has the traceback)."""

    # -- SDK: transport -----------------------------------------------------------------------
    NETWORK = "network"
    """SDK: no answer arrived (connection refused or broken)."""
    TIMEOUT = "timeout"
    """SDK: no answer (or no grant, or no view change) in time."""
    INVALID_RESPONSE = "invalid_response"
    """SDK: the engine answered with something the contract does not allow."""
    UNAUTHENTICATED = "unauthenticated"
    """SDK: a privileged request without a bearer; authenticate first."""
    TOKEN_PROVIDER = "token_provider"
    """SDK: the app's token provider returned no identity token."""

    # -- SDK: sessions and rooms ----------------------------------------------------------------
    CLOSED = "closed"
    """SDK: the session or client is closed."""
    WRONG_LOOP = "wrong_loop"
    """SDK: used from another event loop than its own."""
    NOT_CONNECTED = "not_connected"
    """SDK: a room command on a session out of its room; ``rejoin()`` first."""
    ALREADY_CONNECTED = "already_connected"
    """SDK: the room is connected or connecting already."""
    CONNECT_FAILED = "connect_failed"
    """SDK: LiveKit could not be reached or refused the connection."""
    NOT_PERMITTED = "not_permitted"
    """SDK: the engine has not granted publishing that source (LiveKit is not asked)."""
    PUBLISH_FAILED = "publish_failed"
    """SDK: LiveKit refused to publish a track."""
    SEND_FAILED = "send_failed"
    """SDK: LiveKit refused to send a data message."""
    VIDEO_NOT_SUPPORTED = "video_not_supported"
    """SDK: an audio-only session cannot publish a camera."""
    NOT_SUPPORTED = "not_supported"
    """SDK: this session kind cannot do that (a call session cannot ``rejoin()`` a room)."""
    CALL_IN_PROGRESS = "call_in_progress"
    """SDK: the call session already has a live call."""
    NO_DEVICE = "no_device"
    """SDK: no such microphone or camera on this machine."""
    MISSING_DEPENDENCY = "missing_dependency"
    """SDK: an optional package is not installed."""

    @classmethod
    def parse(cls, code: str | None) -> ErrorCode | str | None:
        """``code`` as a member when it is a known one, else unchanged (an engine newer than
        this SDK may send codes it does not know yet)."""
        if code is None or isinstance(code, ErrorCode):
            return code
        try:
            return cls(code)
        except ValueError:
            return code


# Everything above ``NETWORK`` in the class is an engine code (``openapi.yaml`` lists the same set).
_FIRST_SDK_CODE = list(ErrorCode).index(ErrorCode.NETWORK)

ENGINE_CODES: frozenset[ErrorCode] = frozenset(list(ErrorCode)[:_FIRST_SDK_CODE])
"""The codes the engine answers with; the others are raised by the SDK itself."""
