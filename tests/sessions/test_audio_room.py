"""Audio room seats end to end: real server, reference engine, real audio."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from tests._support.seats import holder_is
from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDStreamClient,
    UTDStreamException,
    media,
)
from utd_stream_rx.state import ParticipantSnapshot
from utd_stream_rx.testing import ClientFactory
from utd_stream_rx.testing.media_probe import hear

pytestmark = pytest.mark.e2e



def _mic_muted(
    identity: str, muted: bool
) -> Callable[[Mapping[str, ParticipantSnapshot]], bool]:
    def check(participants: Mapping[str, ParticipantSnapshot]) -> bool:
        who = participants.get(identity)
        return who is not None and any(
            t.kind == "audio" and t.muted is muted for t in who.tracks
        )

    return check


async def _join(
    make_client: ClientFactory,
    identity: str,
    room: str,
    *,
    host: bool = False,
    freq: float = 440.0,
    **kwargs: object,
) -> UTDAudioRoomSession:
    return await make_client().join_audio_room(
        identity, room, as_host=host, audio_source=media.tone(freq), **kwargs  # type: ignore[arg-type]
    )


async def test_free_seats_speak_and_everyone_converges(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("lobby")
    host_id, ann_id, ben_id = unique("host"), unique("ann"), unique("ben")
    host = await _join(make_client, host_id, room, host=True, seat_count=8)
    assert host.seats.value is not None and host.seats.value.count == 8
    ann = await _join(make_client, ann_id, room, freq=520.0)
    ben = await _join(make_client, ben_id, room, freq=700.0)
    assert not ann.can_publish.value

    await ann.take_seat(2)
    # Published on the engine's answer; LiveKit's own permission event follows.
    await ann.can_publish.wait_for(bool, timeout=10)
    for other in (host, ben):
        heard = await hear(other, ann_id)
        assert abs(heard.dominant_hz - 520.0) < 15, heard

    with pytest.raises(UTDStreamException) as taken:
        await ben.take_seat(2)
    assert taken.value.code == "seat_taken"
    with pytest.raises(UTDStreamException) as out_of_range:
        await ben.take_seat(8)
    assert out_of_range.value.status_code == 400
    assert not ben.can_publish.value

    await ann.leave_seat()
    await ann.can_publish.wait_for(lambda p: not p, timeout=10)
    await ben.take_seat(2)
    for session in (host, ann, ben):
        await session.seats.wait_for(holder_is(2, ben_id), timeout=10)
    versions = {s.seats.value.version for s in (host, ann, ben) if s.seats.value}
    assert len(versions) == 1
    with pytest.raises(UTDStreamException) as audio_only:
        await ben.set_camera(True)
    assert audio_only.value.code == "video_not_supported"


async def test_request_mode_approve_and_invite(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("stage")
    host_id, cat_id, dan_id = unique("host"), unique("cat"), unique("dan")
    host = await _join(make_client, host_id, room, host=True, seat_count=4, seat_mode="request")
    cat = await _join(make_client, cat_id, room, freq=600.0)
    dan = await _join(make_client, dan_id, room, freq=800.0)

    with pytest.raises(UTDStreamException) as needs_approval:
        await cat.take_seat(1)
    assert needs_approval.value.status_code == 403

    await cat.request_to_speak()
    requests = await host.speak_requests.wait_for(
        lambda reqs: any(r.identity == cat_id for r in reqs), timeout=10
    )
    await host.approve_speaker(next(r.request_id for r in requests if r.identity == cat_id))
    await cat.can_publish.wait_for(bool, timeout=10)
    heard = await hear(host, cat_id)
    assert abs(heard.dominant_hz - 600.0) < 15, heard

    await host.invite_to_speak(dan_id, seat_index=3)
    await dan.invitations.wait_for(lambda inv: any(i.identity == dan_id for i in inv), timeout=10)
    await dan.accept_invitation()
    await host.seats.wait_for(holder_is(3, dan_id), timeout=10)
    heard = await hear(cat, dan_id)
    assert abs(heard.dominant_hz - 800.0) < 15, heard

    await host.kick_from_seat(3)
    await dan.can_publish.wait_for(lambda p: not p, timeout=10)
    await host.lock_seat(0)
    with pytest.raises(UTDStreamException) as locked:
        await host.take_seat(0)
    assert locked.value.code == "seat_locked"


async def test_abrupt_disconnect_frees_the_seat(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("drop")
    host = await _join(make_client, unique("host"), room, host=True, seat_count=2)
    eve_id = unique("eve")
    eve = await _join(make_client, eve_id, room)
    await eve.take_seat(1)
    await host.seats.wait_for(holder_is(1, eve_id), timeout=10)
    await eve.room.disconnect()  # no leave_seat: the engine learns it from LiveKit's webhook
    await host.seats.wait_for(holder_is(1, None), timeout=20)


async def test_flutter_quickstart_translated(utd_stack: object) -> None:
    """The Flutter SDK's quickstart, line by line, against the local stack."""
    from utd_stream_rx import UTDStreamType

    client = UTDStreamClient(
        app_id="1234567890",
        app_key="a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        base_url=utd_stack.base_url,  # type: ignore[attr-defined]
    )
    async with client:
        # Audio room
        room = await client.join_audio_room(
            identity="u1", room_name="lobby", as_host=True, seat_count=8,
        )
        await room.take_seat(0)
        # Live stream
        live = await client.join_live_stream(
            identity="host1", room_name="show", as_host=True,
        )
        await live.go_live()
        # 1:1 call
        await client.authenticate(identity="u1")
        call = client.call_session(UTDStreamType.VIDEO_CALL)
        await call.start(callee_identity="u2")

        assert room.can_publish.value and live.connected.value
        assert call.call_id.value is not None
        await call.end()
        await room.leave_seat()


async def test_decline_mute_unlock_and_errors_change_nothing(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("salon")
    host_id, fay_id, gus_id = unique("host"), unique("fay"), unique("gus")
    host = await _join(make_client, host_id, room, host=True, seat_count=3, seat_mode="request")
    fay = await _join(make_client, fay_id, room, freq=610.0)
    gus = await _join(make_client, gus_id, room, freq=730.0)

    # An invitation the invitee declines: no seat, no grant, the invitation is gone.
    await host.invite_to_speak(gus_id, seat_index=1)
    await gus.invitations.wait_for(lambda inv: any(i.identity == gus_id for i in inv), timeout=10)
    await gus.decline_invitation()
    await gus.invitations.wait_for(lambda inv: not inv, timeout=10)
    await host.seats.wait_for(holder_is(1, None), timeout=10)
    assert not gus.can_publish.value

    # The engine owns invitations: an invitee accepts as soon as the host's invite returned,
    # without waiting for its own view of the room to show it.
    await host.invite_to_speak(fay_id, seat_index=2)
    await fay.accept_invitation()
    assert fay.seats.value is not None and fay.seats.value.seats[2].identity == fay_id
    await fay.can_publish.wait_for(bool, timeout=10)

    # Muting a seat is seen by everyone; the holder's track is muted at the SFU.
    await gus.remote_participants.wait_for(_mic_muted(fay_id, False), timeout=10)
    await host.mute_seat(2)
    for session in (host, fay, gus):
        await session.seats.wait_for(lambda g: g is not None and g.seats[2].muted, timeout=10)
    await gus.remote_participants.wait_for(_mic_muted(fay_id, True), timeout=10)
    await host.mute_seat(2, muted=False)
    await gus.seats.wait_for(lambda g: g is not None and not g.seats[2].muted, timeout=10)
    await gus.remote_participants.wait_for(_mic_muted(fay_id, False), timeout=10)

    # Refused commands raise clearly and leave every view as it was.
    await host.lock_seat(0)
    await gus.seats.wait_for(lambda g: g is not None and g.seats[0].locked, timeout=10)
    before = gus.seats.value
    for bad in (0, 2, 3):  # locked (and not approved), taken, out of range
        with pytest.raises(UTDStreamException):
            await gus.take_seat(bad)
    with pytest.raises(UTDStreamException) as not_host:
        await gus.lock_seat(1)
    assert not_host.value.code == "forbidden"
    with pytest.raises(ValueError):
        await gus.take_seat(-1)
    with pytest.raises(TypeError):
        await gus.take_seat("1")  # type: ignore[arg-type]
    assert gus.seats.value == before and not gus.can_publish.value

    # Unlocked, an approved speaker can sit there.
    await host.unlock_seat(0)
    await gus.request_to_speak(0)
    requests = await host.speak_requests.wait_for(bool, timeout=10)
    await host.approve_speaker(requests[0].request_id)
    await gus.can_publish.wait_for(bool, timeout=10)
    await fay.seats.wait_for(holder_is(0, gus_id), timeout=10)
    heard = await hear(fay, gus_id)
    assert abs(heard.dominant_hz - 730.0) < 15, heard
