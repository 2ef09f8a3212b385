"""Greedy transducer decoding's edge cases, with scripted joint outputs.

The scripted "networks" return, per joint call, the next (token, duration
index) from a list, so each NeMo rule can be pinned: the blank ends a frame
(RNNT), `max_symbols` caps emissions per frame, a TDT blank with duration 0
stays until `max_symbols` calls and then moves one frame on, and the extra
step after `max_symbols` calls also follows a positive duration.
"""

from __future__ import annotations

import numpy as np

from manual_export.greedy import greedy_transducer

BLANK = 3
DURATIONS = (0, 1, 2)


def _scripted(script: list[tuple[int, int]], tdt: bool):
    calls: list[int] = []  # the frame of each joint call
    steps = iter(script)

    def predict(token: int, state: int) -> tuple[int, int]:
        return token, state + 1

    def joint(frame: np.ndarray, g: int) -> np.ndarray:
        calls.append(int(frame[0]))
        token, duration = next(steps)
        logits = np.zeros(BLANK + 1 + (len(DURATIONS) if tdt else 0), np.float32)
        logits[token] = 1.0
        if tdt:
            logits[BLANK + 1 + duration] = 1.0
        return logits

    return predict, joint, calls


def _frames(count: int) -> np.ndarray:
    return np.arange(count, dtype=np.float32).reshape(-1, 1)


def test_rnnt_blank_ends_the_frame_and_max_symbols_caps_it() -> None:
    script = [(0, 0), (BLANK, 0), (1, 0), (1, 0), (2, 0), (BLANK, 0)]
    predict, joint, calls = _scripted(script, tdt=False)
    hyp = greedy_transducer(_frames(3), predict, joint, 0, blank=BLANK, max_symbols=2)
    # frame 0: 0 then blank; frame 1: 1, 1 (cap, no third call); frame 2: 2 then blank
    assert hyp.tokens == [0, 1, 1, 2]
    assert hyp.timesteps == [0, 1, 1, 2]
    assert calls == [0, 0, 1, 1, 2, 2]


def test_tdt_zero_durations_blank_loops_and_extra_step() -> None:
    script = [
        (0, 0),       # t=0: token, d=0 -> stay
        (1, 1),       # t=0: token, d=1, and the 2nd call (max_symbols) -> t = 0+1+1 = 2
        (BLANK, 0),   # t=2: blank, d=0 -> stay (the same answer again) ...
        (BLANK, 0),   # ... until max_symbols calls -> t=3
        (2, 0),       # t=3: token, d=0
        (2, 2),       # t=3: token, d=2 at max_symbols -> t = 3+2+1 = 6, past the end
    ]
    predict, joint, calls = _scripted(script, tdt=True)
    hyp = greedy_transducer(_frames(5), predict, joint, 0, blank=BLANK, max_symbols=2,
                            durations=DURATIONS)
    assert hyp.tokens == [0, 1, 2, 2]
    assert hyp.timesteps == [0, 0, 3, 3]
    assert hyp.durations == [0, 1, 0, 2]
    assert calls == [0, 0, 2, 2, 3, 3]
