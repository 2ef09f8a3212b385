"""Greedy transducer decoding (RNNT and TDT) as NeMo's per-utterance `greedy` does it.

NumPy only, so the torch-free transcribe path can use it; the networks come in
as two callables, which lets the same loop drive onnxruntime sessions, the
PyTorch rebuild in validation, and the tests. The prediction network runs
once per emitted token (NeMo recomputes it for every joint call, with the
same result).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Hypothesis", "greedy_transducer"]

# predict(token, state) -> (prediction output, next state); token is the blank at the start.
Predict = Callable[[int, Any], tuple[np.ndarray, Any]]
# joint(encoder frame, prediction output) -> logits over tokens, blank (and TDT durations).
Joint = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Hypothesis:
    """Emitted token ids, the encoder frame of each, and (TDT) each token's predicted duration."""

    tokens: list[int] = field(default_factory=list)
    timesteps: list[int] = field(default_factory=list)
    durations: list[int] = field(default_factory=list)

    def emit(self, token: int, frame: int, duration: int) -> None:
        self.tokens.append(token)
        self.timesteps.append(frame)
        self.durations.append(duration)


def greedy_transducer(
    frames: np.ndarray,
    predict: Predict,
    joint: Joint,
    initial_state: Any,
    *,
    blank: int,
    max_symbols: int,
    durations: Sequence[int] = (),
) -> Hypothesis:
    """Decode encoder frames (T, D) of one utterance.

    RNNT: on each frame, emit until the blank wins or `max_symbols` tokens were
    emitted. TDT: each joint call also predicts a duration d; t advances by d
    (a token with d = 0 stays on the frame); after `max_symbols` joint calls on
    one frame t advances by one more, which also ends a run of blanks with d = 0.
    """
    hypothesis = Hypothesis()
    g, next_state = predict(blank, initial_state)
    state = initial_state
    if not durations:
        for t in range(len(frames)):
            for _ in range(max_symbols):
                k = int(np.argmax(joint(frames[t], g)))
                if k == blank:
                    break
                hypothesis.emit(k, t, 1)
                state = next_state
                g, next_state = predict(k, state)
        return hypothesis

    t = 0
    while t < len(frames):
        symbols, stay = 0, True
        while stay and symbols < max_symbols:
            logits = joint(frames[t], g)
            k = int(np.argmax(logits[: blank + 1]))
            skip = int(durations[int(np.argmax(logits[blank + 1:]))])
            if k != blank:
                hypothesis.emit(k, t, skip)
                state = next_state
                g, next_state = predict(k, state)
            symbols += 1
            t += skip
            stay = skip == 0
        if symbols == max_symbols:
            t += 1
    return hypothesis
