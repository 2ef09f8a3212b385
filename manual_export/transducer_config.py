"""The transducer half of `model_config.yaml`: prediction network, joint, greedy settings.

Shared by RNNT, TDT and hybrid RNNT-CTC models (NeMo's `EncDecRNNTModel`
family). TDT is an RNNT whose joint has one extra output per duration; any
other use of extra outputs (multi-blank) is refused, as are prediction
networks with a projection or normalisation, which the rebuild does not have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from manual_export.errors import ConfigError, UnsupportedOptionError
from manual_export.yaml_fields import integer, require, require_target

__all__ = ["DEFAULT_MAX_SYMBOLS", "JOINT_ACTIVATIONS", "TransducerConfig", "parse_transducer"]

# NeMo's greedy decoding default when the config names no limit.
DEFAULT_MAX_SYMBOLS = 10
JOINT_ACTIVATIONS = ("relu", "sigmoid", "tanh")


@dataclass(frozen=True)
class TransducerConfig:
    """`RNNTDecoder` + `RNNTJoint` shapes; `durations` is empty unless the model is TDT."""

    vocab_size: int
    vocabulary: tuple[str, ...]
    pred_hidden: int
    pred_rnn_layers: int
    joint_hidden: int
    activation: str
    joint_dropout: bool
    durations: tuple[int, ...]
    max_symbols: int

    @property
    def blank_id(self) -> int:
        return self.vocab_size

    @property
    def is_tdt(self) -> bool:
        return bool(self.durations)

    @property
    def num_outputs(self) -> int:
        """Joint outputs: tokens, the blank, then one logit per TDT duration."""
        return self.vocab_size + 1 + len(self.durations)


def parse_transducer(raw: Mapping[str, Any], d_model: int) -> TransducerConfig:
    """Read the `decoder`, `joint` and `decoding` sections of an RNNT/TDT/hybrid model."""
    decoder, joint = raw["decoder"], raw.get("joint")
    if not isinstance(joint, Mapping):
        raise ConfigError("model_config.yaml has no 'joint' section")
    require_target(decoder, "decoder", "RNNTDecoder")
    require(decoder, "decoder.blank_as_pad", True, "true")
    require(decoder, "decoder.normalization_mode", None, "null")
    prednet = _section(decoder, "prednet", "decoder.prednet")
    pred_hidden = integer(prednet, "decoder.prednet.pred_hidden")
    rnn_hidden = integer(prednet, "decoder.prednet.rnn_hidden_size", -1)
    if rnn_hidden not in (-1, pred_hidden):
        raise UnsupportedOptionError("decoder.prednet.rnn_hidden_size", rnn_hidden,
                                     f"-1 or pred_hidden ({pred_hidden})")

    require_target(joint, "joint", "RNNTJoint")
    jointnet = _section(joint, "jointnet", "joint.jointnet")
    encoder_hidden = integer(jointnet, "joint.jointnet.encoder_hidden", d_model)
    if encoder_hidden != d_model:
        raise ConfigError(f"joint.jointnet.encoder_hidden={encoder_hidden} differs from "
                          f"encoder.d_model={d_model}")
    if integer(jointnet, "joint.jointnet.pred_hidden", pred_hidden) != pred_hidden:
        raise ConfigError("joint.jointnet.pred_hidden differs from decoder.prednet.pred_hidden")
    activation = str(jointnet.get("activation", "relu")).lower()
    if activation not in JOINT_ACTIVATIONS:
        raise UnsupportedOptionError("joint.jointnet.activation", activation,
                                     ", ".join(JOINT_ACTIVATIONS))

    vocabulary = joint.get("vocabulary") or raw.get("labels") or []
    if not isinstance(vocabulary, (list, tuple)) or not all(isinstance(p, str) for p in vocabulary):
        raise ConfigError("joint.vocabulary is not a list of strings")
    vocab_size = integer(joint, "joint.num_classes", -1)
    if vocab_size <= 0:
        vocab_size = len(vocabulary)
    decoder_vocab = integer(decoder, "decoder.vocab_size", vocab_size)
    if decoder_vocab != vocab_size:
        raise ConfigError(f"decoder.vocab_size={decoder_vocab} differs from "
                          f"joint.num_classes={vocab_size}")

    return TransducerConfig(
        vocab_size=vocab_size,
        vocabulary=tuple(vocabulary),
        pred_hidden=pred_hidden,
        pred_rnn_layers=integer(prednet, "decoder.prednet.pred_rnn_layers", 1),
        joint_hidden=integer(jointnet, "joint.jointnet.joint_hidden"),
        activation=activation,
        joint_dropout=bool(jointnet.get("dropout") or 0.0),
        durations=_durations(raw, integer(joint, "joint.num_extra_outputs", 0)),
        max_symbols=_max_symbols(raw.get("decoding") or {}),
    )


def _durations(raw: Mapping[str, Any], extra_outputs: int) -> tuple[int, ...]:
    """TDT durations from wherever NeMo's configs keep them; none for plain RNNT."""
    decoding = raw.get("decoding") or {}
    loss = raw.get("loss") or {}
    candidates = (
        (raw.get("model_defaults") or {}).get("tdt_durations"),
        decoding.get("durations"),
        (loss.get("tdt_kwargs") or {}).get("durations"),
    )
    durations = next((list(c) for c in candidates if c), [])
    if extra_outputs == 0 and not durations:
        return ()
    if decoding.get("model_type", "tdt") != "tdt" or len(durations) != extra_outputs:
        raise UnsupportedOptionError(
            "joint.num_extra_outputs", extra_outputs,
            "0 (RNNT) or the number of TDT durations (decoding.model_type: tdt)")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in durations):
        raise ConfigError(f"TDT durations must be non-negative integers, got {durations!r}")
    return tuple(durations)


def _max_symbols(decoding: Mapping[str, Any]) -> int:
    greedy = decoding.get("greedy") or {}
    value = greedy.get("max_symbols") or greedy.get("max_symbols_per_step") or DEFAULT_MAX_SYMBOLS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"decoding.greedy.max_symbols must be a positive integer, got {value!r}")
    return value


def _section(raw: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, Mapping):
        raise ConfigError(f"model_config.yaml has no {name!r} section")
    return value
