"""Publishing on the engine's answer (real livekit-server, reference engine, real audio).

The engine answers ``take_seat`` once LiveKit confirmed the new grant, saying so
(``grant_applied``); the session publishes at once instead of waiting for its own permission
event, while ``can_publish`` still follows that event. A publish LiveKit refuses in the window
between the answer and the publish recovers: the session waits for the permission event as it
would have without the answer.

The window is held open with a microphone source read from a named pipe: the session has the
answer and is starting its source, and the source's bytes arrive only when the test says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from livekit import api

from tests._support.wav import tone_wav
from utd_stream_rx import UTDAudioRoomSession, UTDRoomState, UTDStreamException, media
from utd_stream_rx.error_codes import ErrorCode
from utd_stream_rx.state import events as ev
from utd_stream_rx.testing import ClientFactory
from utd_stream_rx.testing.media_probe import hear

pytestmark = pytest.mark.e2e

TIMEOUT = 10.0
TONE_HZ = 620.0


class _HeldSource:
    """A WAV microphone source behind a named pipe: whoever starts it waits until
    :meth:`release`, which then serves the file to every reader until :meth:`close`."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "held.wav"
        os.mkfifo(self.path)
        self.spec = media.AudioSourceSpec("wav", path=self.path, loop=True)
        self._stopped = threading.Event()
        self._writer = threading.Thread(target=self._serve, daemon=True)

    def release(self) -> None:
        self._writer.start()

    def _serve(self) -> None:
        data = tone_wav(TONE_HZ, 5.0)
        while not self._stopped.is_set():
            # A reader that stops early (it has what it needs) closes the pipe on the writer.
            with contextlib.suppress(BrokenPipeError), open(self.path, "wb") as pipe:
                # Opening waits for a reader, as the reader waits for this.
                if not self._stopped.is_set():
                    pipe.write(data)

    def close(self) -> None:
        self._stopped.set()
        if self._writer.is_alive():
            # A reader of our own lets a writer waiting for one go.
            descriptor = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self._writer.join(timeout=TIMEOUT)
            os.close(descriptor)
        else:
            # Never released: a reader still waiting for the file gets an empty one.
            with contextlib.suppress(OSError):  # ENXIO: nobody is waiting
                os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.fixture
def held_source(tmp_path: Path) -> Iterator[_HeldSource]:
    source = _HeldSource(tmp_path)
    yield source
    source.close()


def _permission(publish: bool) -> api.ParticipantPermission:
    return api.ParticipantPermission(
        can_subscribe=True,
        can_publish=publish,
        can_publish_data=True,
        can_publish_sources=[api.TrackSource.MICROPHONE] if publish else [],
    )


async def _set_livekit_permission(
    lk: api.LiveKitAPI, session: UTDAudioRoomSession, publish: bool
) -> None:
    """What LiveKit holds for ``session``'s participant, changed behind the engine's back."""
    await lk.room.update_participant(
        api.UpdateParticipantRequest(
            room=session.room.rtc_room.name if session.room.rtc_room else "",
            identity=session.identity or "",
            permission=_permission(publish),
        )
    )


def _answers_of(session: UTDAudioRoomSession) -> list[UTDRoomState]:
    """Every room state the session's store receives from now on (answers included)."""
    received: list[UTDRoomState] = []

    def keep(event: ev.Event) -> None:
        if isinstance(event, ev.RoomStateReceived):
            received.append(event.state)

    session.room.store.events.subscribe(keep)
    return received


async def _wait_until(predicate: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.01)


async def _join_pair(
    make_client: ClientFactory, room: str, source: media.AudioSourceSpec
) -> tuple[UTDAudioRoomSession, UTDAudioRoomSession]:
    client = make_client()
    host = await client.join_audio_room("host", room, as_host=True, seat_count=4)
    speaker = await client.join_audio_room("speaker", room, audio_source=source)
    return host, speaker


async def test_take_seat_publishes_on_the_answer_and_can_publish_follows_livekit(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    host, speaker = await _join_pair(make_client, unique("answer"), media.tone(TONE_HZ))
    received = _answers_of(speaker)
    try:
        await speaker.take_seat(2)
        # The engine said LiveKit holds the grant; the room state kept has the metadata's shape.
        assert any(state.grant_applied for state in received), received
        kept = speaker.room.store.state.room_state
        assert kept is not None and kept.grant_applied is False
        # can_publish is LiveKit's word: it comes, and the microphone is heard.
        await speaker.can_publish.wait_for(lambda granted: granted, timeout=TIMEOUT)
        heard = await hear(host, "speaker")
        assert abs(heard.dominant_hz - TONE_HZ) < 15.0, heard
    finally:
        await speaker.aclose()
        await host.aclose()


async def test_a_publish_refused_after_the_answer_recovers_on_the_permission_event(
    make_client: ClientFactory,
    unique: Callable[[str], str],
    utd_livekit_api: api.LiveKitAPI,
    held_source: _HeldSource,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host, speaker = await _join_pair(make_client, unique("refused"), held_source.spec)
    try:
        taking = asyncio.ensure_future(speaker.take_seat(1))
        # The answer is in (the grant applied), the source is starting: LiveKit loses the
        # grant now, behind the engine's back, and the session learns it from LiveKit.
        await speaker.can_publish.wait_for(lambda granted: granted, timeout=TIMEOUT)
        assert not taking.done()
        await _set_livekit_permission(utd_livekit_api, speaker, False)
        await speaker.can_publish.wait_for(lambda granted: not granted, timeout=TIMEOUT)
        with caplog.at_level(logging.INFO, logger="utd_stream_rx.sessions._following"):
            held_source.release()  # the publish goes out while LiveKit refuses it
            await asyncio.sleep(1.0)
            assert not taking.done()
            # LiveKit gets the grant back (as the engine's reconciler would send it).
            await _set_livekit_permission(utd_livekit_api, speaker, True)
            await asyncio.wait_for(taking, 3 * TIMEOUT)
        assert "publishing on the engine's answer failed" in caplog.text
        assert speaker.can_publish.value
        heard = await hear(host, "speaker")
        assert abs(heard.dominant_hz - TONE_HZ) < 15.0, heard
    finally:
        await speaker.aclose()
        await host.aclose()


async def test_a_seat_taken_back_before_the_publish_ends_cleanly(
    make_client: ClientFactory,
    unique: Callable[[str], str],
    held_source: _HeldSource,
) -> None:
    host, speaker = await _join_pair(make_client, unique("kicked"), held_source.spec)
    speaker.connect_timeout = 2.0  # how long the session waits for a grant after the refusal
    try:
        taking = asyncio.ensure_future(speaker.take_seat(0))
        await speaker.can_publish.wait_for(lambda granted: granted, timeout=TIMEOUT)
        await host.kick_from_seat(0)  # the engine takes the grant back
        await speaker.can_publish.wait_for(lambda granted: not granted, timeout=TIMEOUT)
        held_source.release()
        with pytest.raises(UTDStreamException) as failed:
            await asyncio.wait_for(taking, 3 * TIMEOUT)
        assert failed.value.code is ErrorCode.TIMEOUT
        # Nothing is left behind: no track published, the seat free, the session usable.
        await _wait_until(
            lambda: not speaker.room.store.state.local_participant
            or not speaker.room.store.state.local_participant.tracks,
            "the refused track is gone",
        )
        assert not speaker.seat_status.value.is_seated
        await speaker.take_seat(1)
        heard = await hear(host, "speaker")
        assert abs(heard.dominant_hz - TONE_HZ) < 15.0, heard
    finally:
        await speaker.aclose()
        await host.aclose()
