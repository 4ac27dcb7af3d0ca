"""The README's sample test, verbatim: the plugin's fixtures in a user's suite."""

from utd_stream_rx.testing.media_probe import hear


async def test_a_listener_takes_a_seat_and_is_heard(utd_participants, utd_unique):
    room, ann = utd_unique("lobby"), utd_unique("ann")
    host = await utd_participants.audio_room(utd_unique("host"), room, as_host=True, seat_count=4)
    listener = await utd_participants.audio_room(ann, room)

    await listener.take_seat(1)

    assert listener.can_publish.value
    await host.seats.wait_for(lambda grid: grid.seats[1].identity == ann, timeout=10)
    assert utd_participants.is_voice_of(ann, await hear(host, ann))
