"""A small exported model folder and a test WAV, shared by the transcribe and runtime tests."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
from nemo_fixture import write_fake_nemo

SAMPLE_RATE = 16000


def export_small_model(folder: Path, *, bpe: bool = True) -> Path:
    """Export the fixture's 2-layer random-weight Conformer-CTC and return the output folder."""
    from manual_export.api import export_nemo

    nemo = write_fake_nemo(folder / "small.nemo", bpe=bpe)
    out_dir = folder / "exported"
    report = export_nemo(nemo, out_dir)
    assert report.ok, report.to_dict()
    return out_dir


def write_test_wav(path: Path, seconds: float, seed: int = 0) -> np.ndarray:
    """A 16-bit mono WAV of gliding tones in noise; returns the samples as read back (float32)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    glide = np.sin(2 * math.pi * (200 + 300 * t) * t) * (0.5 + 0.5 * np.sin(2 * math.pi * 1.5 * t))
    signal = 0.4 * glide + 0.05 * rng.standard_normal(n)
    integers = np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes(integers.tobytes())
    return (integers / 32768.0).astype(np.float32)
