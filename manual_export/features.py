"""NeMo's log-mel front end (``FilterbankFeatures``) reproduced outside NeMo.

The exported ONNX starts from features, as NeMo's own export does, so whoever
runs it must compute the same features. This NumPy version runs the torch-free
transcribe path; ``features_torch`` is the same math in torch for PyTorch-side
checks.
Semantics follow NeMo <= 2.4 by default (the front end these models were trained
with); ``nemo_version=">=2.5"`` selects the 2.5 changes (zero padding for the
STFT, one frame fewer, pre-emphasis zeroed past each signal's length).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from manual_export.wav import AudioError

__all__ = [
    "NEMO_VERSIONS",
    "FeatureConfig",
    "check_inputs",
    "compute_features",
    "feature_lengths",
    "filterbank",
    "log_guard",
    "slaney_mel_filterbank",
    "symmetric_window",
]

NEMO_VERSIONS = ("<=2.4", ">=2.5")
# NeMo's CONSTANT: added to the per-feature std so silent bins do not divide by zero.
_STD_GUARD = 1e-5
_WINDOWS = {
    "hann": np.hanning,
    "hamming": np.hamming,
    "blackman": np.blackman,
    "bartlett": np.bartlett,
}
_NO_NORMALIZE = (None, "", "NA", "none")


@dataclass(frozen=True)
class FeatureConfig:
    """The preprocessor settings that change the features (NeMo's names and defaults)."""

    sample_rate: int = 16000
    window_size: float = 0.025
    window_stride: float = 0.01
    n_fft: int | None = 512
    features: int = 80
    window: str = "hann"
    preemph: float | None = 0.97
    lowfreq: float = 0.0
    highfreq: float | None = None
    log: bool = True
    log_zero_guard_type: str = "add"
    log_zero_guard_value: float | str = 2**-24
    normalize: str | None = "per_feature"
    mag_power: float = 2.0
    mel_norm: str | None = "slaney"
    pad_value: float = 0.0
    nemo_version: str = "<=2.4"

    def __post_init__(self) -> None:
        if self.nemo_version not in NEMO_VERSIONS:
            raise ValueError(
                f"nemo_version must be one of {NEMO_VERSIONS}, got {self.nemo_version!r}"
            )
        if self.log_zero_guard_type not in ("add", "clamp"):
            raise ValueError(
                f"log_zero_guard_type must be 'add' or 'clamp', got {self.log_zero_guard_type!r}"
            )
        if self.normalize not in (*_NO_NORMALIZE, "per_feature", "all_features"):
            raise ValueError(f"unsupported normalize: {self.normalize!r}")
        if self.window not in _WINDOWS and self.window != "none":
            raise ValueError(f"unsupported window: {self.window!r}")

    @property
    def win_length(self) -> int:
        """Window length in samples, truncated like NeMo's ``int(window_size * sample_rate)``."""
        return int(self.window_size * self.sample_rate)

    @property
    def hop_length(self) -> int:
        """Hop in samples, truncated like NeMo."""
        return int(self.window_stride * self.sample_rate)

    @property
    def fft_size(self) -> int:
        """``n_fft``, or NeMo's fallback: the next power of two above the window."""
        return self.n_fft or 2 ** math.ceil(math.log2(self.win_length))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], nemo_version: str = "<=2.4") -> FeatureConfig:
        """Read the exporter's ``config.json``; keys that do not shape features are ignored.

        Options whose effect we do not reproduce (frame splicing, exact padding)
        are refused rather than silently producing different features.
        """
        if int(data.get("frame_splicing", 1)) != 1:
            raise ValueError(f"unsupported frame_splicing: {data['frame_splicing']!r} (only 1)")
        if data.get("exact_pad"):
            raise ValueError("unsupported exact_pad: True (only the centred STFT)")
        defaults = cls()
        return cls(
            sample_rate=int(data.get("sample_rate", defaults.sample_rate)),
            window_size=float(data.get("window_size", defaults.window_size)),
            window_stride=float(data.get("window_stride", defaults.window_stride)),
            n_fft=data.get("n_fft", defaults.n_fft),
            features=int(data.get("features_size", data.get("features", defaults.features))),
            window=data.get("window", defaults.window),
            preemph=data.get("preemph", defaults.preemph),
            lowfreq=float(data.get("lowfreq", defaults.lowfreq)),
            highfreq=data.get("highfreq", defaults.highfreq),
            log=bool(data.get("log", defaults.log)),
            log_zero_guard_type=data.get("log_zero_guard_type", defaults.log_zero_guard_type),
            log_zero_guard_value=data.get("log_zero_guard_value", defaults.log_zero_guard_value),
            normalize=data.get("normalize", defaults.normalize),
            mag_power=float(data.get("mag_power", defaults.mag_power)),
            mel_norm=data.get("mel_norm", defaults.mel_norm),
            pad_value=float(data.get("pad_value", defaults.pad_value)),
            nemo_version=nemo_version,
        )


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa's htk=False)."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log_region = hz >= 1000.0
    mel[log_region] = 15.0 + np.log(hz[log_region] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * (200.0 / 3)
    log_region = mel >= 15.0
    hz[log_region] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel[log_region] - 15.0))
    return hz


def slaney_mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Triangular mel filters [n_mels, n_fft//2+1], as ``librosa.filters.mel`` builds them.

    Used only when the checkpoint's own ``fb`` buffer is not at hand; NeMo took
    its filterbank from librosa, whose math (Slaney scale, area normalisation) this is.
    """
    if norm not in ("slaney", None):
        raise ValueError(f"unsupported mel norm: {norm!r}")
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges_hz = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array([fmin]))[0], _hz_to_mel(np.array([fmax]))[0], n_mels + 2)
    )
    widths = np.diff(edges_hz)
    offsets = edges_hz[:, None] - fft_hz[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


def symmetric_window(name: str, length: int) -> np.ndarray:
    """The window NeMo builds (``torch.<name>_window(length, periodic=False)``)."""
    if name == "none":
        return np.ones(length, dtype=np.float32)
    return _WINDOWS[name](length).astype(np.float32)


def feature_lengths(num_samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Valid feature frames per signal: N//hop + 1 (NeMo <= 2.4) or N//hop (>= 2.5)."""
    frames = np.asarray(num_samples, dtype=np.int64) // config.hop_length
    return frames + 1 if config.nemo_version == "<=2.4" else frames


def check_inputs(
    waveforms: np.ndarray, lengths: np.ndarray, seq_len: np.ndarray, config: FeatureConfig
) -> None:
    """Refuse inputs NeMo itself cannot featurise (it would raise or return NaN)."""
    if waveforms.ndim != 2 or lengths.shape != (waveforms.shape[0],):
        raise ValueError(
            f"expected waveforms [B, N] and lengths [B], got {waveforms.shape} and {lengths.shape}"
        )
    if np.any(lengths > waveforms.shape[1]) or np.any(lengths < 0):
        raise ValueError("every length must lie within the waveform row")
    half = config.fft_size // 2
    if config.nemo_version == "<=2.4" and waveforms.shape[1] <= half:
        raise AudioError(f"audio too short: reflect padding needs more than {half} samples")
    if config.normalize not in _NO_NORMALIZE and np.any(seq_len < 2):
        raise AudioError(
            "audio too short: normalisation needs at least 2 frames"
            f" ({2 * config.hop_length} samples)"
        )


def _window_for_fft(window: np.ndarray | None, config: FeatureConfig) -> np.ndarray:
    """The analysis window zero-padded, centred, to ``n_fft`` (what ``torch.stft`` does)."""
    win = (
        symmetric_window(config.window, config.win_length) if window is None else np.asarray(window)
    )
    if win.shape != (config.win_length,):
        raise ValueError(f"window has shape {win.shape}, expected ({config.win_length},)")
    left = (config.fft_size - config.win_length) // 2
    return np.pad(win.astype(np.float64), (left, config.fft_size - config.win_length - left))


def filterbank(fb: np.ndarray | None, config: FeatureConfig) -> np.ndarray:
    """The checkpoint's ``fb`` as [F, bins] float64, or a Slaney one built from the config."""
    if fb is None:
        fb = slaney_mel_filterbank(
            config.sample_rate,
            config.fft_size,
            config.features,
            config.lowfreq,
            config.highfreq,
            config.mel_norm,
        )
    fb = np.asarray(fb)
    fb = fb.reshape(-1, fb.shape[-1])
    expected = (config.features, config.fft_size // 2 + 1)
    if fb.shape != expected:
        raise ValueError(f"filterbank has shape {fb.shape}, expected {expected}")
    return fb.astype(np.float64)


def log_guard(config: FeatureConfig) -> float:
    """The log zero guard as a number; NeMo also accepts "tiny" and "eps" of float32."""
    value = config.log_zero_guard_value
    if value == "tiny":
        return float(np.finfo(np.float32).tiny)
    if value == "eps":
        return float(np.finfo(np.float32).eps)
    return float(value)


def compute_features(
    waveforms: np.ndarray,
    lengths: np.ndarray,
    config: FeatureConfig,
    *,
    window: np.ndarray | None = None,
    fb: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Log-mel features [B, F, T] float32 and valid lengths [B] int64: NeMo's eval-mode math.

    ``window`` and ``fb`` should be the checkpoint's own buffers; without them
    they are rebuilt from the config. Computed in float64, so the result is the
    exact math to within float32 rounding of NeMo's float32 pipeline. Dither is
    never applied (NeMo applies it only in training).
    """
    x = np.asarray(waveforms, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    seq_len = feature_lengths(lengths, config)
    check_inputs(x, lengths, seq_len, config)
    beyond_length = np.arange(x.shape[1])[None, :] >= lengths[:, None]

    if config.preemph:
        x = np.concatenate([x[:, :1], x[:, 1:] - config.preemph * x[:, :-1]], axis=1)
        if config.nemo_version == ">=2.5":
            x = np.where(beyond_length, 0.0, x)

    half = config.fft_size // 2
    x = np.pad(
        x, ((0, 0), (half, half)), mode="reflect" if config.nemo_version == "<=2.4" else "constant"
    )
    frames = np.lib.stride_tricks.sliding_window_view(x, config.fft_size, axis=1)[
        :, :: config.hop_length
    ]
    spectrum = np.fft.rfft(frames * _window_for_fft(window, config), axis=-1)
    power = np.abs(spectrum) ** config.mag_power
    mel = np.matmul(filterbank(fb, config), power.transpose(0, 2, 1))

    if config.log:
        guard = log_guard(config)
        mel = (
            np.log(mel + guard)
            if config.log_zero_guard_type == "add"
            else np.log(np.maximum(mel, guard))
        )

    valid = np.arange(mel.shape[-1])[None, :] < seq_len[:, None]
    if config.normalize not in _NO_NORMALIZE:
        mel = _normalize(mel, valid, seq_len, per_feature=config.normalize == "per_feature")
    mel = np.where(valid[:, None, :], mel, config.pad_value)
    return mel.astype(np.float32), seq_len


def _normalize(
    mel: np.ndarray, valid: np.ndarray, seq_len: np.ndarray, *, per_feature: bool
) -> np.ndarray:
    """Mean and unbiased std over the valid frames only, std + 1e-5, applied to every frame."""
    mask = valid[:, None, :]
    axes = (2,) if per_feature else (1, 2)
    count = (seq_len if per_feature else seq_len * mel.shape[1]).reshape(-1, 1, 1)
    mean = np.where(mask, mel, 0.0).sum(axis=axes, keepdims=True) / count
    var = np.where(mask, (mel - mean) ** 2, 0.0).sum(axis=axes, keepdims=True) / (count - 1)
    return (mel - mean) / (np.sqrt(var) + _STD_GUARD)
