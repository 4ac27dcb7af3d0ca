"""The big room's fixed cast, in the bench's own process: the host, the speakers and a guest.

The speakers are seated and publish a tone each (a frequency of their own) for the whole run,
for both sides alike; the guest is a listener the seat changes seat and unseat. The seat
changes are the host's and the speakers' own commands, each of which changes the grid.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable

import attrs
from _bigroom_sync import SeatChange, grid_key

from utd_stream_rx import UTDAudioRoomSession, UTDStreamClient, media
from utd_stream_rx.testing import LocalStack

FREQUENCIES = (440.0, 550.0, 660.0, 770.0, 880.0, 990.0, 1100.0, 1210.0, 1320.0, 1430.0)
SPARE_SEATS = 2  # seats beyond the speakers', for the guest and the locks


@attrs.define
class Cast:
    """The host, the seated speakers and the guest, all on one client of the engine."""

    client: UTDStreamClient
    host: UTDAudioRoomSession
    speakers: list[UTDAudioRoomSession]
    guest: UTDAudioRoomSession

    @property
    def spare(self) -> int:
        """The first seat no speaker holds."""
        return len(self.speakers)

    async def aclose(self) -> None:
        """Everyone leaves."""
        for session in [self.guest, *self.speakers, self.host]:
            await session.aclose()
        await self.client.aclose()


async def open_room(stack: LocalStack, room: str, speakers: int) -> Cast:
    """The host sets up the grid; ``speakers`` speakers take seats 0.. and publish a tone."""
    if speakers >= len(FREQUENCIES):
        raise ValueError(f"at most {len(FREQUENCIES) - 1} speakers (one tone each)")
    client = UTDStreamClient(stack.app_id, stack.app_key, stack.base_url)
    host = await client.join_audio_room(
        "host", room, as_host=True, seat_count=speakers + SPARE_SEATS
    )
    seated = []
    for index in range(speakers):
        speaker = await client.join_audio_room(
            f"speaker-{index}", room, audio_source=media.tone(FREQUENCIES[index])
        )
        await speaker.take_seat(index)
        seated.append(speaker)
    guest = await client.join_audio_room("guest", room, audio_source=media.tone(FREQUENCIES[-1]))
    return Cast(client, host, seated, guest)


Clock = Callable[[], None]
"""Marks the moment a change's request is about to go to the engine."""

Change = tuple[str, Callable[[Cast, Clock], Awaitable[None]]]


async def _lock_spare(cast: Cast, clock: Clock) -> None:
    clock()
    await cast.host.lock_seat(cast.spare)


async def _unlock_spare(cast: Cast, clock: Clock) -> None:
    clock()
    await cast.host.unlock_seat(cast.spare)


async def _guest_takes_next(cast: Cast, clock: Clock) -> None:
    clock()
    await cast.guest.take_seat(cast.spare + 1)


async def _guest_takes_spare(cast: Cast, clock: Clock) -> None:
    clock()
    await cast.guest.take_seat(cast.spare)


async def _leave(session: UTDAudioRoomSession, clock: Clock) -> None:
    # leave_seat stops the microphone before it asks the engine; done first here, so the clock
    # starts at the request (on a saturated machine unpublishing alone took seconds).
    await session.set_microphone(False)
    clock()
    await session.leave_seat()


async def _guest_leaves(cast: Cast, clock: Clock) -> None:
    await _leave(cast.guest, clock)


async def _host_kicks_guest(cast: Cast, clock: Clock) -> None:
    clock()
    await cast.host.kick_from_seat(cast.spare)


async def _mute_first(cast: Cast, clock: Clock) -> None:
    clock()
    await cast.host.mute_seat(0, True)


async def _unmute_first(cast: Cast, clock: Clock) -> None:
    clock()
    await cast.host.mute_seat(0, False)


async def _last_speaker_leaves(cast: Cast, clock: Clock) -> None:
    await _leave(cast.speakers[-1], clock)


async def _last_speaker_returns(cast: Cast, clock: Clock) -> None:
    clock()
    await cast.speakers[-1].take_seat(len(cast.speakers) - 1)


CHANGES: tuple[Change, ...] = (
    ("host locks a free seat", _lock_spare),
    ("guest takes a seat", _guest_takes_next),
    ("host mutes a speaker's seat", _mute_first),
    ("host unlocks the seat", _unlock_spare),
    ("guest leaves the seat", _guest_leaves),
    ("host unmutes the seat", _unmute_first),
    ("a speaker leaves", _last_speaker_leaves),
    ("the speaker takes the seat again", _last_speaker_returns),
    ("guest takes a seat", _guest_takes_spare),
    ("host kicks the guest", _host_kicks_guest),
)
"""One cycle that ends where it began (but for the engine's version): repeated as needed."""


def _mark(marks: list[float]) -> None:
    marks.append(time.monotonic())


async def make_changes(cast: Cast, count: int, pace: float) -> list[SeatChange]:
    """Make ``count`` seat changes, one every ``pace`` seconds; when each was sent and the
    grid the engine holds after it (a ``GET`` of the seats with the host's bearer)."""
    made = []
    for n in range(count):
        what, change = CHANGES[n % len(CHANGES)]
        began = time.monotonic()
        marks: list[float] = []
        await change(cast, functools.partial(_mark, marks))
        sent = marks[0]
        took = time.monotonic() - sent
        grid = await cast.host.get_seats()
        made.append(SeatChange(what, sent, grid_key(grid), took))
        await asyncio.sleep(max(0.0, began + pace - time.monotonic()))
    return made
