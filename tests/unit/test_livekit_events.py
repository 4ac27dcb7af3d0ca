"""The LiveKit adapter without a server: real ``livekit.rtc`` objects built from LiveKit's own
protobuf messages (or the plain values LiveKit passes) go in, typed events come out."""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Mapping

import attrs
import pytest
from livekit import rtc
from livekit.rtc._proto import participant_pb2, track_pb2
from livekit.rtc._utils import BroadcastQueue
from livekit.rtc.room import EventTypes

from utd_stream_rx._livekit_events import (
    LIVEKIT_EVENTS,
    LiveKitEventConverter,
    RoomEventSubscription,
    connected_event,
    reconnected_event,
)
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.events import ParticipantSnapshot, PermissionSnapshot, TrackSnapshot

LISTENER = participant_pb2.ParticipantPermission(can_subscribe=True)
MICROPHONE_ONLY = participant_pb2.ParticipantPermission(
    can_publish=True,
    can_subscribe=True,
    can_publish_data=True,
    can_publish_sources=[rtc.TrackSource.SOURCE_MICROPHONE],
)


def _info(identity: str, **fields: typing.Any) -> participant_pb2.ParticipantInfo:
    fields.setdefault("permission", LISTENER)  # what a plain room token grants
    return participant_pb2.ParticipantInfo(sid=f"PA_{identity}", identity=identity, **fields)


def remote(identity: str, **fields: typing.Any) -> rtc.RemoteParticipant:
    return rtc.RemoteParticipant(participant_pb2.OwnedParticipant(info=_info(identity, **fields)))


def local(identity: str, **fields: typing.Any) -> rtc.LocalParticipant:
    owned = participant_pb2.OwnedParticipant(info=_info(identity, **fields))
    return rtc.LocalParticipant(BroadcastQueue(), owned)


def _publication_info(
    sid: str,
    kind: rtc.TrackKind.ValueType,
    source: rtc.TrackSource.ValueType,
    *,
    muted: bool = False,
) -> track_pb2.OwnedTrackPublication:
    info = track_pb2.TrackPublicationInfo(sid=sid, kind=kind, source=source, muted=muted)
    return track_pb2.OwnedTrackPublication(info=info)


def remote_audio(sid: str = "TR_A", *, muted: bool = False) -> rtc.RemoteTrackPublication:
    return rtc.RemoteTrackPublication(
        _publication_info(
            sid, rtc.TrackKind.KIND_AUDIO, rtc.TrackSource.SOURCE_MICROPHONE, muted=muted
        )
    )


def remote_screen(sid: str = "TR_V") -> rtc.RemoteTrackPublication:
    return rtc.RemoteTrackPublication(
        _publication_info(sid, rtc.TrackKind.KIND_VIDEO, rtc.TrackSource.SOURCE_SCREENSHARE)
    )


def local_camera(sid: str = "TR_L") -> rtc.LocalTrackPublication:
    # A local publication makes an asyncio future: build it inside a running loop.
    return rtc.LocalTrackPublication(
        _publication_info(sid, rtc.TrackKind.KIND_VIDEO, rtc.TrackSource.SOURCE_CAMERA)
    )


def with_publications(
    participant: rtc.RemoteParticipant, *publications: rtc.RemoteTrackPublication
) -> rtc.RemoteParticipant:
    # What rtc.Room does when LiveKit reports a publication (it has no public setter).
    for publication in publications:
        participant._track_publications[publication.sid] = publication
    return participant


def audio_track(sid: str = "TR_A") -> rtc.RemoteAudioTrack:
    info = track_pb2.TrackInfo(sid=sid, kind=rtc.TrackKind.KIND_AUDIO)
    return rtc.RemoteAudioTrack(track_pb2.OwnedTrack(info=info))


@attrs.frozen
class RoomAtRest:
    """The three things the converters read from a room, as a connected room would say them."""

    local_participant: rtc.LocalParticipant
    remote_participants: Mapping[str, rtc.RemoteParticipant]
    metadata: str = ""


def converter() -> LiveKitEventConverter:
    return LiveKitEventConverter(RoomAtRest(local("me"), {}))


# -- the table ----------------------------------------------------------------------------------


def test_every_name_in_the_table_is_a_livekit_event_type() -> None:
    livekit_names = set(typing.get_args(EventTypes))
    unknown = set(LIVEKIT_EVENTS) - livekit_names
    assert not unknown, f"not LiveKit events (renamed in LiveKit?): {sorted(unknown)}"


def test_the_table_holds_every_converter_under_its_livekit_name() -> None:
    methods = {
        name
        for name, _ in inspect.getmembers(LiveKitEventConverter, inspect.isfunction)
        if not name.startswith("_")
    }
    assert set(LIVEKIT_EVENTS) == methods
    for name, convert in LIVEKIT_EVENTS.items():
        assert convert is getattr(LiveKitEventConverter, name), name


# -- participants -------------------------------------------------------------------------------


def test_a_joiner_arrives_with_permission_attributes_and_tracks() -> None:
    bob = with_publications(
        remote(
            "bob", name="Bob", metadata="m", attributes={"utd.role": "speaker"},
            permission=MICROPHONE_ONLY,
        ),
        remote_audio(muted=True),
        remote_screen(),
    )
    event = converter().participant_connected(bob)
    assert event == ev.ParticipantJoined(
        ParticipantSnapshot(
            "bob",
            name="Bob",
            metadata="m",
            attributes={"utd.role": "speaker"},
            permissions=PermissionSnapshot(True, ("microphone",), True, True),
            tracks=(
                TrackSnapshot("TR_A", "audio", "microphone", muted=True),
                TrackSnapshot("TR_V", "video", "screen_share"),
            ),
        )
    )
    assert event.participant.can_publish
    assert converter().participant_disconnected(bob) == ev.ParticipantLeft("bob")


def test_permission_changes_carry_the_whole_permission_and_who_is_local() -> None:
    convert = converter()
    granted = convert.participant_permissions_changed(local("me"), MICROPHONE_ONLY)
    assert granted == ev.PermissionsChanged(
        "me", PermissionSnapshot(True, ("microphone",), True, True), is_local=True
    )
    revoked = convert.participant_permissions_changed(
        remote("bob"), participant_pb2.ParticipantPermission(can_publish_data=True)
    )
    assert revoked == ev.PermissionsChanged("bob", PermissionSnapshot(False, (), False, True))


def test_attributes_metadata_and_name_changes() -> None:
    convert = converter()
    bob = remote("bob", attributes={"utd.role": "speaker", "utd.seat": "1"})
    attributes = convert.participant_attributes_changed({"utd.seat": "1"}, bob)
    assert attributes == ev.ParticipantAttributesChanged(
        "bob", {"utd.role": "speaker", "utd.seat": "1"}, {"utd.seat": "1"}
    )
    me = local("me")
    assert convert.participant_metadata_changed(me, "old", "new") == (
        ev.ParticipantMetadataChanged("me", "new", is_local=True)
    )
    assert convert.participant_name_changed(bob, "Bob", "Robert") == (
        ev.ParticipantNameChanged("bob", "Robert")
    )


@pytest.mark.parametrize(
    ("quality", "name"),
    [
        (rtc.ConnectionQuality.QUALITY_EXCELLENT, "excellent"),
        (rtc.ConnectionQuality.QUALITY_GOOD, "good"),
        (rtc.ConnectionQuality.QUALITY_POOR, "poor"),
        (rtc.ConnectionQuality.QUALITY_LOST, "lost"),
        (rtc.ConnectionQuality.QUALITY_UNKNOWN, "unknown"),
    ],
)
def test_connection_quality_names(quality: rtc.ConnectionQuality, name: str) -> None:
    convert = converter()
    assert convert.connection_quality_changed(remote("bob"), quality) == (
        ev.ConnectionQualityChanged("bob", name)
    )
    assert convert.connection_quality_changed(local("me"), quality) == (
        ev.ConnectionQualityChanged("me", name, is_local=True)
    )


def test_a_quality_for_nobody_known_reports_nothing() -> None:
    good = rtc.ConnectionQuality.QUALITY_GOOD
    assert converter().connection_quality_changed(None, good) is None


# -- tracks -------------------------------------------------------------------------------------


def test_remote_track_events() -> None:
    convert = converter()
    bob, mic, screen = remote("bob"), remote_audio(), remote_screen()
    assert convert.track_published(screen, bob) == (
        ev.TrackPublished("bob", TrackSnapshot("TR_V", "video", "screen_share"))
    )
    assert convert.track_subscribed(audio_track(), mic, bob) == (
        ev.TrackSubscribed("bob", TrackSnapshot("TR_A", "audio", "microphone"))
    )
    # LiveKit may have dropped the track object already: the publication says which one.
    assert convert.track_unsubscribed(None, mic, bob) == ev.TrackUnsubscribed("bob", "TR_A")
    assert convert.track_unpublished(screen, bob) == ev.TrackUnpublished("bob", "TR_V")
    assert convert.track_subscription_failed(bob, "TR_X", "no route") == (
        ev.TrackSubscriptionFailed("bob", "TR_X", "no route")
    )


async def test_mutes_and_local_tracks() -> None:
    convert = converter()
    camera = local_camera()
    assert convert.track_muted(remote("bob"), remote_audio()) == ev.TrackMuted("bob", "TR_A")
    assert convert.track_unmuted(local("me"), camera) == (
        ev.TrackUnmuted("me", "TR_L", is_local=True)
    )
    assert convert.local_track_published(camera, None) == (
        ev.LocalTrackPublished(TrackSnapshot("TR_L", "video", "camera", subscribed=False))
    )
    assert convert.local_track_unpublished(camera) == ev.LocalTrackUnpublished("TR_L")


# -- the room -----------------------------------------------------------------------------------


def test_metadata_speakers_and_reconnecting() -> None:
    convert = converter()
    assert convert.room_metadata_changed("old", '{"v": 2}') == ev.RoomMetadataChanged('{"v": 2}')
    speakers = convert.active_speakers_changed([remote("bob"), local("me")])
    assert speakers == ev.ActiveSpeakersChanged(("bob", "me"))
    assert convert.reconnecting() == ev.Reconnecting()


def test_data_from_a_participant_and_from_the_server() -> None:
    convert = converter()
    chat = rtc.DataPacket(
        data=b"hi", kind=rtc.DataPacketKind.KIND_RELIABLE, participant=remote("bob"), topic="chat"
    )
    assert convert.data_received(chat) == ev.DataReceived(b"hi", "bob", "chat", True)
    server = rtc.DataPacket(
        data=b"{}", kind=rtc.DataPacketKind.KIND_LOSSY, participant=None, topic=""
    )
    assert convert.data_received(server) == ev.DataReceived(b"{}", None, None, False)


@pytest.mark.parametrize(
    ("reason", "name"),
    [
        (rtc.DisconnectReason.ROOM_DELETED, "room_deleted"),
        (rtc.DisconnectReason.PARTICIPANT_REMOVED, "participant_removed"),
        (rtc.DisconnectReason.DUPLICATE_IDENTITY, "duplicate_identity"),
        (9999, "9999"),  # a reason newer than this SDK
    ],
)
def test_disconnect_reasons(reason: int, name: str) -> None:
    assert converter().disconnected(reason) == ev.Disconnected(name)


async def test_connected_and_reconnected_take_snapshots_of_the_room() -> None:
    me = local("me", name="Me", attributes={"utd.role": "host"}, permission=MICROPHONE_ONLY)
    me._track_publications["TR_L"] = local_camera()  # as rtc.Room does after a publish
    bob = with_publications(remote("bob"), remote_audio())
    room = RoomAtRest(me, {"bob": bob}, metadata='{"v": 1}')
    permission = PermissionSnapshot(True, ("microphone",), True, True)
    own = ParticipantSnapshot(
        "me", "Me", attributes={"utd.role": "host"}, permissions=permission,
        tracks=(TrackSnapshot("TR_L", "video", "camera"),),
    )
    roster = (ParticipantSnapshot("bob", tracks=(TrackSnapshot("TR_A", "audio", "microphone"),)),)

    assert connected_event(room) == ev.Connected("me", permission, roster, '{"v": 1}', own)
    assert reconnected_event(room) == ev.Reconnected(roster, '{"v": 1}', permission, own)
    assert LiveKitEventConverter(room).reconnected() == reconnected_event(room)


# -- listening on a room ------------------------------------------------------------------------


async def test_a_subscription_listens_until_disposed(caplog: pytest.LogCaptureFixture) -> None:
    room = rtc.Room()  # never connected: LiveKit's own emitter, fed by hand
    delivered: list[ev.Event] = []
    subscription = RoomEventSubscription(room, delivered.append)

    room.emit("participant_connected", remote("bob"))
    room.emit("connection_quality_changed", None, rtc.ConnectionQuality.QUALITY_GOOD)
    room.emit("participant_active", remote("bob"))  # not in the table: nobody listens
    room.emit("disconnected", rtc.DisconnectReason.ROOM_DELETED)
    joined = ev.ParticipantJoined(ParticipantSnapshot("bob"))
    assert delivered == [joined, ev.Disconnected("room_deleted")]

    with caplog.at_level(logging.ERROR, logger="utd_stream_rx._livekit_events"):
        room.emit("participant_disconnected", None)  # a converter that raises stays here
    assert "participant_disconnected" in caplog.text
    assert len(delivered) == 2

    subscription.dispose()
    subscription.dispose()
    room.emit("participant_connected", remote("carol"))
    assert len(delivered) == 2


async def test_a_delivery_that_raises_is_logged_not_raised_into_livekit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    room = rtc.Room()

    def refuse(event: ev.Event) -> None:
        raise RuntimeError("the store is closed")

    subscription = RoomEventSubscription(room, refuse)
    with caplog.at_level(logging.ERROR, logger="utd_stream_rx._livekit_events"):
        room.emit("reconnecting")
    assert "reconnecting" in caplog.text and "the store is closed" in caplog.text
    subscription.dispose()
