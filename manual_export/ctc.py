"""NeMo's `ConvASRDecoder`: a 1x1 convolution to V+1 classes and log-softmax.

The blank is the last class (index V), as NeMo's CTC models append it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ConvASRDecoder"]


class ConvASRDecoder(nn.Module):
    """Encodings (B, D, T') to log-probabilities (B, T', num_outputs)."""

    def __init__(self, feat_in: int, num_outputs: int) -> None:
        super().__init__()
        self.decoder_layers = nn.Sequential(nn.Conv1d(feat_in, num_outputs, kernel_size=1))

    def forward(self, encoder_output: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.decoder_layers(encoder_output).transpose(1, 2), dim=-1)
