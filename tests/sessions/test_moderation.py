"""Moderation end to end: real server, reference engine, real audio.

A removed or banned participant is told why before LiveKit disconnects it, what it held is
freed in everyone's views, and a LiveKit token minted before cannot bring it back; an ended
room disconnects everyone and stays closed until its host starts it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from livekit import rtc

from tests._support.seats import holder_is
from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDLiveStreamSession,
    UTDStreamException,
    UTDStreamType,
    media,
)
from utd_stream_rx.models import UTDTokenResponse
from utd_stream_rx.state.events import Disconnected, Event
from utd_stream_rx.state.notices import ParticipantBanned, ParticipantRemoved
from utd_stream_rx.testing import ClientFactory
from utd_stream_rx.testing.media_probe import hear

pytestmark = pytest.mark.e2e


def _recorded(session: UTDAudioRoomSession | UTDLiveStreamSession) -> list[Event]:
    """The session's events from now on, in order."""
    seen: list[Event] = []
    session.events.subscribe(seen.append)
    return seen


_SENT_AWAY = (ParticipantRemoved, ParticipantBanned, Disconnected)


def _kinds(events: list[Event]) -> list[type[Event]]:
    """The kinds of the notices and disconnections among ``events``, in order."""
    return [type(e) for e in events if isinstance(e, _SENT_AWAY)]


async def _turned_away(token: UTDTokenResponse) -> bool:
    """True when LiveKit drops (or refuses) a raw participant joining with ``token``."""
    room = rtc.Room()
    dropped = asyncio.Event()
    room.on("disconnected", lambda *_: dropped.set())
    try:
        await room.connect(token.connect_url, token.token, rtc.RoomOptions(connect_timeout=10))
    except rtc.ConnectError:
        return True
    try:
        await asyncio.wait_for(dropped.wait(), timeout=5)
    except TimeoutError:
        return False
    finally:
        await room.disconnect()
    return True


async def test_a_removed_speaker_is_told_freed_silenced_and_kept_out(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("talk")
    host_id, ann_id, ben_id = unique("host"), unique("ann"), unique("ben")
    host = await make_client().join_audio_room(host_id, room, as_host=True, seat_count=4)
    ann_client = make_client()
    ann = await ann_client.join_audio_room(ann_id, room, audio_source=media.tone(520.0))
    ben = await make_client().join_audio_room(ben_id, room)
    await ann.take_seat(1)
    heard = await hear(host, ann_id)
    assert abs(heard.dominant_hz - 520.0) < 15, heard
    old = await ann_client.api.tokens.mint_room_token(ann_id, room, UTDStreamType.AUDIO_ROOM)
    seen = _recorded(ann)

    await host.remove_participant(ann_id)
    await ann.connected.wait_for(lambda c: not c, timeout=10)
    assert _kinds(seen)[:2] == [ParticipantRemoved, Disconnected], seen
    for session in (host, ben):
        await session.seats.wait_for(holder_is(1, None), timeout=10)
        await session.remote_participants.wait_for(lambda p: ann_id not in p, timeout=10)
    with pytest.raises(TimeoutError):
        await hear(host, ann_id, timeout=1.0)

    assert await _turned_away(old)
    fresh = await ann_client.api.tokens.mint_room_token(ann_id, room, UTDStreamType.AUDIO_ROOM)
    assert not await _turned_away(fresh)
    with pytest.raises(UTDStreamException) as refused:
        await ben.remove_participant(host_id)
    assert (refused.value.status_code, refused.value.code) == (403, "forbidden")


async def test_a_banned_co_publisher_leaves_the_stage_and_may_return_once_unbanned(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("show")
    host_id, cop_id = unique("host"), unique("cop")
    host = await make_client().join_live_stream(host_id, room, as_host=True)
    cop_client = make_client()
    cop = await cop_client.join_live_stream(cop_id, room, audio_source=media.tone(660.0))
    await cop.request_stage()
    await host.invite_to_stage(cop_id)
    await cop.can_publish.wait_for(lambda p: p, timeout=10)
    seen = _recorded(cop)

    await host.ban(cop_id)
    await cop.connected.wait_for(lambda c: not c, timeout=10)
    assert _kinds(seen)[:2] == [ParticipantBanned, Disconnected], seen
    await host.stage.wait_for(lambda s: [m.identity for m in s] == [host_id], timeout=10)
    with pytest.raises(UTDStreamException) as banned:
        await cop_client.api.tokens.mint_room_token(cop_id, room, UTDStreamType.LIVE_STREAM)
    assert banned.value.is_banned and banned.value.status_code == 403
    with pytest.raises(UTDStreamException) as again:
        await cop.rejoin()
    assert again.value.is_banned

    await host.unban(cop_id)
    await cop.rejoin()
    assert cop.connected.value
    await host.remote_participants.wait_for(lambda p: cop_id in p, timeout=10)


async def _join(
    make_client: ClientFactory, kind: UTDStreamType, identity: str, room: str, host: bool = False
) -> UTDAudioRoomSession | UTDLiveStreamSession:
    client = make_client()
    if kind is UTDStreamType.AUDIO_ROOM:
        return await client.join_audio_room(identity, room, as_host=host)
    return await client.join_live_stream(identity, room, as_host=host)


@pytest.mark.parametrize("kind", [UTDStreamType.LIVE_STREAM, UTDStreamType.AUDIO_ROOM])
async def test_ending_a_room_disconnects_everyone_until_the_host_starts_it_again(
    make_client: ClientFactory, unique: Callable[[str], str], kind: UTDStreamType
) -> None:
    room = unique("ending")
    host_id, ann_id, ben_id = unique("host"), unique("ann"), unique("ben")
    host = await _join(make_client, kind, host_id, room, host=True)
    ann = await _join(make_client, kind, ann_id, room)
    ben = await _join(make_client, kind, ben_id, room)
    if isinstance(ben, UTDAudioRoomSession):
        await ben.take_seat(0)
    else:
        await ben.request_stage()

    await host.end_room("show is over")
    for session in (host, ann, ben):
        await session.connected.wait_for(lambda c: not c, timeout=10)
        assert session.disconnect_reason.value == "ended", session.identity
        state = session.room_state.value
        assert state is not None and state.ended, session.identity
    with pytest.raises(UTDStreamException) as closed:
        await ann.rejoin()
    assert (closed.value.status_code, closed.value.code) == (409, "room_ended")
    with pytest.raises(UTDStreamException) as closed:
        await _join(make_client, kind, ben_id, room)
    assert closed.value.code == "room_ended"

    again = await _join(make_client, kind, host_id, room, host=True)
    assert again.connected.value
    await again.room_state.wait_for(lambda s: s is not None and not s.ended, timeout=10)
    fresh = again.room_state.value
    assert fresh is not None and fresh.stage_requests == () and fresh.speak_requests == ()
    assert fresh.seats is None or fresh.seats.holders == ()
    await ann.rejoin()
    assert ann.connected.value and ann.disconnect_reason.value is None
    await again.remote_participants.wait_for(lambda p: ann_id in p, timeout=10)
