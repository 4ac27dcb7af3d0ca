"""Synthetic participants: real sessions on a real stack, each speaking a tone of its own.

A test that checks "everyone hears the speaker" needs to tell speakers apart; giving each
participant its own frequency makes the check one FFT::

    ann = await utd_participants.audio_room("ann", room)
    await ann.take_seat(0)
    heard = await hear(host, "ann")
    assert utd_participants.is_voice_of("ann", heard)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from .. import media
from ..client import UTDStreamClient
from ..media import AudioStats
from ..sessions import UTDAudioRoomSession, UTDLiveStreamSession, UTDSession

__all__ = ["SyntheticParticipants"]

# Far enough apart that the coarse FFT of a short capture never confuses two of them.
_FREQUENCIES = (440.0, 550.0, 660.0, 770.0, 880.0, 990.0, 1100.0, 1210.0, 1320.0, 1430.0)
_TOLERANCE_HZ = 15.0


class SyntheticParticipants:
    """Joins participants through fresh clients, one tone each, and closes them all.

    Args:
        make_client: Makes a client of the engine under test (e.g. ``utd_client_factory``).
    """

    def __init__(self, make_client: Callable[[], UTDStreamClient]) -> None:
        self._make_client = make_client
        self._frequencies: Iterator[float] = itertools.cycle(_FREQUENCIES)
        self._voices: dict[str, float] = {}
        self._sessions: list[UTDSession] = []

    def frequency_of(self, identity: str) -> float:
        """The tone ``identity`` publishes (assigned when it first joined)."""
        try:
            return self._voices[identity]
        except KeyError:
            raise KeyError(f"{identity!r} has not joined through these participants") from None

    def is_voice_of(self, identity: str, heard: AudioStats) -> bool:
        """Whether ``heard`` is ``identity``'s tone, clearly audible."""
        return heard.rms > 0.02 and abs(heard.dominant_hz - self.frequency_of(identity)) < (
            _TOLERANCE_HZ
        )

    async def audio_room(
        self, identity: str, room_name: str, **options: Any
    ) -> UTDAudioRoomSession:
        """Join ``room_name`` as ``identity`` (options as for ``join_audio_room``)."""
        session = await self._make_client().join_audio_room(
            identity, room_name, audio_source=self._voice(identity), **options
        )
        self._sessions.append(session)
        return session

    async def live_stream(
        self, identity: str, room_name: str, **options: Any
    ) -> UTDLiveStreamSession:
        """Join ``room_name`` as ``identity`` (options as for ``join_live_stream``)."""
        session = await self._make_client().join_live_stream(
            identity, room_name, audio_source=self._voice(identity), **options
        )
        self._sessions.append(session)
        return session

    async def aclose(self) -> None:
        """Close every session joined through these participants."""
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            await session.aclose()

    def _voice(self, identity: str) -> media.AudioSourceSpec:
        if identity not in self._voices:
            self._voices[identity] = next(self._frequencies)
        return media.tone(self._voices[identity])
