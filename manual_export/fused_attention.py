"""The exported graph's relative-position attention, built around onnxruntime's fused kernel.

Under `torch.onnx.export` each Conformer layer's attention becomes one
`com.microsoft` MultiHeadAttention node: content scores, the position term
(passed as its additive attention bias), the key padding mask, softmax and the
product with the values run in one kernel, head by head, instead of separate
graph nodes each making a pass over the (batch, heads, T, T) scores. Both
runtimes the export targets (onnx-asr, sherpa-onnx) run on onnxruntime, whose
CPU provider carries the contrib operators. Eager PyTorch never comes here: it
keeps NeMo's own operations, the baseline the exporter is measured against.

Same math as NeMo's `RelPositionMultiHeadAttention` on every valid frame, and on
padded frames too (their attention output is zeroed, as NeMo's masked fill does).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MASKED_SCORE", "fused_rel_attention", "positions_table"]

# NeMo fills masked attention scores with -10000, not -inf: -inf would turn fully padded
# rows into NaN before they are zeroed. onnxruntime adds its mask_filter_value instead;
# either way a masked key's weight underflows to exactly 0 beside any real score.
MASKED_SCORE = -10000.0


def positions_table(time: int | torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """[sin(p w), cos(p w)] for positions p = 0 ... T, shape (1, T + 1, d_model).

    One row more than the T - 1 a layer needs on the positive side: the extra
    position -T gives the position scores 2T columns, which makes the rel-shift
    a single slice (see `_rel_shift`).
    """
    angles = torch.arange(time + 1, dtype=torch.float32, device=inv_freq.device).unsqueeze(1)
    angles = angles * inv_freq.unsqueeze(0)
    return torch.cat((angles.sin(), angles.cos()), dim=-1).unsqueeze(0)


def fused_rel_attention(
    attn: nn.Module, x: torch.Tensor, table: torch.Tensor, pad_mask: torch.Tensor
) -> torch.Tensor:
    """One layer's attention (a `RelPositionMultiHeadAttention`) as the export graph computes it.

    The u bias rides in MultiHeadAttention's projection bias; the v bias and the
    1/sqrt(d_k) scale go into the position term, which after its rel-shift is
    the kernel's attention bias.
    """
    batch, time = x.size(0), x.size(1)
    heads, d_k = attn.h, attn.d_k
    q = F.linear(x, attn.linear_q.weight)
    k = F.linear(x, attn.linear_k.weight)
    v = F.linear(x, attn.linear_v.weight)
    projection_bias = torch.cat(
        (attn.linear_q.bias + attn.pos_bias_u.reshape(-1), attn.linear_k.bias, attn.linear_v.bias)
    )
    q_v = q + (attn.linear_q.bias + attn.pos_bias_v.reshape(-1))
    q_v = q_v.reshape(batch, time, heads, d_k).transpose(1, 2)
    p = _project_positions(attn.linear_pos, table, 1.0 / attn.s_d_k)
    p = p.reshape(1, -1, heads, d_k).transpose(1, 2)
    position = _rel_shift(torch.matmul(q_v, p.transpose(-2, -1)))
    keep = (~pad_mask).to(torch.int32)
    out = _MultiHeadAttention.apply(q, k, v, projection_bias, keep, position, heads,
                                   1.0 / attn.s_d_k)
    return attn.linear_out(out.masked_fill(pad_mask.unsqueeze(-1), 0.0))


def _project_positions(linear_pos: nn.Linear, table: torch.Tensor, scale: float) -> torch.Tensor:
    """scale * linear_pos over positions T-1 ... -T, from the table of positions 0 ... T alone.

    Since sin(-p w) = -sin(p w) and cos(-p w) = cos(p w), the projection of
    position -p is C - S where that of +p is C + S (S: the sine channels' part,
    C: the cosine channels'): half the multiply-adds of projecting every row.
    NeMo's table interleaves the channels: sines even, cosines odd. The scale
    folds into the weights, so it costs nothing at run time.
    """
    half_width = table.size(-1) // 2
    sines = F.linear(table[..., :half_width], linear_pos.weight[:, 0::2] * scale)
    cosines = F.linear(table[..., half_width:], linear_pos.weight[:, 1::2] * scale)
    time = table.size(1) - 1
    return torch.cat(((cosines + sines)[:, :time].flip(1), (cosines - sines)[:, 1:]), dim=1)


def _rel_shift(scores: torch.Tensor) -> torch.Tensor:
    """(B, H, T, 2T) scores over positions T-1 ... -T to (B, H, T, T) over keys.

    Key j of query i sits at relative position i - j, column T-1-i+j, so at
    flat index i(2T-1) + (T-1) + j of the row-major scores: one contiguous
    slice from offset T-1, read as rows of 2T-1, first T columns. (NeMo pads a
    zero column and folds instead: two more copies of the scores.)
    """
    batch, heads, time, width = scores.size()
    flat = scores.reshape(batch, heads, -1)[:, :, time - 1 : time - 1 + time * (width - 1)]
    return flat.reshape(batch, heads, time, width - 1)[:, :, :, :time]


class _MultiHeadAttention(torch.autograd.Function):
    """onnxruntime's `com.microsoft` MultiHeadAttention; `forward` is its math, for tracing."""

    @staticmethod
    def forward(ctx, query, key, value, bias, key_padding_mask, attention_bias, heads: int,
                scale: float):
        batch, q_len, width = query.size()
        k_len = key.size(1)
        d_k = width // heads

        def split(t: torch.Tensor, b: torch.Tensor, length: int) -> torch.Tensor:
            return (t + b).reshape(batch, length, heads, d_k).transpose(1, 2)

        scores = torch.matmul(split(query, bias[:width], q_len),
                              split(key, bias[width : 2 * width], k_len).transpose(-2, -1))
        scores = scores * scale + attention_bias
        masked = (key_padding_mask == 0).reshape(batch, 1, 1, k_len)
        scores = scores + masked.to(scores.dtype) * MASKED_SCORE
        out = torch.matmul(torch.softmax(scores, dim=-1), split(value, bias[2 * width :], k_len))
        return out.transpose(1, 2).reshape(batch, q_len, width)

    @staticmethod
    def symbolic(g, query, key, value, bias, key_padding_mask, attention_bias, heads: int,
                 scale: float):
        out = g.op(
            "com.microsoft::MultiHeadAttention",
            query, key, value, bias, key_padding_mask, attention_bias,
            num_heads_i=heads, mask_filter_value_f=MASKED_SCORE, scale_f=scale,
        )
        out.setType(query.type())
        return out
