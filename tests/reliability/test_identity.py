"""Who is who, tried as an outsider: only the app's backend vouches for an identity, the engine
decides who hosts, and what it takes away (a seat, the right to be here) no old token gives back.

The engine here runs in production mode; the SDK's clients get a ``token_provider`` that signs
identity tokens as the app's backend would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from livekit import rtc

from tests._support.figures import record
from tests._support.raw_engine import RawEngineOf
from tests._support.tokens import claims
from utd_stream_engine.identity import sign_identity_token
from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDAuthState,
    UTDCall,
    UTDStreamClient,
    UTDStreamException,
    UTDStreamType,
    media,
)
from utd_stream_rx.testing import ClientsOf, LocalStack, PrivateStackFactory
from utd_stream_rx.testing.media_probe import hear

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def secure_stack() -> Iterator[LocalStack]:
    """A stack whose engine requires identity tokens (production mode)."""
    stack = LocalStack(secure=True).start()
    try:
        yield stack
    finally:
        stack.engine.stop()
        stack.livekit.kill()
        stack.cleanup()


def _forged_bearer(identity: str, secret: str, app_id: str) -> str:
    """An engine bearer as an outsider would forge it, signed with what an app holds."""
    now = int(time.time())
    payload = {"iss": "utd-devengine", "app": app_id, "sub": identity, "iat": now,
              "exp": now + 600}
    return jwt.encode(payload, secret, algorithm="HS256")


async def test_only_the_apps_backend_vouches_for_an_identity(
    secure_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    clients_of: ClientsOf,
    utd_unique: Callable[[str], str],
) -> None:
    unique = utd_unique
    stack = secure_stack
    raw = raw_engine_of(stack)
    owner, room = unique("owner"), unique("show")
    host = await clients_of(stack)().join_live_stream(owner, room, as_host=True)
    host_token = {"identity": owner, "room_name": room, "type": "live_stream", "role": "host"}
    unsigned = jwt.encode({"sub": owner, "exp": int(time.time()) + 600}, key="",
                          algorithm="none")
    attempts: list[tuple[str, dict[str, Any], dict[str, str] | None, int, str]] = [
        # The app key is all an outsider has; alone it proves nobody.
        ("/api/v1/auth/user-token", {"identity": owner}, None, 401, "identity_required"),
        ("/api/v1/token", host_token, None, 401, "identity_required"),
        # Identity tokens signed with the wrong secret, with none, or expired.
        ("/api/v1/auth/user-token",
         {"identity_token": sign_identity_token(stack.app_key, owner)}, None,
         401, "invalid_identity_token"),
        ("/api/v1/token", {**host_token, "identity_token": unsigned}, None,
         401, "invalid_identity_token"),
        ("/api/v1/auth/user-token",
         {"identity_token": stack.identity_token(owner, ttl=-60)}, None,
         401, "identity_token_expired"),
        # A genuine token of one user, used to speak for another.
        ("/api/v1/token", {**host_token, "identity_token": stack.identity_token(unique("eve"))},
         None, 403, "forbidden"),
        # A forged engine bearer.
        ("/api/v1/token", {k: v for k, v in host_token.items() if k != "identity"},
         raw.headers(_forged_bearer(owner, stack.app_key, stack.app_id)), 401, "unauthorized"),
    ]
    refused = 0
    for path, body, headers, status, code in attempts:
        answer = await raw.send("POST", path, body, headers=headers)
        assert (answer.status, answer.code) == (status, code), (path, body, answer)
        refused += 1
    record("impersonation attempts refused", f"{refused} of {len(attempts)}")

    # A verified viewer asking to host an owned room: refused; as a viewer it cannot publish.
    eve = unique("eve")
    eve_proof = stack.identity_token(eve)
    grab = await raw.send(
        "POST", "/api/v1/token", {**host_token, "identity": eve, "identity_token": eve_proof}
    )
    assert (grab.status, grab.code) == (403, "forbidden"), grab
    viewer = await raw.send("POST", "/api/v1/token", {
        "identity_token": stack.identity_token(eve), "room_name": room, "type": "live_stream"})
    assert viewer.status == 200 and viewer.body["identity"] == eve, viewer
    assert claims(viewer.body["token"])["video"]["canPublish"] is False
    invite = await raw.send("POST", f"/api/v1/live/{room}/stage/invite", {"identity": eve},
                            bearer=viewer.body["user_token"])
    assert (invite.status, invite.code) == (403, "forbidden"), invite
    assert [m.identity for m in host.stage.value] == [owner]

    # A role the app's backend grants makes a moderator, who may run host commands.
    mod = unique("mod")
    moderator = await raw.send("POST", "/api/v1/auth/user-token", {
        "identity_token": stack.identity_token(mod, roles=[f"host:{room}"])})
    assert moderator.status == 200, moderator
    invite = await raw.send("POST", f"/api/v1/live/{room}/stage/invite",
                            {"identity": eve, "direct": True},
                            bearer=moderator.body["user_token"])
    assert invite.status == 200, invite
    await host.stage.wait_for(lambda s: [m.identity for m in s] == [owner, eve], timeout=10)


async def test_sessions_work_with_a_token_provider_and_are_heard(
    secure_stack: LocalStack,
    created_clients: list[UTDStreamClient],
    clients_of: ClientsOf,
    utd_unique: Callable[[str], str],
) -> None:
    unique = utd_unique
    make = clients_of(secure_stack)
    room, host_id, ann_id = unique("talk"), unique("host"), unique("ann")
    host = await make().join_audio_room(host_id, room, as_host=True, seat_count=2)
    ann = await make().join_audio_room(ann_id, room, audio_source=media.tone(610.0))
    await ann.take_seat(1)
    heard = await hear(host, ann_id)
    assert abs(heard.dominant_hz - 610.0) < 15, heard
    # No token lets publish: the host of a live stream gets the grant once LiveKit has it in.
    star_id = unique("star")
    star = await make().join_live_stream(star_id, unique("show"), as_host=True)
    joined = time.monotonic()
    await star.can_publish.wait_for(bool, timeout=10)
    waited = time.monotonic() - joined
    record("publish grant after join", f"{waited * 1e3:.0f} ms after connecting (live host)")
    # Without a provider, a client of a production engine cannot get in.
    bare = UTDStreamClient(secure_stack.app_id, secure_stack.app_key, secure_stack.base_url)
    created_clients.append(bare)
    with pytest.raises(UTDStreamException) as refused:
        await bare.join_audio_room(unique("bare"), room)
    assert (refused.value.status_code, refused.value.code) == (401, "identity_required")


async def test_a_kick_or_a_ban_outlives_every_old_token(
    secure_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    clients_of: ClientsOf,
    utd_unique: Callable[[str], str],
) -> None:
    unique = utd_unique
    stack = secure_stack
    raw = raw_engine_of(stack)
    make = clients_of(stack)
    room, host_id, kim_id, bo_id = unique("r"), unique("host"), unique("kim"), unique("bo")
    host = await make().join_audio_room(host_id, room, as_host=True, seat_count=3)

    # Kim takes a seat, keeps the token minted while seated, and is kicked.
    kim = await raw.send("POST", "/api/v1/token", {
        "identity_token": stack.identity_token(kim_id), "room_name": room, "type": "audio_room"})
    taken = await raw.send("POST", f"/api/v1/audio-rooms/{room}/seats/take", {"seat_index": 1},
                           bearer=kim.body["user_token"])
    assert taken.status == 200, taken
    seated = await raw.send("POST", "/api/v1/token", {
        "identity_token": stack.identity_token(kim_id), "room_name": room, "type": "audio_room"})
    assert claims(seated.body["token"])["attributes"]["utd.seat"] == "1"
    await host.kick_from_seat(1)
    # With the old token, straight to LiveKit: it may listen, never publish.
    lk = rtc.Room()
    await lk.connect(seated.body["url"], seated.body["token"], rtc.RoomOptions(connect_timeout=10))
    source = await media.start_audio(media.tone(700.0))
    try:
        await asyncio.sleep(1.0)  # time for any grant to arrive, if one were (wrongly) coming
        assert not lk.local_participant.permissions.can_publish
        with pytest.raises(rtc.participant.PublishTrackError):
            await lk.local_participant.publish_track(
                source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            )
    finally:
        await lk.disconnect()
        await source.aclose()

    # Bo speaks from a seat through the SDK, then the app's backend bans Bo.
    bo_client = make()
    bo: UTDAudioRoomSession = await bo_client.join_audio_room(
        bo_id, room, audio_source=media.tone(820.0))
    await bo.take_seat(2)
    old = await raw.send("POST", "/api/v1/token", {
        "identity_token": stack.identity_token(bo_id), "room_name": room, "type": "audio_room"})
    assert old.status == 200, old
    backend = {"X-UTD-App-Id": stack.app_id, "X-UTD-App-Secret": stack.app_secret}
    wrong = await raw.send("POST", "/api/v1/admin/bans", {"identity": bo_id},
                           headers=raw.headers())  # the app key is not enough
    assert (wrong.status, wrong.code) == (401, "unauthorized"), wrong
    banned = await raw.send("POST", "/api/v1/admin/bans", {"identity": bo_id}, headers=backend)
    assert banned.status == 200 and room in banned.body["rooms"], banned
    await host.seats.wait_for(lambda g: g is not None and g.seats[2].identity is None, timeout=10)
    await host.remote_participants.wait_for(lambda p: bo_id not in p, timeout=10)
    # Every old credential is refused: the bearer at the engine, the token at LiveKit.
    again = await raw.send("POST", f"/api/v1/audio-rooms/{room}/seats/take", {"seat_index": 2},
                           bearer=old.body["user_token"])
    assert (again.status, again.code) == (403, "banned"), again
    lk = rtc.Room()
    removed = asyncio.Event()
    lk.on("disconnected", lambda *_: removed.set())
    await lk.connect(old.body["url"], old.body["token"], rtc.RoomOptions(connect_timeout=10))
    try:
        await asyncio.wait_for(removed.wait(), timeout=10)
        assert not lk.local_participant.permissions.can_publish
    finally:
        await lk.disconnect()
    record("bans enforced", "seat freed, removed from LiveKit, old bearer and token refused")
    lifted = await raw.send("DELETE", f"/api/v1/admin/bans/{bo_id}", headers=backend)
    assert lifted.status == 200 and lifted.body["banned"] is False, lifted


@pytest.mark.slow
async def test_bearers_renew_and_every_command_works_after_expiry(
    utd_private_stack: PrivateStackFactory,
    clients_of: ClientsOf,
    utd_unique: Callable[[str], str],
) -> None:
    unique = utd_unique
    ttl = 3.0
    stack = utd_private_stack(["--user-token-ttl", str(ttl)], secure=True)
    make = clients_of(stack)
    alice_client, bob_client, host_client = make(), make(), make()
    states: list[UTDAuthState] = []
    bob_client.auth_state.subscribe(states.append)
    calls: list[UTDCall] = []
    bob_client.incoming_calls.subscribe(calls.append)
    alice_id, bob_id = unique("alice"), unique("bob")
    await alice_client.authenticate(alice_id)
    await bob_client.authenticate(bob_id)
    room, show, host_id = unique("room"), unique("show"), unique("host")
    host = await host_client.join_audio_room(host_id, room, as_host=True, seat_count=3,
                                             seat_mode="request")
    ann = await alice_client.join_audio_room(alice_id, room)
    star = await host_client.join_live_stream(host_id, show, as_host=True)
    fan = await bob_client.join_live_stream(bob_id, show)

    await asyncio.sleep(ttl + 1)  # every bearer minted so far has expired
    # Seats, requests, invitations and host commands.
    await ann.request_to_speak()
    requests = await host.speak_requests.wait_for(bool, timeout=10)
    await host.approve_speaker(requests[0].request_id)
    await host.seats.wait_for(lambda g: g is not None and any(
        s.identity == alice_id for s in g.seats), timeout=10)
    await host.lock_seat(2)
    await host.mute_seat(next(s.index for s in host.seats.value.seats  # type: ignore[union-attr]
                              if s.identity == alice_id))
    await asyncio.sleep(ttl)
    await ann.leave_seat()
    await host.invite_to_speak(alice_id, seat_index=1)
    await ann.accept_invitation()
    await host.kick_from_seat(1)
    await host.invite_to_speak(alice_id, seat_index=0)
    await ann.decline_invitation()
    await host.setup_seats(4, "free")
    # Stage commands.
    await fan.request_stage()
    await star.stage_requests.wait_for(bool, timeout=10)
    await star.invite_to_stage(bob_id)
    await fan.can_publish.wait_for(bool, timeout=10)
    await asyncio.sleep(ttl)
    await fan.leave_stage()
    await star.invite_to_stage(bob_id, direct=True)
    await star.remove_from_stage(bob_id)
    await fan.refresh_stage()
    # rejoin() after expiry uses a fresh bearer for what follows.
    await ann.leave()
    await asyncio.sleep(ttl + 1)
    await ann.rejoin()
    await ann.get_seats()
    # The incoming-call stream outlives its bearer and an engine restart.
    await asyncio.to_thread(stack.engine.restart)
    await asyncio.sleep(ttl + 1)
    alice = alice_client.call_session(UTDStreamType.AUDIO_CALL)
    call = await alice.start(bob_id)
    ringing = await _wait_for_call(calls, call.call_id)
    assert ringing.callee_identity == bob_id
    bob = bob_client.call_session(UTDStreamType.AUDIO_CALL)
    await bob.ringing(call.call_id)
    await bob.accept(call.call_id)
    await alice.end()
    await asyncio.sleep(ttl)
    declined = alice_client.call_session(UTDStreamType.AUDIO_CALL)
    second = await declined.start(bob_id)
    await bob_client.call_session(UTDStreamType.AUDIO_CALL).reject(second.call_id)

    renewals = sum(c.api.credential.renewals for c in (alice_client, bob_client)
                   if c.api.credential is not None)
    assert renewals >= 4, renewals
    assert UTDAuthState.REFRESHING in states and states[-1] is UTDAuthState.AUTHENTICATED
    assert UTDAuthState.FAILED not in states, states
    record("renewals", f"{renewals} bearer renewals over two clients (bearer lifetime {ttl:g} s)")


async def _wait_for_call(calls: list[UTDCall], call_id: str, timeout: float = 15.0) -> UTDCall:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in calls:
            if call.call_id == call_id:
                return call
        await asyncio.sleep(0.05)
    raise AssertionError(f"call {call_id} never arrived on incoming_calls: {calls}")
