"""NeMo's front end in float32 torch, op for op as NeMo runs it (``torch.stft``).

Kept apart from ``features`` so that the torch-free transcribe path never
imports torch; used for PyTorch-side checks of the exported model and as a
second, independent computation of the NumPy features.
"""

from __future__ import annotations

import torch

from manual_export.features import (
    FeatureConfig,
    check_inputs,
    feature_lengths,
    filterbank,
    log_guard,
    symmetric_window,
)

__all__ = ["torch_features"]

# NeMo's CONSTANT, added to the per-feature std.
_STD_GUARD = 1e-5


def torch_features(
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    config: FeatureConfig,
    *,
    window: torch.Tensor | None = None,
    fb: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-mel features [B, F, T] float32 and valid lengths [B] int64, as NeMo computes them."""
    x = waveforms.detach().to(torch.float32)
    lengths = lengths.to(torch.int64)
    seq_len = torch.from_numpy(feature_lengths(lengths.numpy(), config))
    check_inputs(x.numpy(), lengths.numpy(), seq_len.numpy(), config)
    if window is None:
        window = torch.from_numpy(symmetric_window(config.window, config.win_length))
    fb_matrix = torch.from_numpy(
        filterbank(None if fb is None else fb.detach().numpy(), config)
    ).to(torch.float32)

    if config.preemph:
        x = torch.cat((x[:, :1], x[:, 1:] - config.preemph * x[:, :-1]), dim=1)
        if config.nemo_version == ">=2.5":
            x = x.masked_fill(torch.arange(x.shape[1])[None, :] >= lengths[:, None], 0.0)

    spectrum = torch.stft(
        x,
        n_fft=config.fft_size,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=window.to(torch.float32),
        center=True,
        pad_mode="reflect" if config.nemo_version == "<=2.4" else "constant",
        return_complex=True,
    )
    power = torch.sqrt(torch.view_as_real(spectrum).pow(2).sum(-1)).pow(config.mag_power)
    mel = torch.matmul(fb_matrix, power)

    if config.log:
        guard = log_guard(config)
        mel = (
            torch.log(mel + guard)
            if config.log_zero_guard_type == "add"
            else torch.log(mel.clamp(min=guard))
        )
    if config.normalize in ("per_feature", "all_features"):
        mel = _normalize(mel, seq_len, per_feature=config.normalize == "per_feature")
    invalid = torch.arange(mel.shape[-1])[None, :] >= seq_len[:, None]
    return mel.masked_fill(invalid[:, None, :], config.pad_value), seq_len


def _normalize(mel: torch.Tensor, seq_len: torch.Tensor, *, per_feature: bool) -> torch.Tensor:
    """NeMo's loop: statistics of each utterance's valid frames, unbiased std + 1e-5."""
    means, stds = [], []
    for row, n in zip(mel, seq_len.tolist()):
        valid = row[:, :n] if per_feature else row[:, :n].reshape(1, -1)
        means.append(valid.mean(dim=1))
        stds.append(valid.std(dim=1))
    mean = torch.stack(means)[:, :, None]
    std = torch.stack(stds)[:, :, None] + _STD_GUARD
    return (mel - mean) / std
