"""The same user connecting again (a reload, a second device, a return to the first one) keeps
what it holds: LiveKit replaces the old connection, and the engine frees nothing for it.

Each new connection plays its own tone, so the test tells which one the others hear.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from tests._support.figures import record
from tests._support.seats import holder_is
from utd_stream_rx import UTDCallStatus, UTDStreamType, media
from utd_stream_rx.state import ConnectionState
from utd_stream_rx.state.view_specs import CONNECTION_STATE
from utd_stream_rx.testing import ClientFactory
from utd_stream_rx.testing.media_probe import hear

pytestmark = pytest.mark.e2e

# The engine hears of the replaced connection's departure a moment after the new one joined:
# long enough for that webhook to have arrived (and been ignored).
SETTLE = 2.0
KEPT: list[str] = []


def _is_disconnected(state: ConnectionState) -> bool:
    return state is ConnectionState.DISCONNECTED


async def _heard_at(session: object, identity: str, hz: float) -> None:
    """Wait until ``session`` hears ``identity`` at ``hz`` (the newest connection's tone)."""
    heard: object = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        try:
            # The replaced connection's track may linger a moment: listen again if it ends.
            stats = await hear(session, identity, timeout=5)  # type: ignore[arg-type]
        except TimeoutError as exc:
            heard = exc
        else:
            if abs(stats.dominant_hz - hz) < 15:
                return
            heard = stats
        await asyncio.sleep(0.25)
    raise AssertionError(f"{identity} not heard at {hz} Hz: {heard!r}")


@pytest.fixture(scope="module", autouse=True)
def _figure() -> Iterator[None]:
    yield None
    record("reconnects that kept their place", ", ".join(KEPT) or "none")


async def test_a_seated_speaker_connecting_again_keeps_the_seat_and_is_heard(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room, host_id, ann_id = unique("cont"), unique("host"), unique("ann")
    host = await make_client().join_audio_room(host_id, room, as_host=True, seat_count=2)
    first = await make_client().join_audio_room(ann_id, room, audio_source=media.tone(520.0))
    await first.take_seat(1)
    await _heard_at(host, ann_id, 520.0)

    # A second device (or a reload): LiveKit drops the first connection.
    second = await make_client().join_audio_room(ann_id, room, audio_source=media.tone(660.0))
    await first.room.store.view(CONNECTION_STATE).wait_for(_is_disconnected, timeout=10)
    await second.can_publish.wait_for(bool, timeout=10)
    await _heard_at(host, ann_id, 660.0)
    await asyncio.sleep(SETTLE)
    assert holder_is(1, ann_id)(host.seats.value), host.seats.value
    assert second.can_publish.value

    # Back on the first device: rejoin() takes the place back, and the seat stays.
    await first.rejoin()
    await second.room.store.view(CONNECTION_STATE).wait_for(_is_disconnected, timeout=10)
    await first.can_publish.wait_for(bool, timeout=10)
    await _heard_at(host, ann_id, 520.0)
    await asyncio.sleep(SETTLE)
    assert holder_is(1, ann_id)(host.seats.value), host.seats.value
    KEPT.append("seat x2")


async def test_a_stage_member_connecting_again_stays_on_stage_and_is_heard(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    show, star_id, guest_id = unique("cont-show"), unique("star"), unique("guest")
    star = await make_client().join_live_stream(star_id, show, as_host=True)
    first = await make_client().join_live_stream(guest_id, show, audio_source=media.tone(540.0))
    await star.invite_to_stage(guest_id, direct=True)
    await first.can_publish.wait_for(bool, timeout=10)
    await _heard_at(star, guest_id, 540.0)

    second = await make_client().join_live_stream(guest_id, show, audio_source=media.tone(700.0))
    await first.room.store.view(CONNECTION_STATE).wait_for(_is_disconnected, timeout=10)
    await second.can_publish.wait_for(bool, timeout=10)
    await _heard_at(star, guest_id, 700.0)
    await asyncio.sleep(SETTLE)
    assert [m.identity for m in star.stage.value] == [star_id, guest_id]

    await first.rejoin()
    await first.can_publish.wait_for(bool, timeout=10)
    await _heard_at(star, guest_id, 540.0)
    await asyncio.sleep(SETTLE)
    assert [m.identity for m in star.stage.value] == [star_id, guest_id]
    KEPT.append("stage x2")


async def test_call_parties_connecting_again_keep_the_call_and_are_heard(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    alice_id, bob_id = unique("alice"), unique("bob")
    alice_client, bob_client = make_client(), make_client()
    await alice_client.authenticate(alice_id)
    await bob_client.authenticate(bob_id)
    alice = alice_client.call_session(UTDStreamType.AUDIO_CALL, audio_source=media.tone(450.0))
    bob = bob_client.call_session(UTDStreamType.AUDIO_CALL, audio_source=media.tone(750.0))
    call = await alice.start(bob_id)
    await bob.accept(call.call_id)
    await _heard_at(bob, alice_id, 450.0)

    # The callee's second device joins the call; the call goes on and carries its voice.
    bob_again_client = make_client()
    await bob_again_client.authenticate(bob_id)
    bob_again = bob_again_client.call_session(
        UTDStreamType.AUDIO_CALL, audio_source=media.tone(880.0)
    )
    await bob_again.join(call.call_id)
    await bob.room.store.view(CONNECTION_STATE).wait_for(_is_disconnected, timeout=10)
    await _heard_at(alice, bob_id, 880.0)
    await asyncio.sleep(SETTLE)
    assert alice.status.value is UTDCallStatus.ACTIVE

    # The caller reconnects through rejoin() after its connection went (replaced here by a
    # second device of its own, which then stops); the callee hears it again.
    alice_again_client = make_client()
    await alice_again_client.authenticate(alice_id)
    alice_again = alice_again_client.call_session(
        UTDStreamType.AUDIO_CALL, audio_source=media.tone(330.0)
    )
    await alice_again.join(call.call_id)
    await alice.room.store.view(CONNECTION_STATE).wait_for(_is_disconnected, timeout=10)
    await _heard_at(bob_again, alice_id, 330.0)
    await alice.rejoin()
    await _heard_at(bob_again, alice_id, 450.0)
    await asyncio.sleep(SETTLE)
    assert alice.status.value is UTDCallStatus.ACTIVE
    assert (await alice_client.api.calls.get_call(call.call_id)).status is UTDCallStatus.ACTIVE
    await alice.end()
    await bob_again.status.wait_for(lambda s: s is UTDCallStatus.ENDED, timeout=10)
    KEPT.append("call x3")
