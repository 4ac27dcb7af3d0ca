import wave
from pathlib import Path

import numpy as np
import pytest

from utd_stream_rx import UTDStreamException, media


def test_dominant_frequency_and_rms_of_a_sine() -> None:
    t = np.arange(48_000) / 48_000
    samples = (np.sin(2 * np.pi * 1000 * t) * 0.5 * 32767).astype(np.int16)
    assert abs(media.dominant_frequency(samples, 48_000) - 1000) < 2
    assert abs(media.rms(samples) - 0.5 / np.sqrt(2)) < 0.01


def test_silence_has_no_frequency_and_no_energy() -> None:
    zeros = np.zeros(4800, dtype=np.int16)
    assert media.dominant_frequency(zeros, 48_000) == 0.0
    assert media.rms(zeros) == 0.0


def test_specs_validate_their_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        media.tone(5.0)
    with pytest.raises(ValueError):
        media.tone(440, amplitude=2)
    with pytest.raises(ValueError):
        media.test_pattern(width=321)
    with pytest.raises(ValueError):
        media.wav_file(tmp_path / "missing.wav")


def _write_wav(path: Path, frequency: float) -> None:
    t = np.arange(16_000) / 16_000
    pcm = (np.sin(2 * np.pi * frequency * t) * 0.3 * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(pcm.tobytes())


async def test_wav_source_produces_a_track(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    _write_wav(path, 300.0)
    published = await media.start_audio(media.wav_file(path))
    try:
        assert published.track.name == "microphone"
    finally:
        await published.aclose()
        await published.aclose()  # idempotent


async def test_microphone_without_a_device_is_a_clear_error() -> None:
    # This machine has no sound card (or no sounddevice): the error says what to use instead.
    try:
        published = await media.start_audio(media.microphone())
    except UTDStreamException as exc:
        assert exc.code == "no_device" and "tone" in str(exc)
    else:  # a machine with a real microphone
        await published.aclose()
