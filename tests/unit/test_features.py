"""The NumPy front end against the documented NeMo math, written out plainly here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from manual_export.features import (
    FeatureConfig,
    compute_features,
    feature_lengths,
    slaney_mel_filterbank,
    symmetric_window,
)
from manual_export.wav import AudioError

VERSIONS = ("<=2.4", ">=2.5")


def _signal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    return (0.3 * np.sin(2 * math.pi * 440 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)


def _reference_fb() -> np.ndarray:
    """Slaney filters from the textbook definition, one triangle and one bin at a time."""

    def hz_to_mel(f: float) -> float:
        return f / (200 / 3) if f < 1000 else 15 + math.log(f / 1000) * 27 / math.log(6.4)

    def mel_to_hz(m: float) -> float:
        return m * (200 / 3) if m < 15 else 1000 * math.exp((m - 15) * math.log(6.4) / 27)

    top = hz_to_mel(8000.0)
    edges = [mel_to_hz(top * i / 81) for i in range(82)]
    fb = np.zeros((80, 257))
    for i in range(80):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        height = 2 / (hi - lo)
        for k in range(257):
            f = k * 8000 / 256
            if lo < f <= mid:
                fb[i, k] = height * (f - lo) / (mid - lo)
            elif mid < f < hi:
                fb[i, k] = height * (hi - f) / (hi - mid)
    return fb


def _reference_features(row: np.ndarray, length: int, version: str, fb: np.ndarray) -> np.ndarray:
    """NeMo's eval-mode front end for one padded batch row, step by step (NEMO_CONFORMER.md §3)."""
    x = row.astype(np.float64)
    y = x.copy()
    for n in range(1, len(x)):
        y[n] = x[n] - 0.97 * x[n - 1]
    if version == ">=2.5":
        y[length:] = 0.0
    if version == "<=2.4":
        padded = np.concatenate([y[1:257][::-1], y, y[-257:-1][::-1]])
    else:
        padded = np.concatenate([np.zeros(256), y, np.zeros(256)])
    hann = np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / 399) for n in range(400)])
    window = np.concatenate([np.zeros(56), hann, np.zeros(56)])
    dft = np.exp(-2j * np.pi * np.outer(np.arange(257), np.arange(512)) / 512)
    columns = []
    for t in range(len(x) // 160 + 1):
        frame = padded[t * 160 : t * 160 + 512] * window
        power = np.abs(dft @ frame) ** 2
        columns.append(np.log(fb @ power + 2.0**-24))
    logmel = np.stack(columns, axis=1)
    valid = length // 160 + 1 if version == "<=2.4" else length // 160
    mean = logmel[:, :valid].mean(axis=1, keepdims=True)
    std = logmel[:, :valid].std(axis=1, ddof=1, keepdims=True) + 1e-5
    out = (logmel - mean) / std
    out[:, valid:] = 0.0
    return out


@pytest.fixture(scope="module")
def reference_fb() -> np.ndarray:
    return _reference_fb()


def test_slaney_filterbank_matches_independent_reference(reference_fb: np.ndarray) -> None:
    fb = slaney_mel_filterbank(16000, 512, 80)
    assert fb.shape == (80, 257) and fb.dtype == np.float32
    np.testing.assert_allclose(fb, reference_fb, rtol=1e-5, atol=1e-8)


def test_slaney_filterbank_known_properties() -> None:
    fb = slaney_mel_filterbank(16000, 512, 80).astype(np.float64)
    assert (fb >= 0).all()
    peaks = fb.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > 240
    for row in fb:
        support = np.flatnonzero(row)
        assert (np.diff(support) == 1).all(), "each filter is one contiguous triangle"
    wide = (fb > 0).sum(axis=1) >= 8
    assert wide.sum() >= 20
    # Slaney normalisation: every triangle has unit area in Hz (bin width 31.25 Hz).
    np.testing.assert_allclose(fb[wide].sum(axis=1) * 31.25, 1.0, rtol=0.02)
    # Without normalisation the triangles overlap into a partition of unity.
    plain = slaney_mel_filterbank(16000, 512, 80, norm=None)
    inner = slice(peaks[0] + 1, peaks[-1])
    np.testing.assert_allclose(plain[:, inner].sum(axis=0), 1.0, atol=1e-5)


def test_slaney_filterbank_matches_onnx_asr_table() -> None:
    """onnx-asr ships a NeMo-80 filterbank it checks against NeMo's own ``fb`` (atol 5e-7)."""
    onnx_asr = pytest.importorskip("onnx_asr", reason="onnx-asr not installed")
    from importlib.resources import files

    with np.load(str(files(onnx_asr).joinpath("preprocessors/data/fbanks.npz"))) as tables:
        theirs = tables["nemo80"].T
    np.testing.assert_allclose(slaney_mel_filterbank(16000, 512, 80), theirs, atol=5e-7)


def test_window_is_symmetric_hann() -> None:
    window = symmetric_window("hann", 400)
    assert window[0] == 0.0 and window[-1] == 0.0
    np.testing.assert_allclose(window, window[::-1])
    np.testing.assert_allclose(window.max(), 1.0, atol=2e-5)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("n", [4817, 4800])
def test_features_match_reference(version: str, n: int, reference_fb: np.ndarray) -> None:
    signal = _signal(n)
    config = FeatureConfig(nemo_version=version)
    feats, lengths = compute_features(signal[None], np.array([n]), config)
    expected = _reference_features(signal, n, version, reference_fb)
    assert feats.shape == (1, 80, n // 160 + 1) and feats.dtype == np.float32
    assert lengths.tolist() == [n // 160 + 1 if version == "<=2.4" else n // 160]
    np.testing.assert_allclose(feats[0], expected, atol=2e-4)


@pytest.mark.parametrize("version", VERSIONS)
def test_padded_batch_rows_match_reference(version: str, reference_fb: np.ndarray) -> None:
    lengths = np.array([4817, 3200, 2001])
    batch = np.zeros((3, lengths.max()), dtype=np.float32)
    for i, n in enumerate(lengths):
        batch[i, :n] = _signal(n, seed=i)
    feats, seq_len = compute_features(batch, lengths, FeatureConfig(nemo_version=version))
    for i, n in enumerate(lengths):
        expected = _reference_features(batch[i], n, version, reference_fb)
        np.testing.assert_allclose(feats[i], expected, atol=2e-4)
    assert (
        seq_len.tolist() == feature_lengths(lengths, FeatureConfig(nemo_version=version)).tolist()
    )


def test_version_2_5_is_padding_invariant() -> None:
    """The point of the 2.5 changes: a short signal's features do not depend on its batch."""
    config = FeatureConfig(nemo_version=">=2.5")
    short = _signal(2001, seed=3)
    alone, n_alone = compute_features(short[None], np.array([2001]), config)
    batch = np.zeros((2, 4817), dtype=np.float32)
    batch[0] = _signal(4817)
    batch[1, :2001] = short
    batched, n_batched = compute_features(batch, np.array([4817, 2001]), config)
    assert n_alone[0] == n_batched[1] == 12
    np.testing.assert_allclose(batched[1, :, :12], alone[0, :, :12], atol=1e-5)


def test_checkpoint_buffers_are_used(reference_fb: np.ndarray) -> None:
    """The checkpoint's own window and fb win over rebuilt ones."""
    rng = np.random.default_rng(7)
    fb = (reference_fb * rng.uniform(0.5, 1.5, reference_fb.shape)).astype(np.float32)
    signal = _signal(3000)
    config = FeatureConfig()
    mine, _ = compute_features(
        signal[None], np.array([3000]), config, window=symmetric_window("hann", 400), fb=fb[None]
    )
    np.testing.assert_allclose(mine[0], _reference_features(signal, 3000, "<=2.4", fb), atol=2e-4)
    rebuilt, _ = compute_features(signal[None], np.array([3000]), config)
    assert np.abs(mine - rebuilt).max() > 1e-2


@pytest.mark.parametrize(
    ("n", "expected_24", "expected_25"),
    [(160, 2, 1), (16000, 101, 100), (16159, 101, 100), (16160, 102, 101), (400, 3, 2)],
)
def test_frame_counts(n: int, expected_24: int, expected_25: int) -> None:
    assert feature_lengths(np.array([n]), FeatureConfig()).tolist() == [expected_24]
    assert feature_lengths(np.array([n]), FeatureConfig(nemo_version=">=2.5")).tolist() == [
        expected_25
    ]


def test_too_short_audio_is_refused() -> None:
    with pytest.raises(AudioError, match="reflect padding"):
        compute_features(_signal(200)[None], np.array([200]), FeatureConfig())
    with pytest.raises(AudioError, match="at least 2 frames"):
        compute_features(_signal(300)[None], np.array([300]), FeatureConfig(nemo_version=">=2.5"))


def test_config_from_exporter_json() -> None:
    config = FeatureConfig.from_dict(
        {
            "sample_rate": 16000,
            "window_size": 0.025,
            "window_stride": 0.01,
            "n_fft": 512,
            "features_size": 80,
            "preemph": 0.97,
            "dither": 1e-5,
            "normalize": "per_feature",
            "log_zero_guard_value": 2**-24,
            "subsampling_factor": 4,
            "model_type": "nemo-conformer-ctc",
        },
        nemo_version=">=2.5",
    )
    assert (config.win_length, config.hop_length, config.fft_size, config.features) == (
        400,
        160,
        512,
        80,
    )
    assert config.nemo_version == ">=2.5"
    with pytest.raises(ValueError, match="frame_splicing"):
        FeatureConfig.from_dict({"frame_splicing": 3})
    with pytest.raises(ValueError, match="nemo_version"):
        FeatureConfig(nemo_version="2.0")


@pytest.mark.parametrize("version", VERSIONS)
def test_torch_front_end_agrees_with_numpy(version: str) -> None:
    torch = pytest.importorskip("torch", reason="torch not installed")
    from manual_export.features_torch import torch_features

    lengths = np.array([4817, 3200, 2001])
    batch = np.zeros((3, lengths.max()), dtype=np.float32)
    for i, n in enumerate(lengths):
        batch[i, :n] = _signal(n, seed=i)
    config = FeatureConfig(nemo_version=version)
    ours, ours_len = compute_features(batch, lengths, config)
    theirs, theirs_len = torch_features(torch.from_numpy(batch), torch.from_numpy(lengths), config)
    assert theirs_len.tolist() == ours_len.tolist()
    np.testing.assert_allclose(theirs.numpy(), ours, atol=1e-4)
