"""Transcribe WAV files with an exported transducer folder (RNNT or TDT), without torch.

The encoder runs once on the padded batch (`encoder-model.onnx`); each item
is then decoded greedily, NeMo's way, with sherpa-onnx's separate prediction
and joint graphs, so the prediction network runs once per emitted token.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from manual_export.features import FeatureConfig, compute_features
from manual_export.greedy import greedy_transducer
from manual_export.transcribe import ModelDirError, ids_to_text
from manual_export.transducer_runtime import SplitSteps, open_session, zero_state
from manual_export.wav import read_wav

__all__ = ["TRANSDUCER_TYPES", "TransducerTranscript", "transcribe_transducer"]

TRANSDUCER_TYPES = ("nemo-conformer-rnnt", "nemo-conformer-tdt")


@dataclass(frozen=True)
class TransducerTranscript:
    """Greedy transducer output: text, token ids, the encoder frame of each (and TDT durations)."""

    text: str
    tokens: list[int]
    timesteps: list[int]
    durations: list[int] | None
    frames: int
    seconds: float

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` form; ``durations`` only for TDT models."""
        data = asdict(self)
        if self.durations is None:
            del data["durations"]
        return data


def transcribe_transducer(
    folder: Path,
    wav_paths: Sequence[str | Path],
    settings: dict[str, Any],
    tokens: Sequence[str],
    buffers: tuple[np.ndarray | None, np.ndarray | None],
    *,
    nemo_version: str = "<=2.4",
) -> list[TransducerTranscript]:
    """Decode every file; `settings` is the folder's config.json, `tokens` its tokens.txt."""
    started = time.perf_counter()
    config = FeatureConfig.from_dict(settings, nemo_version=nemo_version)
    layers, hidden = _positive(settings, "pred_rnn_layers", folder), _positive(
        settings, "pred_hidden", folder)
    max_symbols = _positive(settings, "max_tokens_per_step", folder)
    durations = [int(d) for d in settings.get("durations") or []]
    is_tdt = settings.get("model_type") == TRANSDUCER_TYPES[1]
    if is_tdt != bool(durations):
        raise ModelDirError(f"{folder / 'config.json'}: a TDT model needs its durations list")
    paths = [folder / "encoder-model.onnx", folder / "sherpa-onnx" / "decoder.onnx",
             folder / "sherpa-onnx" / "joiner.onnx"]
    for path in paths:
        if not path.is_file():
            raise ModelDirError(f"{path}: no such file (export the model first)")
    encoder, decoder, joiner = (open_session(path) for path in paths)
    steps = SplitSteps(decoder, joiner)

    audio = [read_wav(path, sample_rate=config.sample_rate) for path in wav_paths]
    lengths = np.array([a.size for a in audio])
    batch = np.zeros((len(audio), int(lengths.max())), np.float32)
    for i, samples in enumerate(audio):
        batch[i, : samples.size] = samples
    features, feature_lengths = compute_features(batch, lengths, config, window=buffers[0],
                                                 fb=buffers[1])
    encoded, encoded_lengths = encoder.run(
        ["outputs", "encoded_lengths"], {"audio_signal": features, "length": feature_lengths})
    expected_classes = len(tokens) + len(durations)
    results = []
    for item, frames in enumerate(encoded_lengths):
        hypothesis = greedy_transducer(
            encoded[item, :, : int(frames)].T, steps.predict, _checked(steps, expected_classes),
            zero_state(layers, hidden), blank=len(tokens) - 1, max_symbols=max_symbols,
            durations=durations)
        results.append(TransducerTranscript(
            text=ids_to_text(hypothesis.tokens, tokens), tokens=hypothesis.tokens,
            timesteps=hypothesis.timesteps,
            durations=hypothesis.durations if is_tdt else None, frames=int(frames),
            seconds=round(time.perf_counter() - started, 4)))
    return results


def _checked(steps: SplitSteps, classes: int):
    """The joint, refusing a joiner whose width disagrees with tokens.txt and the durations."""

    def joint(frame: np.ndarray, g: np.ndarray) -> np.ndarray:
        logits = steps.joint(frame, g)
        if logits.size != classes:
            raise ModelDirError(f"joiner gives {logits.size} outputs, tokens.txt and the "
                                f"durations say {classes}")
        return logits

    return joint


def _positive(settings: dict[str, Any], key: str, folder: Path) -> int:
    value = settings.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelDirError(f"{folder / 'config.json'}: needs a positive integer {key}, "
                            f"got {value!r}")
    return value
