"""Audio room seats end to end: real server, reference engine, real audio."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDSeatGrid,
    UTDStreamClient,
    UTDStreamException,
    media,
)
from utd_stream_rx.testing.media_probe import hear

pytestmark = pytest.mark.e2e

ClientFactory = Callable[[], UTDStreamClient]


def _holder(index: int, identity: str | None) -> Callable[[UTDSeatGrid | None], bool]:
    def check(grid: UTDSeatGrid | None) -> bool:
        return grid is not None and grid.seats[index].identity == identity

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
    assert ann.can_publish.value
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
        await session.seats.wait_for(_holder(2, ben_id), timeout=10)
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
    await host.seats.wait_for(_holder(3, dan_id), timeout=10)
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
    await host.seats.wait_for(_holder(1, eve_id), timeout=10)
    await eve.room.disconnect()  # no leave_seat: the engine learns it from LiveKit's webhook
    await host.seats.wait_for(_holder(1, None), timeout=20)


async def test_flutter_quickstart_translated(utd_stack: object) -> None:
    """The Flutter SDK's quickstart, line by line, against the local stack."""
    from utd_stream_rx import UTDStreamClient, UTDStreamType

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
