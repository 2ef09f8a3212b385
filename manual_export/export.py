"""Write the ONNX model and the side files sherpa-onnx and onnx-asr read.

The graph's interface is NeMo's own export (`audio_signal` [B, F, T] float32,
`length` [B] int64 -> `logprobs` [B, T', V+1]) plus an `encoded_lengths`
output that both runtimes ignore, so the folder is a drop-in for either.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import torch

from manual_export.config import ModelConfig
from manual_export.model import EncDecCTC

__all__ = [
    "BLANK_TOKEN",
    "INPUT_NAMES",
    "OPSET",
    "OUTPUT_NAMES",
    "SIDE_FILE_NAMES",
    "export_onnx",
    "external_data_files",
    "large_model_target",
    "quantize_int8",
    "token_lines",
    "write_metadata",
    "write_side_files",
]

# Written beside model.onnx by `write_side_files`; an export folder holds nothing else.
SIDE_FILE_NAMES = ("tokens.txt", "vocab.txt", "config.json", "features.npz")

OPSET = 17
INPUT_NAMES = ("audio_signal", "length")
OUTPUT_NAMES = ("logprobs", "encoded_lengths")
BLANK_TOKEN = "<blk>"
ONNX_ASR_MODEL_TYPE = "nemo-conformer-ctc"
# Tracing example: two items of different length so the padding masks are traced as data, not constants.
_EXAMPLE_FRAMES = (256, 173)


@contextmanager
def large_model_target(onnx_path: Path) -> Iterator[Path]:
    """A path to export to; afterwards the file lands at `onnx_path` in one piece.

    Past ONNX's 2 GB protobuf limit the TorchScript exporter writes every weight
    as its own file beside the model (hundreds of files). Those are gathered
    into one `<name>.data` file next to `onnx_path`, which onnxruntime and
    onnx-asr load by path.
    """
    with tempfile.TemporaryDirectory(dir=onnx_path.parent, prefix=".trace-") as tmp:
        raw = Path(tmp) / onnx_path.name
        yield raw
        if len(list(Path(tmp).iterdir())) == 1:
            os.replace(raw, onnx_path)
            return
        proto = onnx.load(str(raw))
        onnx.save(proto, str(onnx_path), save_as_external_data=True,
                  all_tensors_to_one_file=True, location=f"{onnx_path.name}.data",
                  size_threshold=1024)


def external_data_files(onnx_path: Path) -> list[Path]:
    """The external data file written beside `onnx_path`, if the model needed one."""
    data = onnx_path.with_name(f"{onnx_path.name}.data")
    return [data] if data.exists() else []


def export_onnx(model: EncDecCTC, onnx_path: Path) -> None:
    """Trace `model` with the TorchScript exporter into `onnx_path` (batch and time dynamic)."""
    feat_in = model.config.encoder.feat_in
    generator = torch.Generator().manual_seed(0)
    audio = torch.randn(len(_EXAMPLE_FRAMES), feat_in, max(_EXAMPLE_FRAMES), generator=generator)
    length = torch.tensor(_EXAMPLE_FRAMES, dtype=torch.int64)
    with torch.no_grad(), warnings.catch_warnings(), large_model_target(onnx_path) as target:
        # The TorchScript exporter is deprecated in favour of dynamo; its warnings are noise here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (audio, length),
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={
                "audio_signal": {0: "batch", 2: "time"},
                "length": {0: "batch"},
                "logprobs": {0: "batch", 1: "frames"},
                "encoded_lengths": {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def write_metadata(onnx_path: Path, metadata: Mapping[str, str]) -> None:
    """Add string metadata to the ONNX file in place (sherpa-onnx reads these).

    External weights stay where they are: only the graph file is rewritten.
    """
    model = onnx.load(str(onnx_path), load_external_data=False)
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(model, str(onnx_path))


def sherpa_metadata(config: ModelConfig, vocabulary: Sequence[str]) -> dict[str, str]:
    """The keys sherpa-onnx's NeMo CTC model requires, and the ones its own export scripts add."""
    normalize = config.preprocessor.normalize
    return {
        "vocab_size": str(len(vocabulary) + 1),
        "subsampling_factor": str(config.encoder.subsampling_factor),
        "normalize_type": "" if normalize in (None, "NA") else str(normalize),
        "model_type": config.model_class,
        "version": "1",
        "comment": "rebuilt from a .nemo archive without NeMo by manual_export",
    }


def token_lines(vocabulary: Sequence[str]) -> list[str]:
    """`piece id` lines with the blank last.

    A space label (character models) becomes `▁`: the files are split on
    spaces, and both runtimes turn `▁` back into a space.
    """
    pieces = [piece.replace(" ", "\u2581") for piece in vocabulary]
    return [f"{piece} {i}" for i, piece in enumerate([*pieces, BLANK_TOKEN])]


def write_side_files(
    out_dir: Path,
    config: ModelConfig,
    vocabulary: Sequence[str],
    state_dict: Mapping[str, torch.Tensor],
) -> list[Path]:
    """tokens.txt, vocab.txt, config.json and features.npz next to the ONNX file."""
    text = "\n".join(token_lines(vocabulary)) + "\n"
    written = []
    for name in ("tokens.txt", "vocab.txt"):
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append(out_dir / name)

    settings = {
        "model_type": ONNX_ASR_MODEL_TYPE,
        "features_size": config.encoder.feat_in,
        "subsampling_factor": config.encoder.subsampling_factor,
        "nemo_model_class": config.model_class,
        "blank_id": len(vocabulary),
        **config.feature_settings(),
    }
    (out_dir / "config.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    written.append(out_dir / "config.json")

    window = state_dict.get("preprocessor.featurizer.window")
    if window is None:
        window = torch.ones(
            config.preprocessor.front_end().win_length
        )  # a model without a window is rectangular
    fb = state_dict["preprocessor.featurizer.fb"]
    np.savez(
        out_dir / "features.npz",
        window=window.to(torch.float32).numpy(),
        fb=fb.to(torch.float32).numpy(),
    )
    written.append(out_dir / "features.npz")
    return written


def quantize_int8(onnx_path: Path, int8_path: Path) -> list[Path]:
    """Dynamic int8 weight quantization, as sherpa-onnx ships its `model.int8.onnx`.

    Returns the files written. A source past ONNX's 2 GB limit (its weights in
    `<name>.data`) may still give an int8 graph past it, so its int8 copy keeps
    external weights too, in `<int8 name>.data`.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    external = bool(external_data_files(onnx_path))
    # The quantizer logs advice and per-tensor notes on the root logger; they would
    # land in the user's terminal as warnings about a step that worked.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(onnx_path), str(int8_path), weight_type=QuantType.QUInt8,
                         use_external_data_format=external)
    finally:
        root.setLevel(level)
    metadata = onnx.load(str(onnx_path), load_external_data=False).metadata_props
    write_metadata(int8_path, {entry.key: entry.value for entry in metadata})
    return [int8_path, *external_data_files(int8_path)]
