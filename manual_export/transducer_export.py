"""ONNX graphs and side files of a transducer export, in the layouts both runtimes load.

The output folder's root holds onnx-asr's NeMo transducer layout
(`encoder-model.onnx`, `decoder_joint-model.onnx`, `vocab.txt`, `config.json`),
which is also NeMo's own `export()` interface; `sherpa-onnx/` holds the three
graphs sherpa-onnx runs (`encoder.onnx`, `decoder.onnx`, `joiner.onnx`) with
`tokens.txt` and the metadata its loader reads. Every graph is traced from the
rebuilt PyTorch model with batch, time and target length dynamic.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import onnx
import torch
from torch import nn

from manual_export.export import (
    OPSET,
    external_data_files,
    large_model_target,
    token_lines,
    write_metadata,
    write_side_files,
)
from manual_export.model import EncDecTransducer

__all__ = [
    "DECODER_JOINT_NAME",
    "ENCODER_NAME",
    "SHERPA_DIR",
    "SHERPA_FILES",
    "DecoderGraph",
    "DecoderJointGraph",
    "EncoderGraph",
    "JointGraph",
    "copy_onnx",
    "export_transducer",
    "write_transducer_side_files",
]

ENCODER_NAME = "encoder-model.onnx"
DECODER_JOINT_NAME = "decoder_joint-model.onnx"
SHERPA_DIR = "sherpa-onnx"
SHERPA_FILES = ("encoder.onnx", "decoder.onnx", "joiner.onnx", "tokens.txt")
ONNX_ASR_TYPES = {"rnnt": "nemo-conformer-rnnt", "tdt": "nemo-conformer-tdt"}
_EXAMPLE_FRAMES = (256, 173)
_STATE_AXES = {1: "batch"}


class EncoderGraph(nn.Module):
    """`audio_signal` (B, F, T), `length` -> `outputs` (B, D, T'), `encoded_lengths`."""

    def __init__(self, model: EncDecTransducer) -> None:
        super().__init__()
        self.encoder = model.encoder

    def forward(self, audio_signal: torch.Tensor, length: torch.Tensor):
        return self.encoder(audio_signal, length)


class DecoderGraph(nn.Module):
    """One prediction-network step: targets (B, U) and state -> outputs (B, H, U) and state."""

    def __init__(self, model: EncDecTransducer) -> None:
        super().__init__()
        self.decoder = model.decoder

    def forward(self, targets, target_length, input_states_1, input_states_2):
        g, h, c = self.decoder(targets, input_states_1, input_states_2)
        return g.transpose(1, 2), target_length, h, c


class JointGraph(nn.Module):
    """Encoder outputs (B, D, T) and prediction outputs (B, H, U) -> logits (B, T, U, C)."""

    def __init__(self, model: EncDecTransducer) -> None:
        super().__init__()
        self.joint = model.joint

    def forward(self, encoder_outputs, decoder_outputs):
        return self.joint(encoder_outputs.transpose(1, 2), decoder_outputs.transpose(1, 2))


class DecoderJointGraph(nn.Module):
    """NeMo's exported `decoder_joint`: prediction step and joint in one graph (onnx-asr)."""

    def __init__(self, model: EncDecTransducer) -> None:
        super().__init__()
        self.decoder = DecoderGraph(model)
        self.joint = JointGraph(model)

    def forward(self, encoder_outputs, targets, target_length, input_states_1, input_states_2):
        g, lengths, h, c = self.decoder(targets, target_length, input_states_1, input_states_2)
        return self.joint(encoder_outputs, g), lengths, h, c


def _examples(model: EncDecTransducer) -> dict[str, torch.Tensor]:
    """Tracing inputs: two items, blanks among the targets, non-zero states."""
    config = model.config
    transducer = config.transducer
    assert transducer is not None
    generator = torch.Generator().manual_seed(0)
    layers, hidden = transducer.pred_rnn_layers, transducer.pred_hidden
    return {
        "audio_signal": torch.randn(2, config.encoder.feat_in, max(_EXAMPLE_FRAMES),
                                    generator=generator),
        "length": torch.tensor(_EXAMPLE_FRAMES, dtype=torch.int64),
        "encoder_outputs": torch.randn(2, config.encoder.d_model, 3, generator=generator),
        "targets": torch.tensor([[transducer.blank_id, 1], [0, transducer.blank_id]],
                                dtype=torch.int32),
        "target_length": torch.tensor([2, 2], dtype=torch.int32),
        "input_states_1": torch.randn(layers, 2, hidden, generator=generator),
        "input_states_2": torch.randn(layers, 2, hidden, generator=generator),
        "decoder_outputs": torch.randn(2, hidden, 2, generator=generator),
    }


_GRAPHS = {
    # name: (module, inputs, outputs, dynamic axes)
    "encoder": (EncoderGraph, ("audio_signal", "length"), ("outputs", "encoded_lengths"), {
        "audio_signal": {0: "batch", 2: "time"}, "length": {0: "batch"},
        "outputs": {0: "batch", 2: "frames"}, "encoded_lengths": {0: "batch"}}),
    "decoder_joint": (
        DecoderJointGraph,
        ("encoder_outputs", "targets", "target_length", "input_states_1", "input_states_2"),
        ("outputs", "prednet_lengths", "output_states_1", "output_states_2"), {
            "encoder_outputs": {0: "batch", 2: "frames"}, "targets": {0: "batch", 1: "steps"},
            "target_length": {0: "batch"}, "input_states_1": _STATE_AXES,
            "input_states_2": _STATE_AXES, "outputs": {0: "batch", 1: "frames", 2: "steps"},
            "prednet_lengths": {0: "batch"}, "output_states_1": _STATE_AXES,
            "output_states_2": _STATE_AXES}),
    "decoder": (
        DecoderGraph, ("targets", "target_length", "input_states_1", "input_states_2"),
        ("outputs", "prednet_lengths", "output_states_1", "output_states_2"), {
            "targets": {0: "batch", 1: "steps"}, "target_length": {0: "batch"},
            "input_states_1": _STATE_AXES, "input_states_2": _STATE_AXES,
            "outputs": {0: "batch", 2: "steps"}, "prednet_lengths": {0: "batch"},
            "output_states_1": _STATE_AXES, "output_states_2": _STATE_AXES}),
    "joiner": (JointGraph, ("encoder_outputs", "decoder_outputs"), ("outputs",), {
        "encoder_outputs": {0: "batch", 2: "frames"}, "decoder_outputs": {0: "batch", 2: "steps"},
        "outputs": {0: "batch", 1: "frames", 2: "steps"}}),
}


def export_graph(model: EncDecTransducer, graph: str, path: Path) -> None:
    """Trace one of the four graphs into `path` with the TorchScript exporter."""
    module, inputs, outputs, axes = _GRAPHS[graph]
    examples = _examples(model)
    with torch.no_grad(), warnings.catch_warnings(), large_model_target(path) as target:
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(
            module(model).eval(), tuple(examples[name] for name in inputs), str(target),
            input_names=list(inputs), output_names=list(outputs), dynamic_axes=axes,
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )


def export_transducer(model: EncDecTransducer, out_dir: Path) -> list[Path]:
    """Both layouts' graphs; the sherpa-onnx encoder is the root encoder plus metadata."""
    encoder = out_dir / ENCODER_NAME
    decoder_joint = out_dir / DECODER_JOINT_NAME
    sherpa = out_dir / SHERPA_DIR
    sherpa.mkdir(exist_ok=True)
    export_graph(model, "encoder", encoder)
    export_graph(model, "decoder_joint", decoder_joint)
    # sherpa-onnx runs the same encoder graph; its loader wants metadata in it.
    data = [*external_data_files(encoder), *copy_onnx(encoder, sherpa / "encoder.onnx")]
    write_metadata(sherpa / "encoder.onnx", sherpa_transducer_metadata(model))
    export_graph(model, "decoder", sherpa / "decoder.onnx")
    export_graph(model, "joiner", sherpa / "joiner.onnx")
    return [encoder, decoder_joint, *data, *(sherpa / name for name in SHERPA_FILES[:3])]


def copy_onnx(source: Path, target: Path) -> list[Path]:
    """Copy a graph; a model past 2 GB gets its own copy of the weights file.

    Returns the weights file written (none for a self-contained graph). The
    copy's tensors are pointed at `<target name>.data`, so the two folders
    stay independent.
    """
    shutil.copyfile(source, target)
    data = external_data_files(source)
    if not data:
        return []
    target_data = target.with_name(f"{target.name}.data")
    shutil.copyfile(data[0], target_data)
    proto = onnx.load(str(target), load_external_data=False)
    for tensor in _all_tensors(proto.graph):
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = target_data.name
    onnx.save(proto, str(target))
    return [target_data]


def _all_tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    """Initializers and tensors held in node attributes (the quantizer moves large
    Constant values to the weights file too), subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _all_tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _all_tensors(subgraph)


def sherpa_transducer_metadata(model: EncDecTransducer) -> dict[str, str]:
    """What sherpa-onnx's NeMo transducer loader reads from the encoder.

    `vocab_size` excludes the blank (sherpa adds one). sherpa tells TDT from
    RNNT by "tdt" in the `url` entry, so the entry names the family.
    """
    config = model.config
    transducer = config.transducer
    assert transducer is not None
    normalize = config.preprocessor.normalize
    return {
        "vocab_size": str(transducer.vocab_size),
        "subsampling_factor": str(config.encoder.subsampling_factor),
        "normalize_type": "" if normalize in (None, "NA") else str(normalize),
        "pred_rnn_layers": str(transducer.pred_rnn_layers),
        "pred_hidden": str(transducer.pred_hidden),
        "feat_dim": str(config.encoder.feat_in),
        "model_type": config.model_class,
        "url": f"manual_export/nemo-{config.family}",
        "version": "1",
        "comment": "rebuilt from a .nemo archive without NeMo by manual_export",
    }


def write_transducer_side_files(
    out_dir: Path,
    model: EncDecTransducer,
    vocabulary: Sequence[str],
    state_dict: Mapping[str, torch.Tensor],
) -> list[Path]:
    """vocab.txt, tokens.txt, features.npz and config.json at the root; tokens.txt for sherpa."""
    config = model.config
    transducer = config.transducer
    assert transducer is not None
    written = write_side_files(out_dir, config, vocabulary, state_dict)
    settings = json.loads((out_dir / "config.json").read_text(encoding="utf-8"))
    settings.update(
        model_type=ONNX_ASR_TYPES[config.family],
        max_tokens_per_step=transducer.max_symbols,
        blank_id=transducer.blank_id,
        durations=list(transducer.durations),
        pred_rnn_layers=transducer.pred_rnn_layers,
        pred_hidden=transducer.pred_hidden,
        has_ctc_head=config.decoder is not None,
    )
    (out_dir / "config.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    tokens = out_dir / SHERPA_DIR / "tokens.txt"
    tokens.write_text("\n".join(token_lines(vocabulary)) + "\n", encoding="utf-8")
    return [*written, tokens]
