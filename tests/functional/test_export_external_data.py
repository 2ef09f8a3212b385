"""The past-2-GB path without a 2 GB model: weights written as one file per tensor.

The TorchScript exporter switches to that layout only past ONNX's protobuf
limit; here a small graph is saved the same way inside `large_model_target`,
so the gathering into `<name>.data`, metadata writing without loading the
weights, and the sherpa-onnx copy run as they do for a 0.6B model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from manual_export.export import (
    external_data_files,
    large_model_target,
    quantize_int8,
    write_metadata,
)
from manual_export.transducer_export import copy_onnx

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def _past_2gb_graph(final: Path, seed: int) -> tuple[torch.nn.Module, np.ndarray]:
    """A small graph exported the way the TorchScript exporter writes one past 2 GB."""
    layer = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))
    x = np.random.default_rng(seed).standard_normal((3, 64)).astype(np.float32)
    with large_model_target(final) as target:
        torch.onnx.export(layer.eval(), (torch.from_numpy(x),), str(target), input_names=["x"],
                          dynamo=False)
        proto = onnx.load(str(target))
        onnx.save(proto, str(target), save_as_external_data=True, all_tensors_to_one_file=False,
                  size_threshold=0)  # one file per tensor
        assert len(list(target.parent.iterdir())) > 2
    return layer, x


def test_per_tensor_files_become_one_data_file(tmp_path: Path) -> None:
    final = tmp_path / "encoder-model.onnx"
    layer, x = _past_2gb_graph(final, seed=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [final.name, f"{final.name}.data"]
    assert external_data_files(final) == [tmp_path / f"{final.name}.data"]
    with torch.no_grad():
        expected = layer(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_run(final, x), expected, atol=1e-6)

    sherpa = tmp_path / "sherpa-onnx"
    sherpa.mkdir()
    copied = copy_onnx(final, sherpa / "encoder.onnx")
    assert copied == [sherpa / "encoder.onnx.data"]
    write_metadata(sherpa / "encoder.onnx", {"vocab_size": "8"})
    (tmp_path / f"{final.name}.data").unlink()  # the copy must not lean on the original
    np.testing.assert_allclose(_run(sherpa / "encoder.onnx", x), expected, atol=1e-6)
    metadata = {p.key: p.value for p in onnx.load(str(sherpa / "encoder.onnx"),
                                                  load_external_data=False).metadata_props}
    assert metadata == {"vocab_size": "8"}


def test_small_graph_stays_one_file(tmp_path: Path) -> None:
    final = tmp_path / "model.onnx"
    with large_model_target(final) as target:
        torch.onnx.export(torch.nn.Linear(4, 2).eval(), (torch.zeros(1, 4),), str(target),
                          input_names=["x"], dynamo=False)
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
    assert external_data_files(final) == []


def test_int8_copy_of_an_external_data_graph_keeps_its_own_weights_file(tmp_path: Path) -> None:
    """A graph past 2 GB quantizes into `<int8 name>` + `<int8 name>.data`, on its own."""
    final = tmp_path / "encoder-model.onnx"
    layer, x = _past_2gb_graph(final, seed=1)
    write_metadata(final, {"vocab_size": "8"})
    int8 = tmp_path / "encoder-model.int8.onnx"
    written = quantize_int8(final, int8)
    assert written == [int8, tmp_path / "encoder-model.int8.onnx.data"]
    for path in (final, external_data_files(final)[0]):
        path.unlink()  # the int8 copy must not lean on the fp32 files
    with torch.no_grad():
        expected = layer(torch.from_numpy(x)).numpy()
    got = _run(int8, x)
    assert 0 < np.abs(got - expected).max() < 0.1  # int8 moved it, not by much
    metadata = {p.key: p.value for p in onnx.load(str(int8), load_external_data=False)
                .metadata_props}
    assert metadata == {"vocab_size": "8"}


def test_copy_repoints_constants_held_in_the_weights_file(tmp_path: Path) -> None:
    """The int8 quantizer also moves large Constant node values out of the graph file."""
    table = np.random.default_rng(2).standard_normal((64, 8)).astype(np.float32)
    constant = onnx.helper.make_node("Constant", [], ["table"],
                                     value=onnx.numpy_helper.from_array(table))
    product = onnx.helper.make_node("MatMul", ["x", "table"], ["y"])
    graph = onnx.helper.make_graph(
        [constant, product], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3, 64])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [3, 8])])
    source = tmp_path / "encoder-model.int8.onnx"
    onnx.save(onnx.helper.make_model(graph), str(source), save_as_external_data=True,
              all_tensors_to_one_file=True, location=f"{source.name}.data",
              convert_attribute=True)
    assert external_data_files(source), "the Constant's value went to the weights file"
    sherpa = tmp_path / "sherpa-onnx"
    sherpa.mkdir()
    assert copy_onnx(source, sherpa / "encoder.int8.onnx") == [sherpa / "encoder.int8.onnx.data"]
    for path in (source, *external_data_files(source)):
        path.unlink()
    x = np.random.default_rng(3).standard_normal((3, 64)).astype(np.float32)
    np.testing.assert_allclose(_run(sherpa / "encoder.int8.onnx", x), x @ table, rtol=1e-5)
