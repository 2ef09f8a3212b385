"""Time the NumPy NeMo front end on 10 s and 60 s of audio (median of 5 runs).

Run by hand from the repository root with the project installed
(``pip install -e .``): ``python bench/bench_features.py``. The features run
before every ONNX call on the torch-free path, so they should stay a small
share of it.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from manual_export.features import FeatureConfig, compute_features

RUNS = 5
SAMPLE_RATE = 16000


def timings(samples: np.ndarray, config: FeatureConfig) -> list[float]:
    """Wall times of ``RUNS`` feature computations, after one warm-up."""
    lengths = np.array([samples.size])
    compute_features(samples[None], lengths, config)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        compute_features(samples[None], lengths, config)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}; median of {RUNS}")
    for version in ("<=2.4", ">=2.5"):
        config = FeatureConfig(nemo_version=version)
        for seconds in (10, 60):
            samples = (0.1 * rng.standard_normal(seconds * SAMPLE_RATE)).astype(np.float32)
            times = timings(samples, config)
            took = statistics.median(times)
            # The minimum shows what the code costs when the shared cores are idle.
            print(
                f"NeMo {version}  {seconds:>3d} s audio: median {took * 1000:6.1f} ms"
                f"  min {min(times) * 1000:6.1f} ms  (real-time factor {took / seconds:.5f})"
            )


if __name__ == "__main__":
    main()
