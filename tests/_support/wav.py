"""WAV files of a pure tone, made in memory for tests that publish from a file."""

from __future__ import annotations

import io
import wave

import numpy as np

__all__ = ["tone_wav"]


def tone_wav(hz: float, seconds: float, rate: int = 48_000) -> bytes:
    """A mono 16-bit WAV file of ``seconds`` of a ``hz`` sine."""
    samples = np.arange(int(seconds * rate))
    pcm = (np.sin(2 * np.pi * hz * samples / rate) * 9000).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()
