"""The whole NeMo model as the checkpoint sees it, and its strict loading.

`EncDecCTC` mirrors `EncDecCTCModel`; `EncDecTransducer` mirrors
`EncDecRNNTModel` (RNNT and TDT) and, with its `ctc_decoder`, the hybrid
RNNT-CTC model.

The preprocessor holds only the two buffers NeMo saves (window and mel
filterbank): features are computed outside the graph, as in NeMo's own
export, but strict loading needs a home for those keys, and the exporter
hands them to the NumPy front end.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from manual_export.config import ModelConfig, PreprocessorConfig
from manual_export.conformer import ConformerEncoder
from manual_export.ctc import ConvASRDecoder
from manual_export.errors import WeightsMismatchError
from manual_export.transducer import RNNTDecoder, RNNTJoint

__all__ = ["CTCHead", "EncDecCTC", "EncDecTransducer", "build_model", "load_weights"]

_WINDOWLESS = (None, "none", "ones")


class FilterbankBuffers(nn.Module):
    """The persistent buffers of NeMo's `FilterbankFeatures`; no forward."""

    def __init__(self, config: PreprocessorConfig) -> None:
        super().__init__()
        front_end = config.front_end()
        if config.window not in _WINDOWLESS:
            self.register_buffer("window", torch.zeros(front_end.win_length))
        bins = front_end.fft_size // 2 + 1
        self.register_buffer("fb", torch.zeros(1, config.features, bins))


class Preprocessor(nn.Module):
    def __init__(self, config: PreprocessorConfig) -> None:
        super().__init__()
        self.featurizer = FilterbankBuffers(config)


class EncDecCTC(nn.Module):
    """Preprocessor buffers, Conformer encoder and CTC decoder under NeMo's names."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.preprocessor = Preprocessor(config.preprocessor)
        self.encoder = ConformerEncoder(config.encoder)
        self.decoder = ConvASRDecoder(config.decoder.feat_in, config.decoder.num_classes + 1)

    def forward_for_export(
        self, audio_signal: torch.Tensor, length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, F, T) and lengths (B,) to log-probs (B, T', V+1) and encoded lengths."""
        encoded, encoded_lengths = self.encoder(audio_signal, length)
        return self.decoder(encoded), encoded_lengths

    forward = forward_for_export


class EncDecTransducer(nn.Module):
    """Preprocessor buffers, Conformer encoder, prediction net, joint (and a hybrid's CTC head)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        assert config.transducer is not None
        self.config = config
        self.preprocessor = Preprocessor(config.preprocessor)
        self.encoder = ConformerEncoder(config.encoder)
        self.decoder = RNNTDecoder(config.transducer)
        self.joint = RNNTJoint(config.transducer, config.encoder.d_model)
        if config.decoder is not None:
            self.ctc_decoder = ConvASRDecoder(config.decoder.feat_in, config.decoder.num_classes + 1)


class CTCHead(nn.Module):
    """A hybrid's encoder and CTC decoder seen as a CTC model, for the CTC export and checks."""

    def __init__(self, model: EncDecTransducer) -> None:
        super().__init__()
        self.config = model.config
        self.encoder = model.encoder
        self.decoder = model.ctc_decoder
        # The exporter restores the wrapper's mode on every submodule afterwards: a
        # wrapper left in training mode would switch the shared encoder's batch norms.
        self.eval()

    def forward(
        self, audio_signal: torch.Tensor, length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        encoded, encoded_lengths = self.encoder(audio_signal, length)
        return self.decoder(encoded), encoded_lengths


def build_model(
    config: ModelConfig, state_dict: Mapping[str, torch.Tensor]
) -> EncDecCTC | EncDecTransducer:
    """A frozen, eval-mode model holding the checkpoint's weights."""
    model = EncDecCTC(config) if config.transducer is None else EncDecTransducer(config)
    load_weights(model, state_dict)
    model.eval()
    model.requires_grad_(False)
    return model


def load_weights(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Strict load that reports every missing, unexpected and mis-shaped key at once."""
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    wrong_shape = [
        f"{key} {tuple(state_dict[key].shape)} != {tuple(tensor.shape)}"
        for key, tensor in expected.items()
        if key in state_dict and state_dict[key].shape != tensor.shape
    ]
    if missing or unexpected or wrong_shape:
        raise WeightsMismatchError(missing, unexpected, wrong_shape)
    # The model takes the checkpoint's tensors instead of copies (`assign`): a
    # 0.6B-parameter model would otherwise sit in memory twice. Dtypes are
    # matched first (a no-op when they agree), as a copying load would cast.
    matched = {key: value.to(expected[key].dtype) for key, value in state_dict.items()}
    model.load_state_dict(matched, strict=True, assign=True)
