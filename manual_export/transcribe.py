"""Transcribe a WAV file with an exported folder, with NumPy and onnxruntime only.

This is the path a user runs where PyTorch is not installed, so nothing here
(or in what it imports) may import torch: WAV reading, NeMo's features in
NumPy, the ONNX model in onnxruntime, greedy CTC decoding.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

from manual_export.features import FeatureConfig, compute_features
from manual_export.wav import read_wav

__all__ = [
    "BLANK_TOKEN",
    "ModelDirError",
    "Transcript",
    "greedy_ctc",
    "ids_to_text",
    "read_tokens",
    "transcribe",
    "transcribe_many",
]

BLANK_TOKEN = "<blk>"
_WORD_START = "\u2581"  # SentencePiece marks a word start with "▁"


class ModelDirError(ValueError):
    """The exported folder is missing a file or its files disagree; one line for the user."""


@dataclass(frozen=True)
class Transcript:
    """A greedy CTC transcript and the per-frame evidence behind it."""

    text: str
    frame_ids: list[int]
    """Argmax id of every encoder frame, before collapsing repeats and dropping blanks."""
    frames: int
    """Encoder frames decoded (the model's output length)."""
    seconds: float
    """Wall-clock time of the whole run: reading, features, inference, decoding."""

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` form: ``{text, frame_ids, frames, seconds}``."""
        return asdict(self)


def read_tokens(path: str | os.PathLike[str]) -> list[str]:
    """Pieces indexed by id from ``tokens.txt`` (``piece id`` lines, ``<blk>`` last).

    The id is split off the last space, so a character model's space label
    (a line ``"  0"``) survives.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ModelDirError(f"{path}: cannot read: {error.strerror}") from error
    pieces: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        piece, _, index = line.rpartition(" ")
        if not piece or not index.isdigit():
            raise ModelDirError(f"{path}:{number}: expected 'piece id', got {line!r}")
        pieces[int(index)] = piece
    if sorted(pieces) != list(range(len(lines))):
        raise ModelDirError(f"{path}: ids are not 0..{len(lines) - 1}, each once")
    tokens = [pieces[i] for i in range(len(lines))]
    if not tokens or tokens[-1] != BLANK_TOKEN:
        raise ModelDirError(f"{path}: the last token must be {BLANK_TOKEN} (CTC blank)")
    return tokens


def greedy_ctc(frame_ids: Sequence[int], blank: int) -> list[int]:
    """Collapse repeated ids, then drop blanks (best path decoding)."""
    ids: list[int] = []
    previous = None
    for frame_id in frame_ids:
        if frame_id not in (previous, blank):
            ids.append(frame_id)
        previous = frame_id
    return ids


def ids_to_text(ids: Sequence[int], tokens: Sequence[str]) -> str:
    """Join pieces; SentencePiece word starts become spaces."""
    return "".join(tokens[i] for i in ids).replace(_WORD_START, " ").strip()


HEADS = ("rnnt", "ctc")


def transcribe_many(
    out_dir: str | os.PathLike[str],
    wav_paths: Sequence[str | os.PathLike[str]],
    *,
    head: str | None = None,
    nemo_version: str = "<=2.4",
) -> list[Any]:
    """Transcribe each file with the folder's model; transducers decode the batch together.

    ``head`` picks a hybrid model's decoder: ``rnnt`` (the default for any
    transducer folder) or ``ctc`` (its ``ctc/`` folder).
    """
    folder = Path(out_dir)
    settings = _read_json(folder / "config.json")
    transducer = settings.get("model_type") in ("nemo-conformer-rnnt", "nemo-conformer-tdt")
    if head not in (None, *HEADS):
        raise ModelDirError(f"unknown head {head!r} (choose rnnt or ctc)")
    if head == "ctc" and transducer:
        if not (folder / "ctc" / "config.json").is_file():
            raise ModelDirError(f"{folder}: this transducer has no CTC head (no ctc/ folder)")
        return transcribe_many(folder / "ctc", wav_paths, nemo_version=nemo_version)
    if head == "rnnt" and not transducer:
        raise ModelDirError(f"{folder}: a CTC model has no rnnt head")
    if not transducer:
        return _transcribe_ctc(folder, wav_paths, nemo_version=nemo_version)
    from manual_export.transcribe_transducer import transcribe_transducer

    tokens = read_tokens(folder / "tokens.txt")
    buffers = _read_buffers(folder / "features.npz")
    return transcribe_transducer(folder, wav_paths, settings, tokens, buffers,
                                 nemo_version=nemo_version)


def transcribe(
    out_dir: str | os.PathLike[str],
    wav_path: str | os.PathLike[str],
    *,
    nemo_version: str = "<=2.4",
) -> Transcript:
    """Run the exported CTC model in ``out_dir`` on a mono WAV file and greedy-decode it.

    Uses ``model.onnx``, ``tokens.txt``, ``config.json`` and, when present,
    ``features.npz`` (the checkpoint's own window and filterbank; without it
    they are rebuilt from the config).
    """
    return _transcribe_ctc(Path(out_dir), [wav_path], nemo_version=nemo_version)[0]


def _transcribe_ctc(
    folder: Path, wav_paths: Sequence[str | os.PathLike[str]], *, nemo_version: str
) -> list[Transcript]:
    """One padded batch, as NeMo's own `transcribe` batches files (batching moves the
    features of each item's last frames: they see padding, not reflected samples)."""
    started = time.perf_counter()
    settings = _read_json(folder / "config.json")
    config = FeatureConfig.from_dict(settings, nemo_version=nemo_version)
    factor = _subsampling_factor(settings, folder)
    tokens = read_tokens(folder / "tokens.txt")
    window, fb = _read_buffers(folder / "features.npz")
    session = _open_session(folder / "model.onnx")

    audio = [read_wav(path, sample_rate=config.sample_rate) for path in wav_paths]
    sizes = np.array([samples.size for samples in audio])
    batch = np.zeros((len(audio), int(sizes.max())), np.float32)
    for item, samples in enumerate(audio):
        batch[item, : samples.size] = samples
    features, lengths = compute_features(batch, sizes, config, window=window, fb=fb)
    (logprobs,) = session.run(["logprobs"], {"audio_signal": features, "length": lengths})
    if logprobs.shape[-1] != len(tokens):
        raise ModelDirError(
            f"{folder}: model gives {logprobs.shape[-1]} classes, tokens.txt has {len(tokens)}"
        )
    results = []
    for item, length in enumerate(lengths):
        # The output's time axis follows the feature tensor, which under NeMo >= 2.5
        # holds one frame past the valid length; decode only the valid frames.
        encoded = (int(length) - 1) // factor + 1
        if logprobs.shape[1] < encoded:
            raise ModelDirError(
                f"{folder}: model gave {logprobs.shape[1]} frames, expected {encoded}"
                " (is subsampling_factor right?)"
            )
        frame_ids = logprobs[item, :encoded].argmax(axis=-1).tolist()
        text = ids_to_text(greedy_ctc(frame_ids, blank=len(tokens) - 1), tokens)
        results.append(Transcript(text, frame_ids, len(frame_ids),
                                  round(time.perf_counter() - started, 4)))
    return results


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ModelDirError(f"{path}: cannot read: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise ModelDirError(f"{path}: not valid JSON: {error}") from error


def _subsampling_factor(settings: dict, folder: Path) -> int:
    factor = settings.get("subsampling_factor")
    if not isinstance(factor, int) or factor < 1:
        raise ModelDirError(
            f"{folder / 'config.json'}: needs a positive integer subsampling_factor, got {factor!r}"
        )
    return factor


def _read_buffers(path: Path) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not path.exists():
        return None, None
    try:
        with np.load(path, allow_pickle=False) as buffers:
            missing = {"window", "fb"} - set(buffers.files)
            if missing:
                raise ModelDirError(f"{path}: missing arrays {sorted(missing)}")
            return buffers["window"], buffers["fb"]
    except ModelDirError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        # np.load says "Cannot load file containing pickled data" or names no file at all.
        raise ModelDirError(f"{path}: not a NumPy .npz of arrays ({_first_line(error)})") from None


def _open_session(path: Path) -> onnxruntime.InferenceSession:
    if not path.is_file():
        raise ModelDirError(f"{path}: no such file (export the model first)")
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own unexported types
        raise ModelDirError(f"{path}: onnxruntime cannot load it ({_first_line(error)})") from None
    names = {i.name for i in session.get_inputs()}, {o.name for o in session.get_outputs()}
    if not ({"audio_signal", "length"} <= names[0] and "logprobs" in names[1]):
        raise ModelDirError(f"{path}: expected inputs audio_signal, length and output logprobs")
    return session


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__
