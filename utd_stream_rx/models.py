"""Value types exchanged with the engine, and the one converter that reads and writes them.

Every model is a frozen attrs class: safe to share between the store, views and user code.
Collections are tuples for the same reason. The engine speaks snake_case JSON; unknown extra
fields are ignored so that a newer engine never breaks an older SDK, while a missing or
malformed required field raises :class:`~utd_stream_rx.UTDStreamException` with code
``invalid_response`` naming the field.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import cattrs

from ._strict_decoding import describe_failure, make_strict_converter
from .errors import ErrorCode, UTDStreamException

__all__ = [
    "UTDCall",
    "UTDCallEndReason",
    "UTDCallStatus",
    "UTDRoomState",
    "UTDSeat",
    "UTDSeatGrid",
    "UTDSeatInvitation",
    "UTDSeatMode",
    "UTDSeatPlace",
    "UTDSeatStatus",
    "UTDSpeakRequest",
    "UTDStageInvitation",
    "UTDStageMember",
    "UTDStageRequest",
    "UTDStageStatus",
    "UTDStreamType",
    "UTDTokenResponse",
    "UTDUserToken",
    "converter",
    "structure",
    "unstructure",
]

T = TypeVar("T")


class UTDStreamType(enum.Enum):
    """The four session kinds; the value is the engine's wire name."""

    AUDIO_CALL = "audio_call"
    VIDEO_CALL = "video_call"
    LIVE_STREAM = "live_stream"
    AUDIO_ROOM = "audio_room"

    @property
    def wire(self) -> str:
        """The engine's name for this type (same as ``value``)."""
        return self.value

    @property
    def is_call(self) -> bool:
        """True for the 1:1 kinds (audio and video call)."""
        return self in (UTDStreamType.AUDIO_CALL, UTDStreamType.VIDEO_CALL)

    @property
    def has_video(self) -> bool:
        """True for the kinds that publish a camera (video call, live stream)."""
        return self in (UTDStreamType.VIDEO_CALL, UTDStreamType.LIVE_STREAM)


class UTDCallStatus(enum.Enum):
    """Lifecycle of a 1:1 call: ``initiating -> ringing -> active -> ended``.

    ``rejected``, ``busy`` and ``missed`` end a call that never became active.
    """

    INITIATING = "initiating"
    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"
    REJECTED = "rejected"
    BUSY = "busy"
    MISSED = "missed"

    @property
    def is_terminal(self) -> bool:
        """True once the call is over and no further status can follow."""
        return self in _TERMINAL_CALL_STATUSES


_TERMINAL_CALL_STATUSES = frozenset(
    {UTDCallStatus.ENDED, UTDCallStatus.REJECTED, UTDCallStatus.BUSY, UTDCallStatus.MISSED}
)


class UTDCallEndReason(enum.StrEnum):
    """Why a call ended, as the engine records it in ``UTDCall.end_reason``.

    An app may also give a reason of its own (any text of 1-64 characters) when it rejects or
    ends a call; ``end_reason`` then holds that text. A member compares equal to its text.
    """

    DECLINED = "declined"
    """The callee rejected the call (the default reason of ``reject``)."""
    BUSY = "busy"
    """The callee was busy (``busy``, or the engine answered for a ``reject_when_busy`` user)."""
    CANCELLED = "cancelled"
    """The caller ended (or left) the call before it was answered."""
    TIMEOUT = "timeout"
    """Nobody answered within the engine's ring timeout (status ``missed``)."""
    HUNG_UP = "hung_up"
    """A party ended (or left) an active call."""
    FAILED = "failed"
    """The call could not go on: a party could not join, never came back, or was banned."""


MAX_END_REASON = 64
"""Longest end reason (characters) an app may give."""


class UTDSeatMode(enum.Enum):
    """How listeners get a seat: ``free`` (take any empty seat) or ``request`` (host approves)."""

    FREE = "free"
    REQUEST = "request"


@attrs.frozen
class UTDTokenResponse:
    """A room token minted by the engine (``POST /api/v1/token``).

    Attributes:
        token: The LiveKit access token (JWT) for the room.
        url: The LiveKit server URL to connect to.
        room_name: The room name as the app speaks it (without the engine's app prefix).
        user_token: The engine bearer for privileged calls made by this identity.
        ws_url: An explicit websocket URL when it differs from ``url``.
        user_token_expires_at: When ``user_token`` expires (Unix seconds), if the engine says.
        identity: The identity the engine verified, if it says.
    """

    token: str
    url: str
    room_name: str
    user_token: str
    ws_url: str | None = None
    user_token_expires_at: float | None = None
    identity: str | None = None

    @property
    def connect_url(self) -> str:
        """The URL to hand to LiveKit: ``ws_url`` when given, else ``url``."""
        return self.ws_url or self.url


@attrs.frozen
class UTDUserToken:
    """A room-less bearer for one identity (``POST /api/v1/auth/user-token``)."""

    user_token: str
    identity: str
    expires_at: float


@attrs.frozen
class UTDCall:
    """A 1:1 call as the engine reports it.

    ``token`` and ``url`` are present only in the answer to the party joining the call room
    (``create`` for the caller, ``accept`` for the callee). ``version`` grows with every change,
    so the newer of two reports about the same call wins. ``updated_at`` is the engine's time of
    the last change (``None`` from an engine that does not send it).
    """

    call_id: str
    status: UTDCallStatus
    type: UTDStreamType
    room_name: str | None = None
    token: str | None = None
    url: str | None = None
    caller_identity: str | None = None
    caller_name: str | None = None
    callee_identity: str | None = None
    callee_name: str | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 0
    created_at: float | None = None
    updated_at: float | None = None
    end_reason: str | None = None


@attrs.frozen
class UTDStageMember:
    """A publisher of a live stream: the host or a co-publisher on stage."""

    identity: str
    name: str | None = None
    role: str | None = None


@attrs.frozen
class UTDStageRequest:
    """A viewer's raised hand, waiting for the host to invite them to the stage."""

    request_id: int
    identity: str
    name: str | None = None
    created_at: float | None = None


@attrs.frozen
class UTDStageInvitation:
    """The host's invitation for a viewer to come on stage, waiting for the viewer's answer."""

    identity: str
    invited_by: str | None = None
    created_at: float | None = None


class UTDStageStatus(enum.Enum):
    """This participant's own place in a live stream's stage flow."""

    OFF = "off"
    """A viewer with no request and no invitation."""
    REQUESTED = "requested"
    """A viewer whose request to come on stage waits for the host."""
    INVITED = "invited"
    """A viewer the host invited; waiting for this participant's answer."""
    ON = "on"
    """On stage (the host, or a co-publisher)."""


@attrs.frozen
class UTDSeat:
    """One seat of an audio room. ``identity`` is the holder, ``None`` when empty."""

    index: int
    identity: str | None = None
    name: str | None = None
    locked: bool = False
    muted: bool = False

    @property
    def is_free(self) -> bool:
        """True when nobody holds the seat and it is not locked."""
        return self.identity is None and not self.locked


@attrs.frozen
class UTDSeatGrid:
    """The seat grid of an audio room, stamped with the engine's room version."""

    count: int
    mode: UTDSeatMode
    seats: tuple[UTDSeat, ...] = ()
    mode_id: str | None = None
    version: int = 0

    def seat_of(self, identity: str) -> UTDSeat | None:
        """The seat held by ``identity``, or ``None``."""
        for seat in self.seats:
            if seat.identity == identity:
                return seat
        return None

    @property
    def holders(self) -> tuple[str, ...]:
        """Identities holding a seat, in seat order."""
        return tuple(seat.identity for seat in self.seats if seat.identity is not None)


@attrs.frozen
class UTDSpeakRequest:
    """A listener's request to speak in an audio room, pending the host's approval."""

    request_id: int
    identity: str
    seat_index: int | None = None
    name: str | None = None
    created_at: float | None = None


@attrs.frozen
class UTDSeatInvitation:
    """The host's invitation for ``identity`` to take a seat (``seat_index`` or any free one)."""

    identity: str
    seat_index: int | None = None
    invited_by: str | None = None
    created_at: float | None = None


class UTDSeatPlace(enum.Enum):
    """Where this participant is in an audio room's seat flow."""

    LISTENER = "listener"
    """No seat, no request, no invitation."""
    REQUESTED = "requested"
    """A request to speak waits for the host."""
    INVITED = "invited"
    """The host invited this participant to a seat; waiting for their answer."""
    SEATED = "seated"
    """Holds a seat (and may speak)."""


@attrs.frozen
class UTDSeatStatus:
    """This participant's own place in an audio room: where (:class:`UTDSeatPlace`) and which
    seat (the seat held, the seat asked for or the seat offered; ``None`` when none is named).
    """

    place: UTDSeatPlace = UTDSeatPlace.LISTENER
    seat_index: int | None = None

    @property
    def is_seated(self) -> bool:
        """True while this participant holds a seat."""
        return self.place is UTDSeatPlace.SEATED


@attrs.frozen
class UTDRoomState:
    """Everything the engine owns about one room, at one ``version``.

    The engine answers every room command with this snapshot and writes the same JSON into the
    LiveKit room metadata, so a REST result and a metadata event are compared by ``version``.

    Pending requests are listed in full only by the ``GET`` endpoints. The metadata and command
    answers list them while there are few (16 or fewer); past that, ``requests_omitted`` is true,
    the lists are empty and ``requests_version`` tells whether the lists held are still current.

    Attributes:
        stage_invitations: Open invitations to the stage, waiting for the viewers' answers.
        requests_version: The room version at which the pending requests last changed.
        requests_omitted: True when this snapshot leaves the request lists out.
        ended: True once the host ended the room (``end_room``): nobody is in it and only a
            host can start it anew.
        grant_applied: Only in the answer to a command that gave the caller a new grant (a
            seat taken, an invitation accepted, a place on stage): True when LiveKit had
            confirmed that grant before the engine answered, so the caller may publish at once
            rather than wait for its own permission event. False in room metadata.
    """

    room_name: str
    type: UTDStreamType
    version: int
    host_identity: str | None = None
    seats: UTDSeatGrid | None = None
    stage: tuple[UTDStageMember, ...] = ()
    stage_requests: tuple[UTDStageRequest, ...] = ()
    speak_requests: tuple[UTDSpeakRequest, ...] = ()
    invitations: tuple[UTDSeatInvitation, ...] = ()
    call: UTDCall | None = None
    requests_version: int = 0
    requests_omitted: bool = False
    stage_invitations: tuple[UTDStageInvitation, ...] = ()
    ended: bool = False
    grant_applied: bool = False


converter: cattrs.Converter = make_strict_converter()
"""The cattrs converter for the engine's JSON: strict (a value is taken only when it already has
its field's type: no ``"false"`` for a bool, no ``1.9`` for an int, no ``123`` for a text),
enums by value, tuples from lists, unknown extra keys ignored."""


def structure(data: object, cls: type[T]) -> T:
    """Build ``cls`` from engine JSON, or raise ``UTDStreamException(code="invalid_response")``.

    The message names each offending field by its path, e.g. ``call_id: required field
    missing`` or ``seats.seats[2].locked: expected bool, got str 'false'``.
    """
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        problems = "; ".join(describe_failure(exc))
        raise UTDStreamException(
            f"The engine sent an invalid {cls.__name__}: {problems}",
            code=ErrorCode.INVALID_RESPONSE,
        ) from exc


def unstructure(obj: object) -> Any:
    """Turn a model into JSON-ready builtins (the inverse of :func:`structure`)."""
    return converter.unstructure(obj)
