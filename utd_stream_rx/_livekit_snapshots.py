"""LiveKit's live objects as the plain, frozen snapshots that events carry.

A ``livekit.rtc`` participant or publication changes under our feet as LiveKit processes
more events; a snapshot is a copy of what it said at one moment, safe to keep in a state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from livekit import rtc

from .state import events as ev
from .state.events import ParticipantSnapshot, PermissionSnapshot, TrackSnapshot

if TYPE_CHECKING:
    # LiveKit exports no name for the message its ``Participant.permissions`` returns.
    from livekit.rtc._proto.participant_pb2 import ParticipantPermission

__all__ = [
    "is_local",
    "participant_snapshot",
    "participant_snapshots",
    "permission_snapshot",
    "quality_name",
    "reason_name",
    "source_name",
    "track_snapshot",
]

_SOURCE_NAMES: dict[int, str] = {
    rtc.TrackSource.SOURCE_UNKNOWN: "unknown",
    rtc.TrackSource.SOURCE_CAMERA: "camera",
    rtc.TrackSource.SOURCE_MICROPHONE: "microphone",
    rtc.TrackSource.SOURCE_SCREENSHARE: "screen_share",
    rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO: "screen_share_audio",
}

_QUALITY_NAMES: dict[int, str] = {
    rtc.ConnectionQuality.QUALITY_EXCELLENT: "excellent",
    rtc.ConnectionQuality.QUALITY_GOOD: "good",
    rtc.ConnectionQuality.QUALITY_POOR: "poor",
    rtc.ConnectionQuality.QUALITY_LOST: "lost",
}


def source_name(source: int) -> str:
    """The name events use for a LiveKit track source (``"microphone"``, ``"camera"``...)."""
    return _SOURCE_NAMES.get(source, "unknown")


def quality_name(quality: int) -> str:
    """The name events use for a LiveKit connection quality (``"good"``...), or ``"unknown"``."""
    return _QUALITY_NAMES.get(int(quality), "unknown")


def reason_name(reason: Any) -> str:
    """A LiveKit disconnect reason as lower-case text (``"room_deleted"``...)."""
    try:
        return str(rtc.DisconnectReason.Name(reason)).lower()
    except (ValueError, TypeError):
        return str(reason)


def is_local(participant: rtc.Participant) -> bool:
    """Whether ``participant`` is this client's own participant."""
    return isinstance(participant, rtc.LocalParticipant)


def track_snapshot(publication: rtc.TrackPublication) -> TrackSnapshot:
    """A publication as it is now (local publications are never ``subscribed``)."""
    kind: ev.TrackKindName = "video" if publication.kind == rtc.TrackKind.KIND_VIDEO else "audio"
    subscribed = bool(getattr(publication, "subscribed", False))
    return TrackSnapshot(
        publication.sid, kind, source_name(publication.source), publication.muted, subscribed
    )


def permission_snapshot(permission: ParticipantPermission) -> PermissionSnapshot:
    """LiveKit's permission message as plain data."""
    return PermissionSnapshot(
        can_publish=bool(permission.can_publish),
        can_publish_sources=tuple(source_name(s) for s in permission.can_publish_sources),
        can_subscribe=bool(permission.can_subscribe),
        can_publish_data=bool(permission.can_publish_data),
    )


def participant_snapshot(participant: rtc.Participant) -> ParticipantSnapshot:
    """A participant as it is now: identity, name, metadata, attributes, permission, tracks."""
    return ParticipantSnapshot(
        identity=participant.identity,
        name=participant.name,
        metadata=participant.metadata,
        attributes=dict(participant.attributes),
        permissions=permission_snapshot(participant.permissions),
        tracks=tuple(track_snapshot(p) for p in participant.track_publications.values()),
    )


def participant_snapshots(
    participants: Iterable[rtc.Participant],
) -> tuple[ParticipantSnapshot, ...]:
    """A snapshot of each participant, in order."""
    return tuple(participant_snapshot(p) for p in participants)
