"""Run an exported transducer with onnxruntime: the steps greedy decoding needs.

Torch-free (the transcribe path). `SplitSteps` drives sherpa-onnx's separate
decoder and joiner graphs, so the prediction network runs once per token;
`FusedSteps` drives onnx-asr's `decoder_joint` graph, which validation uses to
prove that file decodes the same tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

__all__ = ["FusedSteps", "SplitSteps", "open_session", "zero_state"]


def open_session(path: Path) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def zero_state(layers: int, hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """The LSTM state NeMo starts from: zeros, one item."""
    return np.zeros((layers, 1, hidden), np.float32), np.zeros((layers, 1, hidden), np.float32)


def _targets(token: int) -> dict[str, np.ndarray]:
    return {"targets": np.array([[token]], np.int32), "target_length": np.array([1], np.int32)}


class SplitSteps:
    """`predict` with decoder.onnx, `joint` with joiner.onnx."""

    def __init__(self, decoder: onnxruntime.InferenceSession,
                 joiner: onnxruntime.InferenceSession) -> None:
        self.decoder, self.joiner = decoder, joiner

    def predict(self, token: int, state: Any) -> tuple[np.ndarray, Any]:
        g, _, h, c = self.decoder.run(None, {**_targets(token), "input_states_1": state[0],
                                             "input_states_2": state[1]})
        return g, (h, c)

    def joint(self, frame: np.ndarray, g: np.ndarray) -> np.ndarray:
        (logits,) = self.joiner.run(None, {"encoder_outputs": frame.reshape(1, -1, 1),
                                           "decoder_outputs": g})
        return logits.reshape(-1)


class FusedSteps:
    """`predict` and `joint` with decoder_joint-model.onnx (one graph, as onnx-asr runs it)."""

    def __init__(self, decoder_joint: onnxruntime.InferenceSession, d_model: int) -> None:
        self.session = decoder_joint
        self._any_frame = np.zeros((1, d_model, 1), np.float32)

    def _run(self, frame: np.ndarray, token: int, state: Any) -> list[np.ndarray]:
        return self.session.run(None, {"encoder_outputs": frame, **_targets(token),
                                       "input_states_1": state[0], "input_states_2": state[1]})

    def predict(self, token: int, state: Any) -> tuple[Any, Any]:
        _, _, h, c = self._run(self._any_frame, token, state)
        return (token, state), (h, c)

    def joint(self, frame: np.ndarray, g: Any) -> np.ndarray:
        token, state = g
        return self._run(frame.reshape(1, -1, 1), token, state)[0].reshape(-1)
