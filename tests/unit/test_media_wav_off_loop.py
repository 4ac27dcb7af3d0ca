"""The WAV file behind a published microphone is read off the event loop: the loop keeps
running while the file is opened, read and decoded."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tests._support.loop_ticker import TICK, ticking
from tests._support.wav import tone_wav
from utd_stream_rx import media

WRITER_DELAY = 0.3  # seconds the file's bytes are held back


def _write_later(path: Path, data: bytes) -> None:
    time.sleep(WRITER_DELAY)
    with open(path, "wb") as pipe:  # a FIFO: opening it waits for the reader, and vice versa
        pipe.write(data)


async def test_the_wav_file_is_read_while_the_loop_keeps_ticking(tmp_path: Path) -> None:
    # A named pipe whose bytes arrive only after a while: a read on the loop would freeze it
    # for that long, a read on a worker thread leaves the ticker running.
    fifo = tmp_path / "slow.wav"
    os.mkfifo(fifo)
    writer = threading.Thread(target=_write_later, args=(fifo, tone_wav(440.0, 10.0)))
    writer.start()
    started = time.monotonic()
    try:
        async with ticking() as ticks:
            published = await media.start_audio(
                media.AudioSourceSpec("wav", path=fifo, loop=False)
            )
    finally:
        writer.join()
    waited = time.monotonic() - started
    try:
        assert waited >= WRITER_DELAY * 0.9
        # Half the ticks the wait could hold, at least: a blocked loop counts none.
        assert ticks.count >= (WRITER_DELAY / TICK) / 2, ticks
        assert published.track is not None
    finally:
        await published.aclose()
