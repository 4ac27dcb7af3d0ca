"""The audio room's seat flow end to end (real livekit-server, reference engine, real audio):
request and cancel, deny with a reason, invitation to a seat and a kick, expiry, wrong use."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests._support.engine import EngineClient
from tests._support.event_log import EventLog
from tests._support.paths import SEATS
from utd_stream_engine.state import METADATA_REQUESTS
from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDSeatPlace,
    UTDSeatStatus,
    UTDStageStatus,
    UTDStreamException,
    media,
)
from utd_stream_rx.state import ParticipantSnapshot
from utd_stream_rx.state.notices import (
    SeatInvitationReceived,
    SpeakRequestDenied,
    SpeakRequestExpired,
    StageRequestExpired,
)
from utd_stream_rx.testing import ClientFactory, ClientsOf, LocalStack, PrivateStackFactory
from utd_stream_rx.testing.media_probe import hear

pytestmark = pytest.mark.e2e

LISTENER = UTDSeatStatus()
TIMEOUT = 10.0


async def _join(
    make_client: ClientFactory, identity: str, room: str, *, host: bool = False, freq: float = 440
) -> UTDAudioRoomSession:
    extra: dict[str, Any] = {"seat_count": 4, "seat_mode": "request"} if host else {}
    return await make_client().join_audio_room(
        identity, room, as_host=host, audio_source=media.tone(freq), **extra
    )


def _is(want: UTDSeatStatus) -> Callable[[UTDSeatStatus], bool]:
    def check(status: UTDSeatStatus) -> bool:
        return status == want

    return check


def _no_audio_from(identity: str) -> Callable[[Mapping[str, ParticipantSnapshot]], bool]:
    def check(participants: Mapping[str, ParticipantSnapshot]) -> bool:
        who = participants.get(identity)
        return who is not None and not any(t.kind == "audio" for t in who.tracks)

    return check


async def test_request_cancel_deny_invite_and_kick(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("seatflow")
    host_id, ann_id, ben_id = unique("host"), unique("ann"), unique("ben")
    host = await _join(make_client, host_id, room, host=True)
    ann = await _join(make_client, ann_id, room, freq=520.0)
    ben = await _join(make_client, ben_id, room, freq=700.0)
    ann_events = EventLog(ann)

    # Request a seat, then cancel.
    await ann.request_to_speak(2)
    assert ann.seat_status.value == UTDSeatStatus(UTDSeatPlace.REQUESTED, 2)
    await host.speak_requests.wait_for(lambda rs: [r.identity for r in rs] == [ann_id], TIMEOUT)
    await ann.cancel_speak_request()
    assert ann.seat_status.value == LISTENER
    await host.speak_requests.wait_for(lambda rs: not rs, TIMEOUT)

    # Request again; the host says no, with a reason.
    await ann.request_to_speak()
    assert ann.seat_status.value == UTDSeatStatus(UTDSeatPlace.REQUESTED, None)
    requests = await host.speak_requests.wait_for(bool, TIMEOUT)
    await host.deny_speaker(requests[0].request_id, "full")
    denied = await ann_events.wait_for(SpeakRequestDenied)
    assert (denied.request_id, denied.identity, denied.reason) == (
        requests[0].request_id, ann_id, "full"
    )
    await ann.seat_status.wait_for(_is(LISTENER), TIMEOUT)
    assert not ann.can_publish.value

    # The host invites; ann accepts and is heard.
    await host.invite_to_speak(ann_id, seat_index=1)
    invited = await ann_events.wait_for(SeatInvitationReceived)
    assert invited.invitation.identity == ann_id and invited.invitation.seat_index == 1
    await ann.seat_status.wait_for(_is(UTDSeatStatus(UTDSeatPlace.INVITED, 1)), TIMEOUT)
    await ann.accept_invitation()
    assert ann.seat_status.value == UTDSeatStatus(UTDSeatPlace.SEATED, 1)
    await ann.can_publish.wait_for(bool, timeout=TIMEOUT)
    heard = await hear(ben, ann_id)
    assert abs(heard.dominant_hz - 520.0) < 15, heard

    # The host kicks: publishing is revoked and ann's audio is gone.
    await host.kick_from_seat(1)
    await ann.can_publish.wait_for(lambda granted: not granted, TIMEOUT)
    await ann.seat_status.wait_for(_is(LISTENER), TIMEOUT)
    await ben.remote_participants.wait_for(_no_audio_from(ann_id), TIMEOUT)
    ann_events.dispose()


def _engine_views(session: UTDAudioRoomSession) -> dict[str, object]:
    """What the engine owns, as this session shows it (connection quality and active speakers
    move on their own)."""
    return {
        "room_state": session.room_state.value,
        "seats": session.seats.value,
        "speak_requests": session.speak_requests.value,
        "invitations": session.invitations.value,
        "seat_status": session.seat_status.value,
        "can_publish": session.can_publish.value,
        "connected": session.connected.value,
        "disconnect_reason": session.disconnect_reason.value,
    }


async def test_wrong_use_raises_with_the_code_and_changes_no_view(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("wrongseat")
    host_id, ann_id, ben_id = unique("host"), unique("ann"), unique("ben")
    host = await _join(make_client, host_id, room, host=True)
    ann = await _join(make_client, ann_id, room)
    ben = await _join(make_client, ben_id, room)
    await ben.request_to_speak()
    requests = await host.speak_requests.wait_for(bool, TIMEOUT)
    assert ben.room_state.value is not None
    version = ben.room_state.value.version
    for session in (host, ann):
        await session.room_state.wait_for(
            lambda state: state is not None and state.version >= version, TIMEOUT
        )
    before = {name: _engine_views(s) for name, s in (("host", host), ("ann", ann), ("ben", ben))}

    wrong = (
        (ann.deny_speaker(requests[0].request_id, "no"), 403, "forbidden"),
        (ann.cancel_speak_request(), 404, "no_request"),
        (ann.accept_invitation(), 404, "no_invitation"),
        (ann.decline_invitation(), 404, "no_invitation"),
        (host.deny_speaker(requests[0].request_id + 100), 404, "no_request"),
        (host.approve_speaker(requests[0].request_id + 100), 404, "no_request"),
    )
    for command, status, code in wrong:
        with pytest.raises(UTDStreamException) as refused:
            await command
        assert (refused.value.status_code, refused.value.code) == (status, code)
    # Bad arguments are refused before any request.
    with pytest.raises(TypeError):
        await host.deny_speaker("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reason must be a string of 1-64 characters"):
        await host.deny_speaker(requests[0].request_id, "x" * 65)

    after = {name: _engine_views(s) for name, s in (("host", host), ("ann", ann), ("ben", ben))}
    assert after == before
    assert ben.seat_status.value == UTDSeatStatus(UTDSeatPlace.REQUESTED, None)


async def test_a_busy_rooms_answer_still_shows_the_listeners_request(
    make_client: ClientFactory, unique: Callable[[str], str], utd_stack: LocalStack
) -> None:
    room = unique("busyseats")
    host_id, ann_id = unique("host"), unique("ann")
    host = await _join(make_client, host_id, room, host=True)
    ann = await _join(make_client, ann_id, room)
    # More requesters than a snapshot lists, each asking over raw HTTP.
    raw = EngineClient(utd_stack.base_url, utd_stack.app_id, utd_stack.app_key)
    try:
        for n in range(METADATA_REQUESTS):
            bearer = (await raw.token(unique(f"asker{n}"), room, "audio_room"))["user_token"]
            asked = await raw.post(SEATS.format(room=room) + "/request", bearer=bearer)
            assert asked.status == 200, asked
    finally:
        await raw.aclose()
    await ann.request_to_speak(3)
    assert ann.room_state.value is not None and ann.room_state.value.requests_omitted is False
    assert ann.seat_status.value == UTDSeatStatus(UTDSeatPlace.REQUESTED, 3)
    everyone = METADATA_REQUESTS + 1
    await host.speak_requests.wait_for(lambda rs: len(rs) == everyone, TIMEOUT)


async def test_requests_expire_after_the_engines_request_ttl(
    utd_private_stack: PrivateStackFactory, utd_clients_of: ClientsOf
) -> None:
    stack = utd_private_stack(["--request-ttl", "2"])
    make = utd_clients_of(stack)
    host = await make().join_audio_room("host", "hall", as_host=True, seat_mode="request")
    ann = await make().join_audio_room("ann", "hall")
    star = await make().join_live_stream("star", "gig", as_host=True)
    fan = await make().join_live_stream("fan", "gig")
    ann_events, fan_events = EventLog(ann), EventLog(fan)

    await ann.request_to_speak()
    await fan.request_stage()
    assert ann.seat_status.value.place is UTDSeatPlace.REQUESTED
    assert fan.stage_status.value is UTDStageStatus.REQUESTED
    requests = await host.speak_requests.wait_for(bool, TIMEOUT)

    expired = await ann_events.wait_for(SpeakRequestExpired, timeout=15)
    assert (expired.request_id, expired.identity) == (requests[0].request_id, "ann")
    await ann.seat_status.wait_for(_is(LISTENER), TIMEOUT)
    await host.speak_requests.wait_for(lambda rs: not rs, TIMEOUT)
    stage_expired = await fan_events.wait_for(StageRequestExpired, timeout=15)
    assert stage_expired.identity == "fan"
    await fan.stage_status.wait_for(lambda s: s is UTDStageStatus.OFF, TIMEOUT)
    await star.refresh_stage()
    assert star.stage_requests.value == ()
    for log in (ann_events, fan_events):
        log.dispose()
