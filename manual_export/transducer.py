"""NeMo's transducer heads (eval mode) rebuilt in plain PyTorch: prediction net and joint.

Attribute names mirror NeMo's `RNNTDecoder` (`prediction.embed`,
`prediction.dec_rnn.lstm`) and `RNNTJoint` (`enc`, `pred`, `joint_net`) so a
NeMo state_dict loads strictly. One deliberate departure: the embedding of the
blank id is zeroed in the graph. NeMo starts decoding from a zero vector, not
from the blank's embedding row, while both runtimes feed the blank id as the
first target; zeroing it makes the runtimes compute what NeMo computes.
"""

from __future__ import annotations

import torch
from torch import nn

from manual_export.transducer_config import TransducerConfig

__all__ = ["RNNTDecoder", "RNNTJoint"]

_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class LSTMDropout(nn.Module):
    """NeMo's wrapper around `nn.LSTM`; its dropout is identity at inference."""

    def __init__(self, size: int, layers: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=size, hidden_size=size, num_layers=layers)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        return self.lstm(x, state)


class RNNTDecoder(nn.Module):
    """Targets (B, U) and LSTM state to prediction outputs (B, U, H) and the next state."""

    def __init__(self, config: TransducerConfig) -> None:
        super().__init__()
        self.blank_id = config.blank_id
        self.prediction = nn.ModuleDict({
            "embed": nn.Embedding(config.vocab_size + 1, config.pred_hidden,
                                  padding_idx=config.blank_id),
            "dec_rnn": LSTMDropout(config.pred_hidden, config.pred_rnn_layers),
        })

    def forward(
        self, targets: torch.Tensor, state_h: torch.Tensor, state_c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        targets = targets.to(torch.int64)
        embedded = self.prediction["embed"](targets)
        embedded = embedded * (targets != self.blank_id).unsqueeze(-1).to(embedded.dtype)
        g, (h, c) = self.prediction["dec_rnn"](embedded.transpose(0, 1), (state_h, state_c))
        return g.transpose(0, 1), h, c


class RNNTJoint(nn.Module):
    """Encoder frames (B, T, D) and prediction outputs (B, U, H) to raw logits (B, T, U, C).

    No log-softmax: NeMo's exported joint returns logits, and every argmax is the
    same either way (for TDT the token and duration parts are taken separately).
    """

    def __init__(self, config: TransducerConfig, d_model: int) -> None:
        super().__init__()
        self.pred = nn.Linear(config.pred_hidden, config.joint_hidden)
        self.enc = nn.Linear(d_model, config.joint_hidden)
        layers: list[nn.Module] = [_ACTIVATIONS[config.activation]()]
        if config.joint_dropout:
            layers.append(nn.Dropout(0.0))  # holds the index NeMo's checkpoint keys use
        layers.append(nn.Linear(config.joint_hidden, config.num_outputs))
        self.joint_net = nn.Sequential(*layers)

    def forward(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return self.joint_net(self.enc(f).unsqueeze(2) + self.pred(g).unsqueeze(1))
