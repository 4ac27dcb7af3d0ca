"""The engine's notifications, as typed events.

The engine tells individual participants what concerns them (an invitation, a denial, a
removal, the end of the room) with reliable data messages sent by the server itself, each on a
``utd.*`` topic with a JSON body. :func:`decode_notice` turns such a message into one of the
events below, which then travel on ``session.events`` beside the raw
:class:`~utd_stream_rx.state.events.DataReceived`.

Only the engine's messages count: LiveKit marks a message sent by a participant with that
participant's identity, while the engine's have no sender. A message on a ``utd.*`` topic from
a participant is a forgery and is dropped, and so is one whose body does not match its topic.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs
import cattrs

from ..models import UTDSeatInvitation, UTDSpeakRequest, UTDStageRequest, converter
from .events import DataReceived, Event

__all__ = [
    "NOTICE_TOPICS",
    "EngineNotice",
    "ParticipantBanned",
    "ParticipantRemoved",
    "RoomEnded",
    "SeatInvitationAccepted",
    "SeatInvitationDeclined",
    "SeatInvitationReceived",
    "SpeakRequestDenied",
    "SpeakRequestExpired",
    "SpeakRequestReceived",
    "StageInvitationAccepted",
    "StageInvitationDeclined",
    "StageInvitationReceived",
    "StageRequestDenied",
    "StageRequestExpired",
    "StageRequestReceived",
    "decode_notice",
]

log = logging.getLogger(__name__)

_text = attrs.validators.instance_of(str)
_optional_text = attrs.validators.optional(_text)


def _is_count(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative integer")


def _is_optional_count(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _is_count(instance, attribute, value)


@attrs.frozen
class EngineNotice(Event):
    """Base of the engine's notifications.

    Attributes:
        version: The room version the notification belongs to (``0`` when not given).
    """


# -- live stream stage ------------------------------------------------------------------------


@attrs.frozen
class StageRequestReceived(EngineNotice):
    """Host: a viewer asked to come on stage."""

    request: UTDStageRequest
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class StageInvitationReceived(EngineNotice):
    """Viewer: the host invited this participant to the stage.

    ``direct`` is true when the host put them on stage at once (no answer is expected);
    otherwise answer with ``accept_stage_invitation`` or ``decline_stage_invitation``.
    """

    identity: str = attrs.field(validator=_text)
    invited_by: str | None = attrs.field(default=None, validator=_optional_text)
    direct: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class StageInvitationAccepted(EngineNotice):
    """Host: the invited viewer accepted and is on stage."""

    identity: str = attrs.field(validator=_text)
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class StageInvitationDeclined(EngineNotice):
    """Host: the invited viewer declined."""

    identity: str = attrs.field(validator=_text)
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class StageRequestDenied(EngineNotice):
    """Viewer: the host said no to this participant's request to come on stage."""

    identity: str = attrs.field(validator=_text)
    reason: str | None = attrs.field(default=None, validator=_optional_text)
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class StageRequestExpired(EngineNotice):
    """Viewer: this participant's request to come on stage waited too long and is gone."""

    identity: str = attrs.field(validator=_text)
    version: int = attrs.field(default=0, validator=_is_count)


# -- audio room seats -------------------------------------------------------------------------


@attrs.frozen
class SpeakRequestReceived(EngineNotice):
    """Host: a listener asked to speak."""

    request: UTDSpeakRequest
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class SeatInvitationReceived(EngineNotice):
    """Listener: the host invited this participant to a seat."""

    invitation: UTDSeatInvitation
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class SeatInvitationAccepted(EngineNotice):
    """Host: the invited listener accepted and holds seat ``seat_index``."""

    identity: str = attrs.field(validator=_text)
    seat_index: int | None = attrs.field(default=None, validator=_is_optional_count)
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class SeatInvitationDeclined(EngineNotice):
    """Host: the invited listener declined."""

    identity: str = attrs.field(validator=_text)
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class SpeakRequestDenied(EngineNotice):
    """Listener: the host said no to this participant's request to speak."""

    request_id: int = attrs.field(validator=_is_count)
    identity: str = attrs.field(validator=_text)
    reason: str | None = attrs.field(default=None, validator=_optional_text)
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class SpeakRequestExpired(EngineNotice):
    """Listener: this participant's request to speak waited too long and is gone."""

    request_id: int = attrs.field(validator=_is_count)
    identity: str = attrs.field(validator=_text)
    version: int = attrs.field(default=0, validator=_is_count)


# -- any room ---------------------------------------------------------------------------------


@attrs.frozen
class ParticipantRemoved(EngineNotice):
    """This participant is being removed from the room by the host (LiveKit disconnects it
    right after)."""

    identity: str = attrs.field(validator=_text)
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class ParticipantBanned(EngineNotice):
    """This participant is banned from the room by the host (and disconnected right after)."""

    identity: str = attrs.field(validator=_text)
    version: int = attrs.field(default=0, validator=_is_count)


@attrs.frozen
class RoomEnded(EngineNotice):
    """The host ended the room for everyone; LiveKit closes it right after."""

    reason: str | None = attrs.field(default=None, validator=_optional_text)
    version: int = attrs.field(default=0, validator=_is_count)


NOTICE_TOPICS: Final[Mapping[str, type[EngineNotice]]] = MappingProxyType(
    {
        "utd.stage.request": StageRequestReceived,
        "utd.stage.invite": StageInvitationReceived,
        "utd.stage.invite.accepted": StageInvitationAccepted,
        "utd.stage.invite.declined": StageInvitationDeclined,
        "utd.stage.request.denied": StageRequestDenied,
        "utd.stage.request.expired": StageRequestExpired,
        "utd.seat.request": SpeakRequestReceived,
        "utd.seat.invite": SeatInvitationReceived,
        "utd.seat.invite.accepted": SeatInvitationAccepted,
        "utd.seat.invite.declined": SeatInvitationDeclined,
        "utd.seat.request.denied": SpeakRequestDenied,
        "utd.seat.request.expired": SpeakRequestExpired,
        "utd.participant.removed": ParticipantRemoved,
        "utd.participant.banned": ParticipantBanned,
        "utd.room.ended": RoomEnded,
    }
)
"""Each notification topic of the engine, with the event its body decodes to."""


def decode_notice(message: DataReceived) -> EngineNotice | None:
    """The engine notification ``message`` carries, or ``None``: not a notification topic, sent
    by a participant (a forgery: only the engine's messages have no sender), or a body that is
    not the topic's (each such drop is logged at debug level)."""
    kind = NOTICE_TOPICS.get(message.topic or "")
    if kind is None:
        return None
    if message.sender is not None:
        log.debug("dropped a %s message from participant %s", message.topic, message.sender)
        return None
    try:
        body = json.loads(message.payload)
        if not isinstance(body, dict):
            raise ValueError("the body is not a JSON object")
        return converter.structure(body, kind)
    except (ValueError, TypeError, KeyError, cattrs.BaseValidationError) as exc:
        log.debug("dropped a malformed %s message: %s", message.topic, exc)
        return None
