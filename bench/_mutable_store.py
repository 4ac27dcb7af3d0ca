"""A hand-written mutable store: the second baseline of ``bench_store.py``.

State lives in plain dicts and lists updated in place. As with the setters of Stream's video
client ``CallState``, one setter per kind of event changes only what the event touches and
notifies the listeners of each view it changed, and a firehose listener hears every event.
No reducer, no persistent maps, no copies, no lock, no queue: what the
:class:`~utd_stream_rx.state.store.Store` pays for its guarantees shows as the difference.
(Stream's setters push shallow copies into one subject per piece of state; updating in place
is the cheaper extreme of the same design.)

The room metadata is decoded with the SDK's own decoder (``parse_room_metadata``), so decoding
costs both stores alike and the figure is about keeping state, not about parsing it.

It covers the events of the bench's busy-room trace (and the connection's lifecycle); calls
(the engine's call messages, a room state's call) are left out, as the trace carries none: the
call views stay ``None`` in both stores, which the bench's check confirms.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import immutables

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utd_stream_rx.models import (
    UTDRoomState,
    UTDSeatPlace,
    UTDSeatStatus,
    UTDStageStatus,
)
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.reducers import ENDED_REASON, ConnectionState, parse_room_metadata
from utd_stream_rx.state.view_specs import VIEW_SPECS

Listener = Callable[[Any], None]
Participant = dict[str, Any]
"""``identity``, ``name``, ``metadata``, ``attributes`` (a dict), ``permissions`` and
``tracks`` (a dict of track dicts by sid), all updated in place."""

VIEW_NAMES: tuple[str, ...] = tuple(spec.name for spec in VIEW_SPECS)
ROOM_DELETED = "room_deleted"  # LiveKit's reason when a room is closed under its participants
CONNECTED = ConnectionState.CONNECTED
DISCONNECTED = ConnectionState.DISCONNECTED
NO_PERMISSION = ev.PermissionSnapshot()
LISTENER = UTDSeatStatus()


# -- the views read from the room state, written out by hand ------------------------------------


def _stage(room: UTDRoomState | None) -> Any:
    return room.stage if room is not None else ()


def _stage_requests(room: UTDRoomState | None) -> Any:
    return room.stage_requests if room is not None else ()


def _stage_invitations(room: UTDRoomState | None) -> Any:
    return room.stage_invitations if room is not None else ()


def _seats(room: UTDRoomState | None) -> Any:
    return room.seats if room is not None else None


def _speak_requests(room: UTDRoomState | None) -> Any:
    return room.speak_requests if room is not None else ()


def _invitations(room: UTDRoomState | None) -> Any:
    return room.invitations if room is not None else ()


ROOM_VIEWS: dict[str, Callable[[UTDRoomState | None], Any]] = {
    "stage": _stage,
    "stage_requests": _stage_requests,
    "stage_invitations": _stage_invitations,
    "seats": _seats,
    "speak_requests": _speak_requests,
    "invitations": _invitations,
}


def stage_status(me: str | None, room: UTDRoomState | None) -> UTDStageStatus:
    """This participant's place in the stage flow."""
    if me is None or room is None:
        return UTDStageStatus.OFF
    if any(member.identity == me for member in room.stage):
        return UTDStageStatus.ON
    if any(invitation.identity == me for invitation in room.stage_invitations):
        return UTDStageStatus.INVITED
    if any(request.identity == me for request in room.stage_requests):
        return UTDStageStatus.REQUESTED
    return UTDStageStatus.OFF


def seat_status(me: str | None, room: UTDRoomState | None) -> UTDSeatStatus:
    """This participant's place among the seats."""
    if me is None or room is None:
        return LISTENER
    seat = room.seats.seat_of(me) if room.seats is not None else None
    if seat is not None:
        return UTDSeatStatus(UTDSeatPlace.SEATED, seat.index)
    for invitation in room.invitations:
        if invitation.identity == me:
            return UTDSeatStatus(UTDSeatPlace.INVITED, invitation.seat_index)
    for request in room.speak_requests:
        if request.identity == me:
            return UTDSeatStatus(UTDSeatPlace.REQUESTED, request.seat_index)
    return LISTENER


def take_room_state(
    current: UTDRoomState | None, incoming: UTDRoomState, held: int
) -> tuple[UTDRoomState, int] | None:
    """The room state to hold after ``incoming`` and the version of the request lists held
    with it; ``None`` when ``incoming`` is older than ``current``. A snapshot that leaves the
    requests out keeps the lists held before."""
    same_room = current is not None and current.room_name == incoming.room_name
    if current is None or not same_room:
        return incoming, 0 if incoming.requests_omitted else incoming.requests_version
    if incoming.version < current.version:
        return None
    if not incoming.requests_omitted:
        return incoming, incoming.requests_version
    kept = attrs.evolve(
        incoming, stage_requests=current.stage_requests, speak_requests=current.speak_requests
    )
    return kept, held


# -- participants as dicts ----------------------------------------------------------------------


def new_track(track: ev.TrackSnapshot) -> dict[str, Any]:
    """A track as a mutable dict."""
    return {
        "sid": track.sid,
        "kind": track.kind,
        "source": track.source,
        "muted": track.muted,
        "subscribed": track.subscribed,
    }


def new_participant(snapshot: ev.ParticipantSnapshot) -> Participant:
    """A participant as a mutable dict."""
    return {
        "identity": snapshot.identity,
        "name": snapshot.name,
        "metadata": snapshot.metadata,
        "attributes": dict(snapshot.attributes),
        "permissions": snapshot.permissions,
        "tracks": {track.sid: new_track(track) for track in snapshot.tracks},
    }


def to_snapshot(participant: Participant) -> ev.ParticipantSnapshot:
    """The Store's frozen snapshot of a participant dict (a copy, for the check)."""
    return ev.ParticipantSnapshot(
        participant["identity"],
        name=participant["name"],
        metadata=participant["metadata"],
        attributes=participant["attributes"],
        permissions=participant["permissions"],
        tracks=tuple(ev.TrackSnapshot(**track) for track in participant["tracks"].values()),
    )


def frozen_value(name: str, value: Any) -> Any:
    """A view's value as the Store would hold it: a copy where the mutable store hands out a
    live dict or list (which its next event changes under the listener's feet)."""
    if name == "remote_participants":
        return immutables.Map({key: to_snapshot(p) for key, p in value.items()})
    if name == "connection_quality":
        return immutables.Map(value)
    if name == "active_speakers":
        return tuple(value)
    return value


# -- the store ----------------------------------------------------------------------------------


class MutableStore:
    """Setters mutating dicts in place and notifying a listener list per view on change.

    ``listeners[name]`` are called with the view's (live) value when it changed;
    ``event_listeners`` with every dispatched event, after the setters ran.
    """

    def __init__(self) -> None:
        self.connection_state = DISCONNECTED
        self.disconnect_reason: str | None = None
        self.local_identity: str | None = None
        self.local: Participant | None = None
        self.permissions = NO_PERMISSION
        self.participants: dict[str, Participant] = {}
        self.active_speakers: list[str] = []
        self.connection_quality: dict[str, str] = {}
        self.room_state: UTDRoomState | None = None
        self.requests_held_version = 0
        self.room_ended = False
        self.stage_status = UTDStageStatus.OFF
        self.seat_status = LISTENER
        self.listeners: dict[str, list[Listener]] = {name: [] for name in VIEW_NAMES}
        self.event_listeners: list[Listener] = []
        self.setters: dict[type[ev.Event], Callable[[Any], None]] = {
            ev.Connecting: self.on_connecting,
            ev.Connected: self.on_connected,
            ev.Disconnected: self.on_disconnected,
            ev.ParticipantJoined: self.on_joined,
            ev.ParticipantLeft: self.on_left,
            ev.ParticipantAttributesChanged: self.on_attributes,
            ev.PermissionsChanged: self.on_permissions,
            ev.TrackPublished: self.on_track_published,
            ev.TrackSubscribed: self.on_track_subscribed,
            ev.TrackMuted: self.on_muted,
            ev.TrackUnmuted: self.on_unmuted,
            ev.ActiveSpeakersChanged: self.on_speakers,
            ev.ConnectionQualityChanged: self.on_quality,
            ev.RoomMetadataChanged: self.on_room_metadata,
        }

    def dispatch(self, event: ev.Event) -> None:
        """Run the event's setter, then tell the firehose listeners."""
        setter = self.setters.get(type(event))
        if setter is not None:
            setter(event)
        for listener in self.event_listeners:
            listener(event)

    def notify(self, name: str, value: Any) -> None:
        """Call the listeners of view ``name`` with its new value."""
        for listener in self.listeners[name]:
            listener(value)

    # -- connection ----------------------------------------------------------------------------

    def set_connection(self, state: ConnectionState) -> None:
        """Move the connection state, and ``connected`` with it."""
        was_connected = self.connection_state is CONNECTED
        if state is self.connection_state:
            return
        self.connection_state = state
        self.notify("connection_state", state)
        if (state is CONNECTED) != was_connected:
            self.notify("connected", not was_connected)

    def set_disconnect_reason(self, reason: str | None) -> None:
        """Set why the last connection ended."""
        if reason != self.disconnect_reason:
            self.disconnect_reason = reason
            self.notify("disconnect_reason", reason)

    def set_permissions(self, permissions: ev.PermissionSnapshot) -> None:
        """The local participant's permission, and ``can_publish`` with it."""
        if self.local is not None:
            self.local["permissions"] = permissions
        if permissions == self.permissions:
            return
        could = self.permissions.can_publish
        self.permissions = permissions
        if permissions.can_publish != could:
            self.notify("can_publish", permissions.can_publish)

    def on_connecting(self, event: ev.Connecting) -> None:
        """``connect`` started."""
        if self.connection_state is not ConnectionState.CONNECTING:
            self.room_ended = False
            self.set_connection(ConnectionState.CONNECTING)
            self.set_disconnect_reason(None)

    def on_connected(self, event: ev.Connected) -> None:
        """Connected: the roster and the room state of that moment."""
        self.set_connection(CONNECTED)
        self.local_identity = event.local_identity
        self.local = new_participant(event.local or ev.ParticipantSnapshot(event.local_identity))
        self.set_permissions(event.permissions)
        self.participants.clear()
        for snapshot in event.participants:
            if snapshot.identity != event.local_identity:
                self.participants[snapshot.identity] = new_participant(snapshot)
        self.notify("remote_participants", self.participants)
        self.clear_presence()
        self.set_disconnect_reason(None)
        self.refresh_own_status()
        self.apply_metadata(event.metadata)

    def clear_presence(self) -> None:
        """Forget who speaks and everyone's connection quality."""
        if self.active_speakers:
            self.active_speakers.clear()
            self.notify("active_speakers", self.active_speakers)
        if self.connection_quality:
            self.connection_quality.clear()
            self.notify("connection_quality", self.connection_quality)

    def on_disconnected(self, event: ev.Disconnected) -> None:
        """The room is gone: nobody is left in it."""
        self.set_connection(DISCONNECTED)
        self.set_permissions(NO_PERMISSION)
        self.local = None
        if self.participants:
            self.participants.clear()
            self.notify("remote_participants", self.participants)
        self.clear_presence()
        self.set_disconnect_reason(ENDED_REASON if self.room_ended else event.reason)

    # -- participants and tracks -----------------------------------------------------------------

    def find(self, identity: str, is_local: bool) -> Participant | None:
        """The participant an event names, local or remote."""
        if is_local or identity == self.local_identity:
            return self.local
        return self.participants.get(identity)

    def changed(self, participant: Participant) -> None:
        """A participant changed in place: remote ones are in a view."""
        if participant is not self.local:
            self.notify("remote_participants", self.participants)

    def on_joined(self, event: ev.ParticipantJoined) -> None:
        """A remote participant joined."""
        identity = event.participant.identity
        if self.connection_state is DISCONNECTED or identity == self.local_identity:
            return
        self.participants[identity] = new_participant(event.participant)
        self.notify("remote_participants", self.participants)

    def on_left(self, event: ev.ParticipantLeft) -> None:
        """A remote participant left: every trace of them goes."""
        identity = event.identity
        if self.participants.pop(identity, None) is not None:
            self.notify("remote_participants", self.participants)
        if identity in self.active_speakers:
            self.active_speakers[:] = [s for s in self.active_speakers if s != identity]
            self.notify("active_speakers", self.active_speakers)
        if self.connection_quality.pop(identity, None) is not None:
            self.notify("connection_quality", self.connection_quality)

    def on_attributes(self, event: ev.ParticipantAttributesChanged) -> None:
        """A participant's complete attributes."""
        participant = self.find(event.identity, event.is_local)
        if participant is None:
            return
        attributes: dict[str, str] = participant["attributes"]
        incoming = dict(event.attributes)
        if attributes != incoming:
            attributes.clear()
            attributes.update(incoming)
            self.changed(participant)

    def on_permissions(self, event: ev.PermissionsChanged) -> None:
        """A participant's permission: the local one drives ``can_publish``."""
        if event.is_local or event.identity == self.local_identity:
            if self.connection_state is not DISCONNECTED:
                self.set_permissions(event.permissions)
            return
        participant = self.participants.get(event.identity)
        if participant is not None and participant["permissions"] != event.permissions:
            participant["permissions"] = event.permissions
            self.notify("remote_participants", self.participants)

    def put_track(self, identity: str, track: dict[str, Any], keep_subscription: bool) -> None:
        """Add or update a remote participant's track in place."""
        participant = self.participants.get(identity)
        if participant is None:
            return  # never invent a participant from a partial event
        tracks: dict[str, dict[str, Any]] = participant["tracks"]
        existing = tracks.get(track["sid"])
        if existing is None:
            tracks[track["sid"]] = track
        else:
            if keep_subscription:
                track["subscribed"] = existing["subscribed"] or track["subscribed"]
            if track == existing:
                return
            existing.update(track)
        self.notify("remote_participants", self.participants)

    def on_track_published(self, event: ev.TrackPublished) -> None:
        """A remote track was published (a subscription that came first is kept)."""
        self.put_track(event.identity, new_track(event.track), keep_subscription=True)

    def on_track_subscribed(self, event: ev.TrackSubscribed) -> None:
        """This client receives a remote track."""
        track = new_track(event.track)
        track["subscribed"] = True
        self.put_track(event.identity, track, keep_subscription=False)

    def set_muted(self, identity: str, is_local: bool, sid: str, muted: bool) -> None:
        """Flip a track's ``muted`` in place."""
        participant = self.find(identity, is_local)
        track = participant["tracks"].get(sid) if participant is not None else None
        if participant is None or track is None or track["muted"] == muted:
            return
        track["muted"] = muted
        self.changed(participant)

    def on_muted(self, event: ev.TrackMuted) -> None:
        """A track was muted."""
        self.set_muted(event.identity, event.is_local, event.sid, True)

    def on_unmuted(self, event: ev.TrackUnmuted) -> None:
        """A track was unmuted."""
        self.set_muted(event.identity, event.is_local, event.sid, False)

    # -- the room -------------------------------------------------------------------------------

    def on_speakers(self, event: ev.ActiveSpeakersChanged) -> None:
        """Who speaks now."""
        if self.connection_state is DISCONNECTED:
            return
        if tuple(self.active_speakers) == event.identities:
            return
        self.active_speakers[:] = event.identities
        self.notify("active_speakers", self.active_speakers)

    def on_quality(self, event: ev.ConnectionQualityChanged) -> None:
        """A known participant's connection quality."""
        if self.connection_state is DISCONNECTED:
            return
        local = event.is_local or event.identity == self.local_identity
        known = local or event.identity in self.participants
        if known and self.connection_quality.get(event.identity) != event.quality:
            self.connection_quality[event.identity] = event.quality
            self.notify("connection_quality", self.connection_quality)

    def on_room_metadata(self, event: ev.RoomMetadataChanged) -> None:
        """The engine's room state, in the room metadata."""
        self.apply_metadata(event.metadata)

    def apply_metadata(self, metadata: str | None) -> None:
        """Take a newer room state and notify the room views that changed with it."""
        incoming = parse_room_metadata(metadata)
        if incoming is None:
            return
        current = self.room_state
        taken = take_room_state(current, incoming, self.requests_held_version)
        if taken is None:
            return  # stale: a newer report already arrived
        incoming, self.requests_held_version = taken
        self.room_ended = self.room_ended or incoming.ended
        if incoming.ended and self.disconnect_reason == ROOM_DELETED:
            self.set_disconnect_reason(ENDED_REASON)
        if incoming == current:
            return
        self.room_state = incoming
        self.notify("room_state", incoming)
        for name, select in ROOM_VIEWS.items():
            value = select(incoming)
            if value != select(current):
                self.notify(name, value)
        self.refresh_own_status()

    def refresh_own_status(self) -> None:
        """This participant's own stage and seat status, after the room or identity changed."""
        stage = stage_status(self.local_identity, self.room_state)
        if stage != self.stage_status:
            self.stage_status = stage
            self.notify("stage_status", stage)
        seat = seat_status(self.local_identity, self.room_state)
        if seat != self.seat_status:
            self.seat_status = seat
            self.notify("seat_status", seat)


def view_values(store: MutableStore) -> Mapping[str, Any]:
    """Every view's current value in the Store's types (copies: for the check)."""
    values: dict[str, Any] = {
        "connection_state": store.connection_state,
        "connected": store.connection_state is CONNECTED,
        "disconnect_reason": store.disconnect_reason,
        "connection_quality": frozen_value("connection_quality", store.connection_quality),
        "can_publish": store.permissions.can_publish,
        "remote_participants": frozen_value("remote_participants", store.participants),
        "active_speakers": frozen_value("active_speakers", store.active_speakers),
        "room_state": store.room_state,
        "stage_status": store.stage_status,
        "seat_status": store.seat_status,
        "call": None,
        "call_status": None,
        "call_id": None,
    }
    values.update({name: select(store.room_state) for name, select in ROOM_VIEWS.items()})
    return values
