"""Leaving and losing the connection: a room session rejoins and re-syncs from the engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests._support.seats import holder_is
from utd_stream_rx import (
    UTDStreamException,
    UTDStreamType,
    media,
)
from utd_stream_rx.state import ConnectionState
from utd_stream_rx.state.view_specs import CONNECTION_STATE
from utd_stream_rx.testing import (
    ClientFactory,
    ClientsOf,
    LocalStack,
    PrivateStackFactory,
    back_in_room,
)
from utd_stream_rx.testing.media_probe import hear

pytestmark = pytest.mark.e2e



async def test_leave_then_rejoin_resyncs_from_the_engine(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room, host_id, ann_id = unique("again"), unique("host"), unique("ann")
    host = await make_client().join_audio_room(host_id, room, as_host=True, seat_count=4)
    ann = await make_client().join_audio_room(ann_id, room, audio_source=media.tone(620.0))
    await ann.take_seat(1)

    await ann.leave()  # leaving the room gives the seat back (the engine hears it from LiveKit)
    assert not ann.connected.value and not ann.can_publish.value
    await host.seats.wait_for(holder_is(1, None), timeout=15)
    assert ann.seats.value is not None and ann.seats.value.seats[1].identity == ann_id  # stale

    await ann.rejoin()  # a fresh token, connected, and the seat grid re-synced from the engine
    assert ann.connected.value and not ann.can_publish.value
    assert ann.seats.value is not None and ann.seats.value.seats[1].identity is None
    await ann.take_seat(1)
    heard = await hear(host, ann_id)
    assert abs(heard.dominant_hz - 620.0) < 15, heard
    await ann.rejoin()  # connected: nothing to do

    caller = make_client()
    await caller.authenticate(unique("caller"))
    with pytest.raises(UTDStreamException) as no_rejoin:
        await caller.call_session(UTDStreamType.AUDIO_CALL).rejoin()
    assert no_rejoin.value.code == "call_ended"  # no live call to go back to
    await ann.aclose()
    with pytest.raises(UTDStreamException) as closed:
        await ann.rejoin()
    assert closed.value.code == "closed"


@pytest.fixture
def private_stack(utd_private_stack: PrivateStackFactory) -> LocalStack:
    """A stack of this test's own, since the test restarts its livekit-server."""
    return utd_private_stack()


@pytest.fixture
def private_clients(private_stack: LocalStack, utd_clients_of: ClientsOf) -> ClientFactory:
    """Clients of :func:`private_stack`, closed after the test (before the stack stops)."""
    return utd_clients_of(private_stack)


@pytest.mark.slow
async def test_livekit_server_restart_is_reported_and_recovered(
    private_stack: LocalStack, private_clients: ClientFactory
) -> None:
    host = await private_clients().join_audio_room("host", "lobby", as_host=True, seat_count=4)
    ann = await private_clients().join_audio_room("ann", "lobby", audio_source=media.tone(700.0))
    await ann.take_seat(2)
    states: list[ConnectionState] = []
    ann.room.store.view(CONNECTION_STATE).subscribe(states.append)

    await private_stack.livekit.arestart()

    # Honest reporting: the session says it lost the server, it does not pretend.
    await ann.connected.wait_for(lambda c: not c, timeout=15)
    assert any(s is not ConnectionState.CONNECTED for s in states), states
    for session in (host, ann):
        await back_in_room(session, timeout=30)

    # State comes back from the engine: ann still holds seat 2, may publish, and is heard.
    await ann.can_publish.wait_for(bool, timeout=15)
    for session in (host, ann):
        await session.seats.wait_for(holder_is(2, "ann"), timeout=10)
    heard = await hear(host, "ann", timeout=15)
    assert abs(heard.dominant_hz - 700.0) < 15, heard
