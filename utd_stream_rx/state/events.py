"""The one vocabulary of things that can change a session's state.

Every event is a frozen attrs class holding plain data (identities, strings, frozen
snapshots), never a live ``livekit.rtc`` object, so the reducers stay pure and events can be
recorded, replayed and compared. Three sources feed the same stream:

- LiveKit room callbacks, converted by :class:`~utd_stream_rx.room.UTDRoom`;
- REST results from the engine (:class:`RoomStateReceived`, :class:`CallUpdated`, ...);
- local intents (:class:`CallStartRequested`, :class:`LeaveRequested`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs
import immutables

from ..errors import UTDStreamException
from ..models import UTDCall, UTDRoomState

__all__ = [
    "ActiveSpeakersChanged",
    "CallAcceptRequested",
    "CallStartRequested",
    "CallUpdated",
    "CommandFailed",
    "Connected",
    "Connecting",
    "ConnectionQualityChanged",
    "DataReceived",
    "Disconnected",
    "Event",
    "LeaveRequested",
    "LocalTrackPublished",
    "LocalTrackUnpublished",
    "ParticipantAttributesChanged",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantMetadataChanged",
    "ParticipantNameChanged",
    "ParticipantSnapshot",
    "PermissionSnapshot",
    "PermissionsChanged",
    "Reconnected",
    "Reconnecting",
    "RoomMetadataChanged",
    "RoomStateReceived",
    "TokenMinted",
    "TrackKindName",
    "TrackMuted",
    "TrackPublished",
    "TrackSnapshot",
    "TrackSubscribed",
    "TrackSubscriptionFailed",
    "TrackUnmuted",
    "TrackUnpublished",
    "TrackUnsubscribed",
]

TrackKindName = Literal["audio", "video"]
"""The kind of a track as events carry it."""


def freeze_mapping(value: Mapping[str, str] | None) -> immutables.Map[str, str]:
    """An immutable (and hashable) copy of ``value``; an ``immutables.Map`` is kept as is."""
    if isinstance(value, immutables.Map):
        return value
    return immutables.Map(value or {})


# -- snapshots --------------------------------------------------------------------------------


@attrs.frozen
class TrackSnapshot:
    """One published track, as plain data.

    Attributes:
        sid: LiveKit's track (publication) sid.
        kind: ``"audio"`` or ``"video"``.
        source: ``"microphone"``, ``"camera"``, ``"screen_share"``, ``"screen_share_audio"``
            or ``"unknown"``.
        muted: Whether the publisher muted it.
        subscribed: Whether this client receives it (always ``False`` for local tracks).
    """

    sid: str
    kind: TrackKindName
    source: str = "unknown"
    muted: bool = False
    subscribed: bool = False


@attrs.frozen
class PermissionSnapshot:
    """What LiveKit currently allows a participant to do.

    An empty ``can_publish_sources`` means every source is allowed (LiveKit's convention).
    """

    can_publish: bool = False
    can_publish_sources: tuple[str, ...] = ()
    can_subscribe: bool = True
    can_publish_data: bool = False

    def allows(self, source: str) -> bool:
        """True when publishing from ``source`` (e.g. ``"microphone"``) is allowed."""
        return self.can_publish and (
            not self.can_publish_sources or source in self.can_publish_sources
        )


def as_permission(value: PermissionSnapshot | bool) -> PermissionSnapshot:
    """``value`` as a :class:`PermissionSnapshot`; a bool is shorthand for a grant (or revoke)
    of publishing with LiveKit's defaults for the rest, ``PermissionSnapshot(can_publish=value)``.
    """
    if isinstance(value, PermissionSnapshot):
        return value
    return PermissionSnapshot(can_publish=bool(value))


@attrs.frozen
class ParticipantSnapshot:
    """A participant as plain data: who they are, their attributes, permission and tracks.

    ``attributes`` is an immutable mapping (participant attributes such as ``utd.role`` and
    ``utd.seat`` set by the engine). ``permissions`` accepts a bool as shorthand, as
    :class:`~utd_stream_rx.state.events.PermissionsChanged` does.
    """

    identity: str
    name: str = ""
    metadata: str = ""
    attributes: Mapping[str, str] = attrs.field(
        factory=immutables.Map, converter=freeze_mapping
    )
    permissions: PermissionSnapshot = attrs.field(
        default=PermissionSnapshot(), converter=as_permission
    )
    tracks: tuple[TrackSnapshot, ...] = ()

    @property
    def can_publish(self) -> bool:
        """Whether LiveKit lets this participant publish (``permissions.can_publish``)."""
        return self.permissions.can_publish

    def track(self, sid: str) -> TrackSnapshot | None:
        """The track with ``sid``, or ``None``."""
        for track in self.tracks:
            if track.sid == sid:
                return track
        return None


# -- base -------------------------------------------------------------------------------------


@attrs.frozen
class Event:
    """Base of every event in the store's stream."""


# -- connection -------------------------------------------------------------------------------


@attrs.frozen
class Connecting(Event):
    """``UTDRoom.connect`` started."""

    url: str = ""


@attrs.frozen
class Connected(Event):
    """The room is connected; snapshots of everything known at that moment.

    Attributes:
        local_identity: This participant's identity.
        permissions: The local participant's permissions.
        participants: Every remote participant, with their tracks.
        metadata: The room metadata (the engine's RoomState JSON, or ``""``).
        local: The local participant's own snapshot (name, attributes, ...), if known.
    """

    local_identity: str
    permissions: PermissionSnapshot = PermissionSnapshot()
    participants: tuple[ParticipantSnapshot, ...] = ()
    metadata: str = ""
    local: ParticipantSnapshot | None = None


@attrs.frozen
class Reconnecting(Event):
    """The connection dropped; LiveKit is trying to resume it."""


@attrs.frozen
class Reconnected(Event):
    """The connection is back, with a fresh roster to reconcile against.

    Participants who left during the outage are absent from ``participants`` and disappear
    from the state; ``None`` fields mean "unknown, keep what you have".
    """

    participants: tuple[ParticipantSnapshot, ...] = ()
    metadata: str | None = None
    permissions: PermissionSnapshot | None = None
    local: ParticipantSnapshot | None = None


@attrs.frozen
class Disconnected(Event):
    """The room is gone (left, kicked, failed to connect, room deleted)."""

    reason: str = "unknown"


@attrs.frozen
class ConnectionQualityChanged(Event):
    """A participant's connection quality (``excellent``, ``good``, ``poor``, ``lost``)."""

    identity: str
    quality: str
    is_local: bool = False


# -- participants ----------------------------------------------------------------------------


@attrs.frozen
class ParticipantJoined(Event):
    """A remote participant joined."""

    participant: ParticipantSnapshot


@attrs.frozen
class ParticipantLeft(Event):
    """A remote participant left."""

    identity: str


@attrs.frozen
class ParticipantAttributesChanged(Event):
    """A participant's attributes changed; ``attributes`` is the complete set afterwards."""

    identity: str
    attributes: Mapping[str, str] = attrs.field(
        factory=immutables.Map, converter=freeze_mapping
    )
    changed: Mapping[str, str] = attrs.field(factory=immutables.Map, converter=freeze_mapping)
    is_local: bool = False


@attrs.frozen
class ParticipantMetadataChanged(Event):
    """A participant's metadata string changed."""

    identity: str
    metadata: str
    is_local: bool = False


@attrs.frozen
class ParticipantNameChanged(Event):
    """A participant's display name changed."""

    identity: str
    name: str
    is_local: bool = False


@attrs.frozen
class PermissionsChanged(Event):
    """LiveKit changed a participant's permissions (the engine's grant or revoke).

    Attributes:
        identity: Whose permission changed.
        permissions: The complete permission afterwards (a bool is accepted as shorthand for
            ``PermissionSnapshot(can_publish=...)``).
        is_local: Whether it is the local participant's own.
    """

    identity: str
    permissions: PermissionSnapshot = attrs.field(converter=as_permission)
    is_local: bool = False


# -- tracks -----------------------------------------------------------------------------------


@attrs.frozen
class TrackPublished(Event):
    """A remote participant published a track."""

    identity: str
    track: TrackSnapshot


@attrs.frozen
class TrackUnpublished(Event):
    """A remote participant unpublished a track."""

    identity: str
    sid: str


@attrs.frozen
class TrackSubscribed(Event):
    """This client started receiving a remote track."""

    identity: str
    track: TrackSnapshot


@attrs.frozen
class TrackUnsubscribed(Event):
    """This client stopped receiving a remote track."""

    identity: str
    sid: str


@attrs.frozen
class TrackMuted(Event):
    """A track was muted (remote, or the local participant's own)."""

    identity: str
    sid: str
    is_local: bool = False


@attrs.frozen
class TrackUnmuted(Event):
    """A track was unmuted (remote, or the local participant's own)."""

    identity: str
    sid: str
    is_local: bool = False


@attrs.frozen
class TrackSubscriptionFailed(Event):
    """Subscribing to a remote track failed."""

    identity: str
    sid: str
    error: str = ""


@attrs.frozen
class LocalTrackPublished(Event):
    """The local participant published a track."""

    track: TrackSnapshot


@attrs.frozen
class LocalTrackUnpublished(Event):
    """A local track was unpublished (by us, or by LiveKit after a revoke)."""

    sid: str


# -- room -------------------------------------------------------------------------------------


@attrs.frozen
class ActiveSpeakersChanged(Event):
    """Who is speaking now, loudest first (may include the local identity)."""

    identities: tuple[str, ...] = ()


@attrs.frozen
class RoomMetadataChanged(Event):
    """The room metadata changed; the engine keeps its versioned RoomState JSON there."""

    metadata: str


@attrs.frozen
class DataReceived(Event):
    """A data message. ``sender`` is ``None`` when the server (the engine) sent it."""

    payload: bytes
    sender: str | None = None
    topic: str | None = None
    reliable: bool = True


# -- REST results -----------------------------------------------------------------------------


@attrs.frozen
class RoomStateReceived(Event):
    """The engine answered a room command with its room state."""

    state: UTDRoomState


@attrs.frozen
class CallUpdated(Event):
    """The engine reported a call (REST answer, call event stream or data message)."""

    call: UTDCall


@attrs.frozen
class TokenMinted(Event):
    """The engine minted a room token (the token itself is deliberately not carried)."""

    room_name: str
    url: str = ""
    identity: str | None = None


# -- local intents ----------------------------------------------------------------------------


@attrs.frozen
class CallStartRequested(Event):
    """The app asked to call ``callee_identity``."""

    callee_identity: str


@attrs.frozen
class CallAcceptRequested(Event):
    """The app asked to accept the call ``call_id``."""

    call_id: str


@attrs.frozen
class LeaveRequested(Event):
    """The app asked to leave the room."""


@attrs.frozen
class CommandFailed(Event):
    """A command failed; recorded as ``last_error`` without touching anything else."""

    command: str
    error: UTDStreamException
