"""The session state and the pure reducer that folds events into it.

``reduce(state, event)`` is pure and total: it never raises, whatever the event and whatever
the order (an unexpected failure inside a handler is logged and the old state returned), and
it does no I/O. Unchanged parts are shared between states, and a handler that changes
nothing returns the very same state object, so the store can suppress repeats cheaply.

Races between the engine's REST answers and the LiveKit events reporting the same change are
settled by versions: a room state older than the one held is ignored, so is an older report of
the same call, and a call that is over never comes back to life.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Set
from typing import Any, TypeVar

import attrs
import immutables

from ..errors import UTDStreamException
from ..models import UTDCall, UTDRoomState, UTDStreamType, structure
from . import events as ev
from . import notices
from .events import ParticipantSnapshot, PermissionSnapshot, TrackSnapshot

__all__ = [
    "CALL_TOPIC",
    "ENDED_REASON",
    "INFORMATIONAL_EVENTS",
    "ConnectionState",
    "ParticipantSnapshot",
    "SessionState",
    "handled_events",
    "parse_room_metadata",
    "reduce",
    "select_requests_outdated",
]

log = logging.getLogger(__name__)

ENDED_REASON = "ended"
"""``disconnect_reason`` of a session whose room the host ended."""

_ROOM_DELETED = "room_deleted"  # LiveKit's reason when a room is closed under its participants

CALL_TOPIC = "utd.call"
"""Topic of the engine's data message carrying a call (``{"call": Call, "version": n}``)."""

E = TypeVar("E", bound=ev.Event)

_EMPTY_PARTICIPANTS: immutables.Map[str, ParticipantSnapshot] = immutables.Map()
_EMPTY_QUALITY: immutables.Map[str, str] = immutables.Map()
_NO_PERMISSION = PermissionSnapshot()


def _grant_in(kind: UTDStreamType) -> PermissionSnapshot:
    """What the engine grants a publisher in a room of ``kind``: video rooms show too."""
    sources = ("camera", "microphone") if kind.has_video else ("microphone",)
    return PermissionSnapshot(can_publish=True, can_publish_sources=sources, can_publish_data=True)


class ConnectionState(enum.Enum):
    """Where the media connection is."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"


@attrs.frozen
class SessionState:
    """Everything a session knows, at one moment. Immutable; replaced by every change.

    Attributes:
        connection_state: Where the media connection is.
        local_identity: This participant's identity once connected.
        local_participant: This participant's own snapshot (attributes, tracks), if connected.
        permissions: The local participant's permission, as LiveKit last reported it (the one
            place it is kept: :attr:`can_publish` and the local snapshot follow it).
        remote_participants: The other participants by identity (a persistent map: a join
            or a leave shares everything else with the previous state).
        active_speakers: Identities speaking now, loudest first.
        connection_quality: Connection quality by identity.
        room_state: The engine's room state with the highest version seen. A snapshot that
            left the pending requests out (``requests_omitted``) keeps the lists held before.
        requests_held_version: The ``requests_version`` of the request lists in
            :attr:`room_state` (that of the last snapshot that listed them).
        call: The current call with the highest version seen.
        pending_call_id: The call the app asked to accept, until the engine reports it.
        last_error: The last failed command's error.
        disconnect_reason: Why the last connection ended (``"ended"`` when the host ended
            the room).
        room_ended: True once the engine's room state said the host ended the room, until the
            next connection (only the room state counts: the server alone writes the room
            metadata, while a data message on the notice's topic can come from anyone).
        applied_grant: The grant the engine's answer said LiveKit already holds for the local
            participant (``grant_applied``), kept only until LiveKit's own permission event,
            a newer room state or the end of the connection: it lets the session publish on
            the answer, while :attr:`permissions` (and ``can_publish``) still follow LiveKit.
        applied_grant_version: The room version of :attr:`applied_grant`'s answer.
    """

    connection_state: ConnectionState = ConnectionState.DISCONNECTED
    local_identity: str | None = None
    local_participant: ParticipantSnapshot | None = None
    permissions: PermissionSnapshot = _NO_PERMISSION
    remote_participants: immutables.Map[str, ParticipantSnapshot] = _EMPTY_PARTICIPANTS
    active_speakers: tuple[str, ...] = ()
    connection_quality: immutables.Map[str, str] = _EMPTY_QUALITY
    room_state: UTDRoomState | None = None
    requests_held_version: int = 0
    call: UTDCall | None = None
    pending_call_id: str | None = None
    last_error: UTDStreamException | None = None
    disconnect_reason: str | None = None
    room_ended: bool = False
    applied_grant: PermissionSnapshot | None = None
    applied_grant_version: int = 0

    @property
    def can_publish(self) -> bool:
        """Whether the local participant may publish (``permissions.can_publish``)."""
        return self.permissions.can_publish

    @property
    def publish_permission(self) -> PermissionSnapshot:
        """What the local participant may publish now: LiveKit's permission once it grants,
        and until then the grant the engine said LiveKit already applied, if any."""
        if self.applied_grant is None or self.permissions.can_publish:
            return self.permissions
        return self.applied_grant


# -- selectors ----------------------------------------------------------------------------------
# The views' selectors live in the table of ``view_specs``; this one is the sessions' own.


def select_requests_outdated(state: SessionState) -> bool:
    """True when the engine has pending requests newer than the lists held (it left them out
    of the snapshots since: ``GET`` the room for them)."""
    room = state.room_state
    return room is not None and room.requests_version > state.requests_held_version


# -- the reducer --------------------------------------------------------------------------------


def reduce(state: SessionState, event: ev.Event) -> SessionState:
    """Fold ``event`` into ``state``. Pure and total: never raises, never does I/O.

    Unknown events leave the state as it is. A handler that fails unexpectedly is logged and
    the old state returned, so one bad event cannot wedge the stream.
    """
    handler = _HANDLERS.get(type(event))
    if handler is None:
        handler = _handler_for_subclass(type(event))
        if handler is None:
            return state
    try:
        return handler(state, event)
    except Exception:
        # Name the type only: a malformed event may not even survive repr().
        log.exception("reducer failed on a %s event; the state is unchanged", type(event).__name__)
        return state


_Handler = Callable[[SessionState, Any], SessionState]
_HANDLERS: dict[type[ev.Event], _Handler] = {}


def _handles(kind: type[E]) -> Callable[[Callable[[SessionState, E], SessionState]], _Handler]:
    def register(fn: Callable[[SessionState, E], SessionState]) -> _Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


_NOTICE_REASON = "the engine's room state (metadata, answers) carries the change itself"
_NOTICE_KINDS: list[type[ev.Event]] = [notices.EngineNotice, *notices.NOTICE_TOPICS.values()]

INFORMATIONAL_EVENTS: Mapping[type[ev.Event], str] = {
    **dict.fromkeys(_NOTICE_KINDS, _NOTICE_REASON),
    ev.TrackSubscriptionFailed: "a failed subscription changes no snapshot; apps log or retry it",
    ev.TokenMinted: "a token belongs to a connection about to be made, not to the state",
    ev.LeaveRequested: "the Disconnected that follows is what changes the state",
}
"""Events the reducer leaves alone on purpose, each with the reason: they reach the
``events`` firehose only. Every other event has a handler (a test checks)."""


def handled_events() -> Set[type[ev.Event]]:
    """The event types that have a handler of their own."""
    return frozenset(_HANDLERS)


def _handler_for_subclass(kind: type) -> _Handler | None:
    for base in kind.__mro__[1:]:
        handler = _HANDLERS.get(base)
        if handler is not None:
            return handler
    return None


# -- helpers ------------------------------------------------------------------------------------


def parse_room_metadata(metadata: str | None) -> UTDRoomState | None:
    """The engine's RoomState from room metadata, or ``None`` when it is empty or invalid."""
    if not metadata:
        return None
    try:
        return structure(json.loads(metadata), UTDRoomState)
    except (ValueError, UTDStreamException) as exc:
        log.debug("room metadata is not a RoomState (%s); ignored", exc)
        return None


def _apply_room_state(state: SessionState, incoming: UTDRoomState) -> SessionState:
    current = state.room_state
    same_room = current is not None and current.room_name == incoming.room_name
    if current is not None and same_room and incoming.version < current.version:
        return state  # stale: a newer report already arrived
    held = state.requests_held_version if same_room else 0
    if not incoming.requests_omitted:
        held = incoming.requests_version
    elif current is not None and same_room:
        # The lists left out are the ones held, until a snapshot lists them again.
        incoming = attrs.evolve(
            incoming,
            stage_requests=current.stage_requests,
            speak_requests=current.speak_requests,
        )
    if same_room and incoming == current and held == state.requests_held_version:
        return state
    new = attrs.evolve(
        state,
        room_state=incoming,
        requests_held_version=held,
        room_ended=state.room_ended or incoming.ended,
    )
    if incoming.call is not None:
        new = _apply_call(new, incoming.call)
    if incoming.ended and state.disconnect_reason == _ROOM_DELETED:
        # The host's own end_room answer may come after LiveKit already closed the room.
        new = attrs.evolve(new, disconnect_reason=ENDED_REASON)
    if new.applied_grant is not None and incoming.version > new.applied_grant_version:
        new = attrs.evolve(new, applied_grant=None)  # the engine moved on since that answer
    return new


def _apply_metadata(state: SessionState, metadata: str | None) -> SessionState:
    parsed = parse_room_metadata(metadata)
    return state if parsed is None else _apply_room_state(state, parsed)


def _apply_call(state: SessionState, incoming: UTDCall) -> SessionState:
    current = state.call
    pending = state.pending_call_id
    if current is None or current.call_id != incoming.call_id:
        live = current is not None and not current.status.is_terminal
        if live and incoming.call_id != pending:
            return state  # another call's news must not replace the live one
        return attrs.evolve(
            state, call=incoming, pending_call_id=None if pending == incoming.call_id else pending
        )
    if incoming.version < current.version:
        return state
    if current.status.is_terminal and not incoming.status.is_terminal:
        return state
    if incoming.token is None and current.token is not None:
        # Reports without credentials (metadata, event stream) keep the joiner's token.
        incoming = attrs.evolve(incoming, token=current.token, url=incoming.url or current.url)
    if incoming == current:
        return state
    return attrs.evolve(state, call=incoming)


def _is_closed(state: SessionState) -> bool:
    # Room events that arrive with no connection belong to one that is gone.
    return state.connection_state is ConnectionState.DISCONNECTED


def _is_local(state: SessionState, identity: str, flagged: bool) -> bool:
    return flagged or (state.local_identity is not None and identity == state.local_identity)


def _roster(participants: Iterable[ParticipantSnapshot], local: str | None) -> immutables.Map[
    str, ParticipantSnapshot
]:
    return immutables.Map({p.identity: p for p in participants if p.identity != local})


def _update_remote(
    state: SessionState,
    identity: str,
    change: Callable[[ParticipantSnapshot], ParticipantSnapshot],
) -> SessionState:
    current = state.remote_participants.get(identity)
    if current is None:
        return state  # never invent a participant from a partial event
    updated = change(current)
    if updated == current:
        return state
    return attrs.evolve(
        state, remote_participants=state.remote_participants.set(identity, updated)
    )


def _update_local(
    state: SessionState, change: Callable[[ParticipantSnapshot], ParticipantSnapshot]
) -> SessionState:
    current = state.local_participant
    if current is None:
        return state
    updated = change(current)
    if updated == current:
        return state
    return attrs.evolve(state, local_participant=updated)


def _update_participant(
    state: SessionState,
    identity: str,
    is_local: bool,
    change: Callable[[ParticipantSnapshot], ParticipantSnapshot],
) -> SessionState:
    if _is_local(state, identity, is_local):
        return _update_local(state, change)
    return _update_remote(state, identity, change)


def _put_track(tracks: tuple[TrackSnapshot, ...], track: TrackSnapshot) -> tuple[
    TrackSnapshot, ...
]:
    for i, existing in enumerate(tracks):
        if existing.sid == track.sid:
            return (*tracks[:i], track, *tracks[i + 1 :])
    return (*tracks, track)


def _drop_track(tracks: tuple[TrackSnapshot, ...], sid: str) -> tuple[TrackSnapshot, ...]:
    return tuple(t for t in tracks if t.sid != sid)


def _with_tracks(
    fn: Callable[[tuple[TrackSnapshot, ...]], tuple[TrackSnapshot, ...]],
) -> Callable[[ParticipantSnapshot], ParticipantSnapshot]:
    def change(p: ParticipantSnapshot) -> ParticipantSnapshot:
        tracks = fn(p.tracks)
        return p if tracks == p.tracks else attrs.evolve(p, tracks=tracks)

    return change


def _set_muted(sid: str, muted: bool) -> Callable[[ParticipantSnapshot], ParticipantSnapshot]:
    def on_tracks(tracks: tuple[TrackSnapshot, ...]) -> tuple[TrackSnapshot, ...]:
        return tuple(
            attrs.evolve(t, muted=muted) if t.sid == sid and t.muted != muted else t
            for t in tracks
        )

    return _with_tracks(on_tracks)


def _with_permissions(
    permissions: PermissionSnapshot,
) -> Callable[[ParticipantSnapshot], ParticipantSnapshot]:
    def change(p: ParticipantSnapshot) -> ParticipantSnapshot:
        return p if p.permissions == permissions else attrs.evolve(p, permissions=permissions)

    return change


def _forget(state: SessionState, identity: str) -> SessionState:
    """Remove every trace of a remote participant who left."""
    participants = state.remote_participants
    if identity in participants:
        participants = participants.delete(identity)
    speakers = state.active_speakers
    if identity in speakers:
        speakers = tuple(s for s in speakers if s != identity)
    quality = state.connection_quality
    if identity in quality:
        quality = quality.delete(identity)
    if (
        participants is state.remote_participants
        and speakers is state.active_speakers
        and quality is state.connection_quality
    ):
        return state
    return attrs.evolve(
        state,
        remote_participants=participants,
        active_speakers=speakers,
        connection_quality=quality,
    )


# -- connection -------------------------------------------------------------------------------


@_handles(ev.Connecting)
def _on_connecting(state: SessionState, event: ev.Connecting) -> SessionState:
    if state.connection_state is ConnectionState.CONNECTING:
        return state
    return attrs.evolve(
        state,
        connection_state=ConnectionState.CONNECTING,
        disconnect_reason=None,
        room_ended=False,
    )


@_handles(ev.Connected)
def _on_connected(state: SessionState, event: ev.Connected) -> SessionState:
    local = event.local or ParticipantSnapshot(event.local_identity)
    new = attrs.evolve(
        state,
        connection_state=ConnectionState.CONNECTED,
        local_identity=event.local_identity,
        local_participant=_with_permissions(event.permissions)(local),
        permissions=event.permissions,
        applied_grant=None,
        remote_participants=_roster(event.participants, event.local_identity),
        active_speakers=(),
        connection_quality=_EMPTY_QUALITY,
        disconnect_reason=None,
    )
    return _apply_metadata(new, event.metadata)


@_handles(ev.Reconnecting)
def _on_reconnecting(state: SessionState, event: ev.Reconnecting) -> SessionState:
    if state.connection_state is not ConnectionState.CONNECTED:
        return state  # only a live connection can be resumed
    return attrs.evolve(state, connection_state=ConnectionState.RECONNECTING)


@_handles(ev.Reconnected)
def _on_reconnected(state: SessionState, event: ev.Reconnected) -> SessionState:
    if state.connection_state not in (ConnectionState.RECONNECTING, ConnectionState.CONNECTED):
        return state  # a late resume must not revive a closed session
    roster = _roster(event.participants, state.local_identity)
    if roster == state.remote_participants:
        roster = state.remote_participants
    changes: dict[str, Any] = {
        "connection_state": ConnectionState.CONNECTED,
        "remote_participants": roster,
        # Whoever left during the outage is neither speaking nor measured any more.
        "active_speakers": tuple(
            s for s in state.active_speakers if s in roster or s == state.local_identity
        ),
        "connection_quality": immutables.Map(
            {k: v for k, v in state.connection_quality.items() if k in roster}
        ),
    }
    permissions = event.permissions if event.permissions is not None else state.permissions
    local = event.local if event.local is not None else state.local_participant
    if permissions != state.permissions:
        changes["permissions"] = permissions
    if local is not None:
        local = _with_permissions(permissions)(local)
    if local is not state.local_participant:
        changes["local_participant"] = local
    new = attrs.evolve(state, **changes)
    return _apply_metadata(new, event.metadata)


@_handles(ev.Disconnected)
def _on_disconnected(state: SessionState, event: ev.Disconnected) -> SessionState:
    return attrs.evolve(
        state,
        connection_state=ConnectionState.DISCONNECTED,
        local_participant=None,
        permissions=_NO_PERMISSION,
        applied_grant=None,
        remote_participants=_EMPTY_PARTICIPANTS,
        active_speakers=(),
        connection_quality=_EMPTY_QUALITY,
        # LiveKit says only that the room was deleted; the engine said why.
        disconnect_reason=ENDED_REASON if state.room_ended else event.reason,
    )


@_handles(ev.ConnectionQualityChanged)
def _on_quality(state: SessionState, event: ev.ConnectionQualityChanged) -> SessionState:
    if _is_closed(state):
        return state
    known = _is_local(state, event.identity, event.is_local) or (
        event.identity in state.remote_participants
    )
    if not known or state.connection_quality.get(event.identity) == event.quality:
        return state
    return attrs.evolve(
        state, connection_quality=state.connection_quality.set(event.identity, event.quality)
    )


# -- participants -------------------------------------------------------------------------------


@_handles(ev.ParticipantJoined)
def _on_joined(state: SessionState, event: ev.ParticipantJoined) -> SessionState:
    participant = event.participant
    if _is_closed(state) or participant.identity == state.local_identity:
        return state
    if state.remote_participants.get(participant.identity) == participant:
        return state
    return attrs.evolve(
        state,
        remote_participants=state.remote_participants.set(participant.identity, participant),
    )


@_handles(ev.ParticipantLeft)
def _on_left(state: SessionState, event: ev.ParticipantLeft) -> SessionState:
    return _forget(state, event.identity)


@_handles(ev.ParticipantAttributesChanged)
def _on_attributes(state: SessionState, event: ev.ParticipantAttributesChanged) -> SessionState:
    def change(p: ParticipantSnapshot) -> ParticipantSnapshot:
        return p if p.attributes == event.attributes else attrs.evolve(
            p, attributes=event.attributes
        )

    return _update_participant(state, event.identity, event.is_local, change)


@_handles(ev.ParticipantMetadataChanged)
def _on_metadata(state: SessionState, event: ev.ParticipantMetadataChanged) -> SessionState:
    def change(p: ParticipantSnapshot) -> ParticipantSnapshot:
        return p if p.metadata == event.metadata else attrs.evolve(p, metadata=event.metadata)

    return _update_participant(state, event.identity, event.is_local, change)


@_handles(ev.ParticipantNameChanged)
def _on_name(state: SessionState, event: ev.ParticipantNameChanged) -> SessionState:
    def change(p: ParticipantSnapshot) -> ParticipantSnapshot:
        return p if p.name == event.name else attrs.evolve(p, name=event.name)

    return _update_participant(state, event.identity, event.is_local, change)


@_handles(ev.PermissionsChanged)
def _on_permissions(state: SessionState, event: ev.PermissionsChanged) -> SessionState:
    change = _with_permissions(event.permissions)
    if not _is_local(state, event.identity, event.is_local):
        return _update_remote(state, event.identity, change)
    if _is_closed(state):
        return state  # a grant for a connection that is gone
    new = state
    if event.permissions != state.permissions:
        new = attrs.evolve(state, permissions=event.permissions)
    if new.applied_grant is not None:
        new = attrs.evolve(new, applied_grant=None)  # LiveKit's own word now
    return _update_local(new, change)


# -- tracks -------------------------------------------------------------------------------------


@_handles(ev.TrackPublished)
def _on_track_published(state: SessionState, event: ev.TrackPublished) -> SessionState:
    track = event.track

    def put(tracks: tuple[TrackSnapshot, ...]) -> tuple[TrackSnapshot, ...]:
        existing = next((t for t in tracks if t.sid == track.sid), None)
        # Publication news must not undo a subscription that already happened.
        merged = track if existing is None else attrs.evolve(
            track, subscribed=existing.subscribed or track.subscribed
        )
        return _put_track(tracks, merged)

    return _update_remote(state, event.identity, _with_tracks(put))


@_handles(ev.TrackUnpublished)
def _on_track_unpublished(state: SessionState, event: ev.TrackUnpublished) -> SessionState:
    sid = event.sid

    def drop(tracks: tuple[TrackSnapshot, ...]) -> tuple[TrackSnapshot, ...]:
        return _drop_track(tracks, sid)

    return _update_remote(state, event.identity, _with_tracks(drop))


@_handles(ev.TrackSubscribed)
def _on_track_subscribed(state: SessionState, event: ev.TrackSubscribed) -> SessionState:
    track = attrs.evolve(event.track, subscribed=True)

    def put(tracks: tuple[TrackSnapshot, ...]) -> tuple[TrackSnapshot, ...]:
        return _put_track(tracks, track)

    return _update_remote(state, event.identity, _with_tracks(put))


@_handles(ev.TrackUnsubscribed)
def _on_track_unsubscribed(state: SessionState, event: ev.TrackUnsubscribed) -> SessionState:
    sid = event.sid

    def unsubscribe(tracks: tuple[TrackSnapshot, ...]) -> tuple[TrackSnapshot, ...]:
        return tuple(
            attrs.evolve(t, subscribed=False) if t.sid == sid and t.subscribed else t
            for t in tracks
        )

    return _update_remote(state, event.identity, _with_tracks(unsubscribe))


@_handles(ev.TrackMuted)
def _on_track_muted(state: SessionState, event: ev.TrackMuted) -> SessionState:
    return _update_participant(state, event.identity, event.is_local, _set_muted(event.sid, True))


@_handles(ev.TrackUnmuted)
def _on_track_unmuted(state: SessionState, event: ev.TrackUnmuted) -> SessionState:
    return _update_participant(
        state, event.identity, event.is_local, _set_muted(event.sid, False)
    )


@_handles(ev.LocalTrackPublished)
def _on_local_published(state: SessionState, event: ev.LocalTrackPublished) -> SessionState:
    track = event.track

    def put(tracks: tuple[TrackSnapshot, ...]) -> tuple[TrackSnapshot, ...]:
        return _put_track(tracks, track)

    return _update_local(state, _with_tracks(put))


@_handles(ev.LocalTrackUnpublished)
def _on_local_unpublished(state: SessionState, event: ev.LocalTrackUnpublished) -> SessionState:
    sid = event.sid

    def drop(tracks: tuple[TrackSnapshot, ...]) -> tuple[TrackSnapshot, ...]:
        return _drop_track(tracks, sid)

    return _update_local(state, _with_tracks(drop))


# -- room ---------------------------------------------------------------------------------------


@_handles(ev.ActiveSpeakersChanged)
def _on_speakers(state: SessionState, event: ev.ActiveSpeakersChanged) -> SessionState:
    if _is_closed(state) or event.identities == state.active_speakers:
        return state
    return attrs.evolve(state, active_speakers=tuple(event.identities))


@_handles(ev.RoomMetadataChanged)
def _on_room_metadata(state: SessionState, event: ev.RoomMetadataChanged) -> SessionState:
    return _apply_metadata(state, event.metadata)


@_handles(ev.DataReceived)
def _on_data(state: SessionState, event: ev.DataReceived) -> SessionState:
    # Only the engine (no sender participant) may report a call; peers cannot spoof it.
    if event.topic != CALL_TOPIC or event.sender is not None:
        return state
    try:
        body = json.loads(event.payload)
        call = structure(body["call"], UTDCall)
    except (ValueError, KeyError, TypeError, UTDStreamException) as exc:
        log.debug("ignoring a malformed %s message: %s", CALL_TOPIC, exc)
        return state
    return _apply_call(state, call)


# -- REST results and intents -----------------------------------------------------------------


@_handles(ev.RoomStateReceived)
def _on_room_state(state: SessionState, event: ev.RoomStateReceived) -> SessionState:
    incoming = event.state
    if not incoming.grant_applied:
        return _apply_room_state(state, incoming)
    # The answer's word on the grant is kept beside the room state, which stays the same
    # whether it came from an answer or from the metadata.
    new = _apply_room_state(state, attrs.evolve(incoming, grant_applied=False))
    kept = new.room_state
    if _is_closed(new) or (kept is not None and incoming.version < kept.version):
        return new  # a late answer: the engine has moved on since
    return attrs.evolve(
        new,
        applied_grant=_grant_in(incoming.type),
        applied_grant_version=incoming.version,
    )


@_handles(ev.CallUpdated)
def _on_call_updated(state: SessionState, event: ev.CallUpdated) -> SessionState:
    return _apply_call(state, event.call)


@_handles(ev.CallStartRequested)
def _on_call_start(state: SessionState, event: ev.CallStartRequested) -> SessionState:
    if state.call is not None and state.call.status.is_terminal:
        return attrs.evolve(state, call=None, pending_call_id=None)  # a new call starts afresh
    return state


@_handles(ev.CallAcceptRequested)
def _on_call_accept(state: SessionState, event: ev.CallAcceptRequested) -> SessionState:
    call = state.call
    if call is not None and call.call_id != event.call_id and call.status.is_terminal:
        return attrs.evolve(state, call=None, pending_call_id=event.call_id)
    if state.pending_call_id == event.call_id:
        return state
    return attrs.evolve(state, pending_call_id=event.call_id)


@_handles(ev.CommandFailed)
def _on_command_failed(state: SessionState, event: ev.CommandFailed) -> SessionState:
    return attrs.evolve(state, last_error=event.error)
