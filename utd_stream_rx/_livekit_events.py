"""LiveKit's room callbacks as typed state events: one converter per LiveKit event, one table.

Each :class:`LiveKitEventConverter` method takes the arguments ``rtc.Room`` passes for the
LiveKit event of the same name and returns an event of plain data (or ``None`` when there is
nothing to report). :data:`LIVEKIT_EVENTS` maps LiveKit's event names to those methods, and
:class:`RoomEventSubscription` registers one listener per entry on a room and removes them
again. Nothing here dispatches or keeps state: the subscriber decides what to do with the events.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs
from livekit import rtc
from livekit.rtc.room import EventTypes

from ._livekit_snapshots import (
    is_local,
    participant_snapshot,
    participant_snapshots,
    permission_snapshot,
    quality_name,
    reason_name,
    track_snapshot,
)
from .state import events as ev

if TYPE_CHECKING:
    from livekit.rtc._proto.participant_pb2 import ParticipantPermission

__all__ = [
    "LIVEKIT_EVENTS",
    "Converter",
    "LiveKitEventConverter",
    "LiveKitListener",
    "LiveKitRoomView",
    "RoomEventSubscription",
    "connected_event",
    "reconnected_event",
]

log = logging.getLogger(__name__)

Converter = Callable[..., "ev.Event | None"]
"""A converter as the table holds it: unbound, taking the converter and LiveKit's arguments."""


class LiveKitRoomView(Protocol):
    """What the converters read from the room itself (``rtc.Room`` provides it)."""

    @property
    def local_participant(self) -> rtc.LocalParticipant:
        """This client's participant."""
        ...

    @property
    def remote_participants(self) -> Mapping[str, rtc.RemoteParticipant]:
        """The other participants by identity."""
        ...

    @property
    def metadata(self) -> str:
        """The room metadata."""
        ...


def connected_event(room: LiveKitRoomView) -> ev.Connected:
    """Everything known about a room the moment it connected."""
    local = room.local_participant
    return ev.Connected(
        local_identity=local.identity,
        permissions=permission_snapshot(local.permissions),
        participants=participant_snapshots(room.remote_participants.values()),
        metadata=room.metadata,
        local=participant_snapshot(local),
    )


def reconnected_event(room: LiveKitRoomView) -> ev.Reconnected:
    """The roster, metadata and own permission of a room whose connection came back."""
    local = room.local_participant
    return ev.Reconnected(
        participants=participant_snapshots(room.remote_participants.values()),
        metadata=room.metadata,
        permissions=permission_snapshot(local.permissions),
        local=participant_snapshot(local),
    )


class LiveKitEventConverter:
    """Converts one room's LiveKit callbacks; each method is named after its LiveKit event."""

    def __init__(self, room: LiveKitRoomView) -> None:
        self._room = room

    # -- participants -----------------------------------------------------------------------

    def participant_connected(self, participant: rtc.RemoteParticipant) -> ev.ParticipantJoined:
        """A remote participant joined, with their tracks at that moment."""
        return ev.ParticipantJoined(participant_snapshot(participant))

    def participant_disconnected(self, participant: rtc.RemoteParticipant) -> ev.ParticipantLeft:
        """A remote participant left."""
        return ev.ParticipantLeft(participant.identity)

    def participant_permissions_changed(
        self, participant: rtc.Participant, permission: ParticipantPermission
    ) -> ev.PermissionsChanged:
        """A participant's permission changed (local or remote)."""
        return ev.PermissionsChanged(
            participant.identity, permission_snapshot(permission), is_local=is_local(participant)
        )

    def participant_attributes_changed(
        self, changed: Mapping[str, str], participant: rtc.Participant
    ) -> ev.ParticipantAttributesChanged:
        """A participant's attributes changed: the complete set afterwards and the changes."""
        return ev.ParticipantAttributesChanged(
            participant.identity,
            dict(participant.attributes),
            dict(changed),
            is_local=is_local(participant),
        )

    def participant_metadata_changed(
        self, participant: rtc.Participant, old: str, new: str
    ) -> ev.ParticipantMetadataChanged:
        """A participant's metadata changed (the new value is kept)."""
        return ev.ParticipantMetadataChanged(
            participant.identity, new, is_local=is_local(participant)
        )

    def participant_name_changed(
        self, participant: rtc.Participant, old: str, new: str
    ) -> ev.ParticipantNameChanged:
        """A participant's name changed (the new value is kept)."""
        return ev.ParticipantNameChanged(participant.identity, new, is_local=is_local(participant))

    def connection_quality_changed(
        self, participant: rtc.Participant | None, quality: rtc.ConnectionQuality
    ) -> ev.ConnectionQualityChanged | None:
        """A participant's connection quality; nothing when LiveKit does not know whose."""
        if participant is None:
            return None
        return ev.ConnectionQualityChanged(
            participant.identity, quality_name(quality), is_local=is_local(participant)
        )

    # -- remote tracks ----------------------------------------------------------------------

    def track_published(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> ev.TrackPublished:
        """A remote participant published a track."""
        return ev.TrackPublished(participant.identity, track_snapshot(publication))

    def track_unpublished(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> ev.TrackUnpublished:
        """A remote participant unpublished a track."""
        return ev.TrackUnpublished(participant.identity, publication.sid)

    def track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> ev.TrackSubscribed:
        """This client receives a remote track now."""
        return ev.TrackSubscribed(participant.identity, track_snapshot(publication))

    def track_unsubscribed(
        self,
        track: rtc.Track | None,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> ev.TrackUnsubscribed:
        """This client no longer receives a remote track."""
        return ev.TrackUnsubscribed(participant.identity, publication.sid)

    def track_subscription_failed(
        self, participant: rtc.RemoteParticipant, sid: str, error: str
    ) -> ev.TrackSubscriptionFailed:
        """Subscribing to a remote track failed."""
        return ev.TrackSubscriptionFailed(participant.identity, sid, str(error))

    # -- any participant's tracks -----------------------------------------------------------

    def track_muted(
        self, participant: rtc.Participant, publication: rtc.TrackPublication
    ) -> ev.TrackMuted:
        """A track was muted, remote or local."""
        return ev.TrackMuted(participant.identity, publication.sid, is_local=is_local(participant))

    def track_unmuted(
        self, participant: rtc.Participant, publication: rtc.TrackPublication
    ) -> ev.TrackUnmuted:
        """A track was unmuted, remote or local."""
        return ev.TrackUnmuted(
            participant.identity, publication.sid, is_local=is_local(participant)
        )

    def local_track_published(
        self, publication: rtc.LocalTrackPublication, track: rtc.Track | None
    ) -> ev.LocalTrackPublished:
        """This client published a track."""
        return ev.LocalTrackPublished(track_snapshot(publication))

    def local_track_unpublished(
        self, publication: rtc.LocalTrackPublication
    ) -> ev.LocalTrackUnpublished:
        """One of this client's tracks was unpublished (by us, or by LiveKit after a revoke)."""
        return ev.LocalTrackUnpublished(publication.sid)

    # -- the room ---------------------------------------------------------------------------

    def room_metadata_changed(self, old: str, new: str) -> ev.RoomMetadataChanged:
        """The room metadata changed (the new value is kept)."""
        return ev.RoomMetadataChanged(new)

    def active_speakers_changed(
        self, speakers: list[rtc.Participant]
    ) -> ev.ActiveSpeakersChanged:
        """Who speaks now, loudest first."""
        return ev.ActiveSpeakersChanged(tuple(p.identity for p in speakers))

    def data_received(self, packet: rtc.DataPacket) -> ev.DataReceived:
        """A data message; the sender is ``None`` when a server (the engine) sent it."""
        sender = packet.participant.identity if packet.participant is not None else None
        return ev.DataReceived(
            bytes(packet.data),
            sender,
            packet.topic or None,
            packet.kind == rtc.DataPacketKind.KIND_RELIABLE,
        )

    def reconnecting(self) -> ev.Reconnecting:
        """The connection dropped; LiveKit tries to resume it."""
        return ev.Reconnecting()

    def reconnected(self) -> ev.Reconnected:
        """The connection is back: fresh snapshots of the roster, metadata and permission."""
        return reconnected_event(self._room)

    def disconnected(self, reason: Any) -> ev.Disconnected:
        """LiveKit ended the session (kicked, room deleted, network), with its reason."""
        return ev.Disconnected(reason_name(reason))


LIVEKIT_EVENTS: Final[Mapping[EventTypes, Converter]] = MappingProxyType(
    {
        "participant_connected": LiveKitEventConverter.participant_connected,
        "participant_disconnected": LiveKitEventConverter.participant_disconnected,
        "participant_permissions_changed": LiveKitEventConverter.participant_permissions_changed,
        "participant_attributes_changed": LiveKitEventConverter.participant_attributes_changed,
        "participant_metadata_changed": LiveKitEventConverter.participant_metadata_changed,
        "participant_name_changed": LiveKitEventConverter.participant_name_changed,
        "connection_quality_changed": LiveKitEventConverter.connection_quality_changed,
        "track_published": LiveKitEventConverter.track_published,
        "track_unpublished": LiveKitEventConverter.track_unpublished,
        "track_subscribed": LiveKitEventConverter.track_subscribed,
        "track_unsubscribed": LiveKitEventConverter.track_unsubscribed,
        "track_subscription_failed": LiveKitEventConverter.track_subscription_failed,
        "track_muted": LiveKitEventConverter.track_muted,
        "track_unmuted": LiveKitEventConverter.track_unmuted,
        "local_track_published": LiveKitEventConverter.local_track_published,
        "local_track_unpublished": LiveKitEventConverter.local_track_unpublished,
        "room_metadata_changed": LiveKitEventConverter.room_metadata_changed,
        "active_speakers_changed": LiveKitEventConverter.active_speakers_changed,
        "data_received": LiveKitEventConverter.data_received,
        "reconnecting": LiveKitEventConverter.reconnecting,
        "reconnected": LiveKitEventConverter.reconnected,
        "disconnected": LiveKitEventConverter.disconnected,
    }
)
"""The LiveKit events handled, by LiveKit's name, each with its converter."""


@attrs.frozen(eq=False)
class LiveKitListener:
    """The callback registered for one LiveKit event: convert, then deliver.

    LiveKit calls it synchronously from its event loop; a converter or a delivery that raises
    is logged here and never reaches LiveKit. Compared by identity, as ``room.off`` needs.
    """

    name: EventTypes
    convert: Callable[..., ev.Event | None]
    deliver: Callable[[ev.Event], None]

    def __call__(self, *args: Any) -> None:
        """Handle one LiveKit callback."""
        try:
            event = self.convert(*args)
            if event is not None:
                self.deliver(event)
        except Exception:
            log.exception("could not handle the LiveKit event %r", self.name)


class RoomEventSubscription:
    """Every event of :data:`LIVEKIT_EVENTS` on one room, converted and handed to ``deliver``.

    Listens from construction until :meth:`dispose`.
    """

    def __init__(self, room: rtc.Room, deliver: Callable[[ev.Event], None]) -> None:
        self.room = room
        converter = LiveKitEventConverter(room)
        self._listeners = tuple(
            LiveKitListener(name, functools.partial(convert, converter), deliver)
            for name, convert in LIVEKIT_EVENTS.items()
        )
        for listener in self._listeners:
            room.on(listener.name, listener)

    def dispose(self) -> None:
        """Stop listening; safe to call twice."""
        for listener in self._listeners:
            with contextlib.suppress(Exception):
                self.room.off(listener.name, listener)
        self._listeners = ()
