"""NeMo's Conformer encoder (eval mode) rebuilt in plain PyTorch.

Attribute names mirror NeMo's modules so a NeMo state_dict loads strictly.
Dropout and stochastic depth are identity at inference and are left out;
they own no weights. Two deliberate departures, neither changing the math:
the relative positional table is computed in the graph for the actual length
(NeMo slices a fixed 5000-frame table, which caps exported models), and all
reshape sizes come from `tensor.size()` so batch and time stay dynamic in ONNX.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from manual_export.config import EncoderConfig
from manual_export.fused_attention import MASKED_SCORE, fused_rel_attention, positions_table

__all__ = ["ConformerEncoder"]

FFN_RESIDUAL_FACTOR = 0.5


class ConvSubsampling(nn.Module):
    """Strided 2-D convolutions over (time, mel), then a linear map to d_model."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        channels = config.conv_channels
        layers: list[nn.Module] = [nn.Conv2d(1, channels, 3, stride=2, padding=1), nn.ReLU()]
        for _ in range(config.subsampling_steps - 1):
            if config.subsampling == "striding":
                layers += [nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU()]
            else:
                layers += [
                    nn.Conv2d(channels, channels, 3, stride=2, padding=1, groups=channels),
                    nn.Conv2d(channels, channels, 1),
                    nn.ReLU(),
                ]
        self.conv = nn.Sequential(*layers)
        freq = config.feat_in
        for _ in range(config.subsampling_steps):
            freq = _strided_length(freq)
        self.out = nn.Linear(channels * freq, config.d_model)
        self.steps = config.subsampling_steps

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.conv(x.unsqueeze(1))
        batch, _, time, _ = x.size()
        # Channel-major flatten (index c*F' + f), as the checkpoint's `out` expects.
        x = self.out(x.transpose(1, 2).reshape(batch, time, -1))
        for _ in range(self.steps):
            lengths = _strided_length(lengths)
        return x, lengths


def _strided_length(length):
    """Output length of a kernel-3, stride-2, pad-1 conv: floor((L - 1) / 2) + 1 = (L + 1) // 2.

    Integer arithmetic, so int64 lengths stay int64 and exact for any length.
    """
    if isinstance(length, int):
        return (length + 1) // 2
    return torch.div(length + 1, 2, rounding_mode="floor")


class RelPositionalEncoding(nn.Module):
    """Scales the input by sqrt(d_model) and builds sinusoids for positions T-1 ... -(T-1).

    Under export it returns the table of positions 0 ... T instead, which the
    fused attention mirrors (`fused_attention.positions_table`).
    """

    def __init__(self, d_model: int, xscaling: bool) -> None:
        super().__init__()
        self.xscale = math.sqrt(d_model) if xscaling else None
        inv_freq = torch.exp(
            torch.arange(0, d_model, 2, dtype=torch.float32) * -(math.log(10000.0) / d_model)
        )
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.xscale is not None:
            x = x * self.xscale
        time = x.size(1)
        if torch.onnx.is_in_onnx_export():
            # Non-negative positions only; each layer mirrors them (fused_attention).
            return x, positions_table(time, self.inv_freq)
        positions = torch.arange(time - 1, -time, -1, dtype=torch.float32, device=x.device)
        angles = positions.unsqueeze(1) * self.inv_freq.unsqueeze(0)
        # Interleave so even channels hold sin and odd channels cos, as in NeMo's table.
        pos_emb = torch.stack((angles.sin(), angles.cos()), dim=-1).reshape(1, -1, x.size(2))
        return x, pos_emb


class RelPositionMultiHeadAttention(nn.Module):
    """Transformer-XL attention with per-layer content (u) and position (v) biases."""

    def __init__(self, n_heads: int, d_model: int) -> None:
        super().__init__()
        self.h = n_heads
        self.d_k = d_model // n_heads
        self.s_d_k = math.sqrt(self.d_k)
        self.pos_bias_u = nn.Parameter(torch.zeros(n_heads, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.zeros(n_heads, self.d_k))
        self.linear_q = nn.Linear(d_model, d_model)
        self.linear_k = nn.Linear(d_model, d_model)
        self.linear_v = nn.Linear(d_model, d_model)
        self.linear_out = nn.Linear(d_model, d_model)
        self.linear_pos = nn.Linear(d_model, d_model, bias=False)

    def forward(
        self, x: torch.Tensor, pos_emb: torch.Tensor, att_mask: torch.Tensor,
        pad_mask: torch.Tensor,
    ) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return fused_rel_attention(self, x, pos_emb, pad_mask)
        batch = x.size(0)
        q = self.linear_q(x).reshape(batch, -1, self.h, self.d_k)
        k = self.linear_k(x).reshape(batch, -1, self.h, self.d_k).transpose(1, 2)
        v = self.linear_v(x).reshape(batch, -1, self.h, self.d_k).transpose(1, 2)
        p = self.linear_pos(pos_emb)
        p = p.reshape(p.size(0), -1, self.h, self.d_k).transpose(1, 2)

        content = torch.matmul((q + self.pos_bias_u).transpose(1, 2), k.transpose(-2, -1))
        position = torch.matmul((q + self.pos_bias_v).transpose(1, 2), p.transpose(-2, -1))
        position = _rel_shift(position)[:, :, :, : content.size(-1)]
        scores = (content + position) / self.s_d_k

        mask = att_mask.unsqueeze(1)
        attn = torch.softmax(scores.masked_fill(mask, MASKED_SCORE), dim=-1).masked_fill(mask, 0.0)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(batch, -1, self.h * self.d_k)
        return self.linear_out(out)


def _rel_shift(x: torch.Tensor) -> torch.Tensor:
    """Turn scores indexed by relative-position row into scores indexed by key.

    Left-pad one zero column, fold, drop the first row, unfold: afterwards
    column j of query row i holds relative position i - j.
    """
    batch, heads, qlen, pos_len = x.size()
    x = F.pad(x, (1, 0))
    x = x.reshape(batch, heads, -1, qlen)
    return x[:, :, 1:].reshape(batch, heads, qlen, pos_len)


class ConformerFeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(F.silu(self.linear1(x)))


class ConformerConvolution(nn.Module):
    """Pointwise conv + GLU, depthwise conv, batch norm, swish, pointwise conv."""

    def __init__(self, d_model: int, kernel_size: int) -> None:
        super().__init__()
        self.pointwise_conv1 = nn.Conv1d(d_model, 2 * d_model, 1)
        self.depthwise_conv = nn.Conv1d(
            d_model, d_model, kernel_size, padding=(kernel_size - 1) // 2, groups=d_model
        )
        self.batch_norm = nn.BatchNorm1d(d_model)
        self.pointwise_conv2 = nn.Conv1d(d_model, d_model, 1)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return self._forward_for_export(x, pad_mask)
        x = F.glu(self.pointwise_conv1(x.transpose(1, 2)), dim=1)
        # Padded frames must not leak into valid ones through the depthwise kernel.
        x = x.masked_fill(pad_mask.unsqueeze(1), 0.0)
        x = F.silu(self.batch_norm(self.depthwise_conv(x)))
        return self.pointwise_conv2(x).transpose(1, 2)

    def _forward_for_export(self, x: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """The same math with the kernel-1 convolutions as matrix products on (B, T, C).

        onnxruntime runs a kernel-1 Conv well below its MatMul speed; as MatMul
        the two products run at its GEMM's rate and skip two transposes.
        Eager PyTorch keeps NeMo's Conv1d calls (the baseline is NeMo's model).
        """
        x = F.glu(_pointwise(self.pointwise_conv1, x), dim=-1)
        x = x.masked_fill(pad_mask.unsqueeze(-1), 0.0)
        x = F.silu(self.batch_norm(self.depthwise_conv(x.transpose(1, 2))))
        return _pointwise(self.pointwise_conv2, x.transpose(1, 2))


def _pointwise(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """A kernel-1 Conv1d applied to channels-last input (B, T, C_in) -> (B, T, C_out)."""
    return F.linear(x, conv.weight.squeeze(-1), conv.bias)


class ConformerLayer(nn.Module):
    """Macaron block: half FFN, self-attention, convolution, half FFN, final norm."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        d_model = config.d_model
        self.norm_feed_forward1 = nn.LayerNorm(d_model)
        self.feed_forward1 = ConformerFeedForward(d_model, config.d_ff)
        self.norm_conv = nn.LayerNorm(d_model)
        self.conv = ConformerConvolution(d_model, config.conv_kernel_size)
        self.norm_self_att = nn.LayerNorm(d_model)
        self.self_attn = RelPositionMultiHeadAttention(config.n_heads, d_model)
        self.norm_feed_forward2 = nn.LayerNorm(d_model)
        self.feed_forward2 = ConformerFeedForward(d_model, config.d_ff)
        self.norm_out = nn.LayerNorm(d_model)

    def forward(
        self,
        x: torch.Tensor,
        pos_emb: torch.Tensor,
        att_mask: torch.Tensor,
        pad_mask: torch.Tensor,
    ) -> torch.Tensor:
        x = x + FFN_RESIDUAL_FACTOR * self.feed_forward1(self.norm_feed_forward1(x))
        x = x + self.self_attn(self.norm_self_att(x), pos_emb, att_mask, pad_mask)
        x = x + self.conv(self.norm_conv(x), pad_mask)
        x = x + FFN_RESIDUAL_FACTOR * self.feed_forward2(self.norm_feed_forward2(x))
        return self.norm_out(x)


class ConformerEncoder(nn.Module):
    """Features (B, feat_in, T) and lengths (B,) to encodings (B, d_model, T') and lengths."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.pre_encode = ConvSubsampling(config)
        self.pos_enc = RelPositionalEncoding(config.d_model, config.xscaling)
        self.layers = nn.ModuleList(ConformerLayer(config) for _ in range(config.n_layers))

    def forward(
        self, audio_signal: torch.Tensor, length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, length = self.pre_encode(audio_signal.transpose(1, 2), length.to(torch.int64))
        x, pos_emb = self.pos_enc(x)
        frames = torch.arange(x.size(1), dtype=torch.int64, device=x.device)
        valid = frames.unsqueeze(0) < length.unsqueeze(1)
        pad_mask = ~valid
        att_mask = ~(valid.unsqueeze(1) & valid.unsqueeze(2))
        for layer in self.layers:
            x = layer(x, pos_emb, att_mask, pad_mask)
        return x.transpose(1, 2), length
