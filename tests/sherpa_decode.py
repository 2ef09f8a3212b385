"""Feed the committed fixture WAVs to a sherpa-onnx recognizer, as its own examples do."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np


def wav_samples(path: Path) -> np.ndarray:
    """A 16-bit mono WAV as float32 samples in [-1, 1), what `accept_waveform` wants."""
    with wave.open(str(path)) as data:
        raw = data.readframes(data.getnframes())
    return (np.frombuffer(raw, "<i2") / 32768).astype(np.float32)


def sherpa_tokens(recognizer: Any, wav: Path) -> list[str]:
    """The token strings sherpa-onnx decodes from one file (one stream)."""
    stream = recognizer.create_stream()
    stream.accept_waveform(16000, wav_samples(wav))
    recognizer.decode_stream(stream)
    return list(stream.result.tokens)
