"""Typed view of `model_config.yaml`: only what the rebuilt model implements.

Every option that would change the network's math is checked here, so an
unsupported model fails up front with the option's name and value instead of
exporting a graph that loads and computes something else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from manual_export.errors import ConfigError, UnsupportedOptionError
from manual_export.features import FeatureConfig
from manual_export.transducer_config import TransducerConfig, parse_transducer
from manual_export.yaml_fields import integer, require, require_target

__all__ = [
    "DecoderConfig",
    "EncoderConfig",
    "ModelConfig",
    "PreprocessorConfig",
    "parse_config",
    "resolve_vocabulary",
]

MODEL_KINDS = {
    "EncDecCTCModelBPE": "bpe",
    "EncDecCTCModel": "char",
    "EncDecRNNTBPEModel": "bpe",
    "EncDecRNNTModel": "char",
    "EncDecHybridRNNTCTCBPEModel": "bpe",
    "EncDecHybridRNNTCTCModel": "char",
}
# NeMo's class names put "BPE" in different places.
_UNTARGETED = {
    ("ctc", True): "EncDecCTCModelBPE", ("ctc", False): "EncDecCTCModel",
    ("rnnt", True): "EncDecRNNTBPEModel", ("rnnt", False): "EncDecRNNTModel",
    ("hybrid", True): "EncDecHybridRNNTCTCBPEModel", ("hybrid", False): "EncDecHybridRNNTCTCModel",
}
TRANSDUCER_CLASSES = frozenset(name for name in MODEL_KINDS if "RNNT" in name)
HYBRID_CLASSES = frozenset(name for name in MODEL_KINDS if "Hybrid" in name)
SUBSAMPLINGS = ("striding", "dw_striding")


@dataclass(frozen=True)
class PreprocessorConfig:
    """NeMo's `AudioToMelSpectrogramPreprocessor` settings, with its class defaults filled in."""

    sample_rate: int = 16000
    window_size: float = 0.02
    window_stride: float = 0.01
    window: str = "hann"
    normalize: str = "per_feature"
    n_fft: int | None = None
    preemph: float | None = 0.97
    features: int = 64
    lowfreq: float = 0.0
    highfreq: float | None = None
    log: bool = True
    log_zero_guard_type: str = "add"
    log_zero_guard_value: float = 2.0**-24
    dither: float = 1e-5
    pad_to: int = 16
    pad_value: float = 0.0
    frame_splicing: int = 1
    exact_pad: bool = False
    mag_power: float = 2.0
    mel_norm: str | None = "slaney"

    def front_end(self) -> FeatureConfig:
        """The same settings as the NumPy front end reads them: one home for the frame math."""
        return FeatureConfig.from_dict(asdict(self))


@dataclass(frozen=True)
class EncoderConfig:
    """The Conformer encoder's shape; only non-causal rel-pos models pass `parse_config`."""

    feat_in: int
    n_layers: int
    d_model: int
    n_heads: int
    ff_expansion_factor: int
    subsampling: str
    subsampling_factor: int
    conv_channels: int
    conv_kernel_size: int
    xscaling: bool

    @property
    def d_ff(self) -> int:
        return self.d_model * self.ff_expansion_factor

    @property
    def subsampling_steps(self) -> int:
        return self.subsampling_factor.bit_length() - 1


@dataclass(frozen=True)
class DecoderConfig:
    """`ConvASRDecoder`: `num_classes` excludes the blank, which is appended last."""

    feat_in: int
    num_classes: int
    vocabulary: tuple[str, ...]


@dataclass(frozen=True)
class ModelConfig:
    """What the exporter needs to know about one `.nemo` model."""

    model_class: str
    kind: str
    preprocessor: PreprocessorConfig
    encoder: EncoderConfig
    decoder: DecoderConfig | None
    """The CTC head: the whole decoder of a CTC model, `aux_ctc` of a hybrid, None for RNNT."""
    tokenizer: Mapping[str, Any]
    transducer: TransducerConfig | None = None

    @property
    def family(self) -> str:
        """`ctc`, `rnnt` or `tdt`: which decoder the exported folder is built around."""
        if self.transducer is None:
            return "ctc"
        return "tdt" if self.transducer.is_tdt else "rnnt"

    @property
    def num_classes(self) -> int:
        """Vocabulary size without the blank."""
        if self.transducer is not None:
            return self.transducer.vocab_size
        assert self.decoder is not None
        return self.decoder.num_classes

    def feature_settings(self) -> dict[str, Any]:
        """The front end's settings as plain JSON values, for `config.json`."""
        settings = asdict(self.preprocessor)
        front_end = self.preprocessor.front_end()
        settings.update(
            n_fft=front_end.fft_size,
            win_length=front_end.win_length,
            hop_length=front_end.hop_length,
        )
        return settings


def parse_config(raw: Mapping[str, Any]) -> ModelConfig:
    """Build a `ModelConfig` from the archive's YAML, refusing what we cannot rebuild."""
    try:
        return _parse(raw)
    except (TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ConfigError):
            raise
        # A value of the wrong type somewhere deep in the YAML.
        raise ConfigError(f"model_config.yaml is malformed: {exc}") from None


def _parse(raw: Mapping[str, Any]) -> ModelConfig:
    if "encoder" not in raw and isinstance(raw.get("model"), Mapping):
        raw = raw["model"]  # training configs nest the model under `model:`
    for section in ("preprocessor", "encoder", "decoder"):
        if not isinstance(raw.get(section), Mapping):
            raise ConfigError(f"model_config.yaml has no {section!r} section")
    model_class = _model_class(raw)
    encoder = _encoder(raw["encoder"])
    transducer, decoder = None, None
    if model_class in TRANSDUCER_CLASSES:
        transducer = parse_transducer(raw, encoder.d_model)
    if model_class in HYBRID_CLASSES:
        aux = raw.get("aux_ctc")
        if not isinstance(aux, Mapping) or not isinstance(aux.get("decoder"), Mapping):
            raise ConfigError("model_config.yaml has no 'aux_ctc.decoder' section (hybrid model)")
        decoder = _decoder(aux["decoder"], raw, encoder)
    elif transducer is None:
        decoder = _decoder(raw["decoder"], raw, encoder)
    preprocessor = _preprocessor(raw["preprocessor"], encoder)
    tokenizer = raw.get("tokenizer") or {}
    if not isinstance(tokenizer, Mapping):
        raise ConfigError("model_config.yaml: 'tokenizer' is not a mapping")
    return ModelConfig(
        model_class=model_class,
        kind=MODEL_KINDS[model_class],
        preprocessor=preprocessor,
        encoder=encoder,
        decoder=decoder,
        tokenizer=dict(tokenizer),
        transducer=transducer,
    )


def resolve_vocabulary(
    config: ModelConfig, read_artifact: Callable[[str], bytes]
) -> tuple[str, ...]:
    """Pieces in id order: the YAML's list, else the SentencePiece `.vocab` artifact.

    NeMo writes the tokenizer's pieces into `decoder.vocabulary` (`joint.vocabulary`
    for transducers) when it builds a BPE model, so the artifact is only needed for
    configs saved without them. A hybrid's two heads must agree.
    """
    heads = [head.vocabulary for head in (config.transducer, config.decoder) if head is not None]
    if len(heads) == 2 and heads[0] and heads[1] and heads[0] != heads[1]:
        raise ConfigError("joint.vocabulary and aux_ctc.decoder.vocabulary differ")
    if config.decoder is not None and config.decoder.num_classes != config.num_classes:
        raise ConfigError(f"aux_ctc.decoder.num_classes={config.decoder.num_classes} differs "
                          f"from joint.num_classes={config.num_classes}")
    vocabulary = next((v for v in heads if v), ())
    if not vocabulary and config.kind == "bpe":
        ref = config.tokenizer.get("spe_tokenizer_vocab")
        if not ref:
            raise ConfigError(
                "decoder.vocabulary is empty and tokenizer.spe_tokenizer_vocab is not set"
            )
        lines = read_artifact(str(ref)).decode("utf-8").splitlines()
        vocabulary = tuple(line.split("\t")[0] for line in lines if line)
    if len(vocabulary) != config.num_classes:
        raise ConfigError(
            f"vocabulary has {len(vocabulary)} entries but the model has "
            f"{config.num_classes} classes"
        )
    return vocabulary


def _model_class(raw: Mapping[str, Any]) -> str:
    target = raw.get("target")
    if target is None:
        # Configs saved without `target` are identified by their sections.
        family = "ctc"
        if isinstance(raw.get("joint"), Mapping):
            family = "hybrid" if raw.get("aux_ctc") else "rnnt"
        return _UNTARGETED[family, bool(raw.get("tokenizer"))]
    name = str(target).rsplit(".", 1)[-1]
    if name not in MODEL_KINDS:
        raise UnsupportedOptionError("target", target, ", ".join(MODEL_KINDS))
    return name


def _encoder(raw: Mapping[str, Any]) -> EncoderConfig:
    require_target(raw, "encoder", "ConformerEncoder")
    require(raw, "encoder.self_attention_model", "rel_pos", "rel_pos")
    require(raw, "encoder.untie_biases", True, "true")
    require(raw, "encoder.causal_downsampling", False, "false")
    require(raw, "encoder.conv_norm_type", "batch_norm", "batch_norm")
    require(raw, "encoder.use_bias", True, "true")
    require(raw, "encoder.global_tokens", 0, "0")
    for option in ("reduction", "reduction_position"):
        require(raw, f"encoder.{option}", None, "null")
    context = raw.get("att_context_size")
    if context is not None and list(context) != [-1, -1]:
        raise UnsupportedOptionError("encoder.att_context_size", context, "[-1, -1] or null")

    subsampling = raw.get("subsampling", "striding")
    if subsampling not in SUBSAMPLINGS:
        raise UnsupportedOptionError("encoder.subsampling", subsampling, ", ".join(SUBSAMPLINGS))
    factor = integer(raw, "encoder.subsampling_factor", 4)
    if factor < 2 or factor & (factor - 1):
        raise UnsupportedOptionError("encoder.subsampling_factor", factor, "a power of two >= 2")

    d_model = integer(raw, "encoder.d_model")
    n_heads = integer(raw, "encoder.n_heads", 4)
    if d_model % n_heads:
        raise ConfigError(f"encoder.d_model={d_model} is not divisible by n_heads={n_heads}")
    kernel = integer(raw, "encoder.conv_kernel_size", 31)
    if kernel % 2 == 0:
        raise UnsupportedOptionError("encoder.conv_kernel_size", kernel, "an odd size")
    conv_context = raw.get("conv_context_size")
    symmetric = [(kernel - 1) // 2] * 2
    if conv_context not in (None, "symmetric") and list(conv_context) != symmetric:
        raise UnsupportedOptionError("encoder.conv_context_size", conv_context, f"{symmetric}")
    feat_out = integer(raw, "encoder.feat_out", -1)
    if feat_out > 0 and feat_out != d_model:
        raise UnsupportedOptionError("encoder.feat_out", feat_out, f"-1 or d_model ({d_model})")
    conv_channels = integer(raw, "encoder.subsampling_conv_channels", -1)

    return EncoderConfig(
        feat_in=integer(raw, "encoder.feat_in"),
        n_layers=integer(raw, "encoder.n_layers"),
        d_model=d_model,
        n_heads=n_heads,
        ff_expansion_factor=integer(raw, "encoder.ff_expansion_factor", 4),
        subsampling=subsampling,
        subsampling_factor=factor,
        conv_channels=d_model if conv_channels == -1 else conv_channels,
        conv_kernel_size=kernel,
        xscaling=bool(raw.get("xscaling", True)),
    )


def _decoder(
    raw: Mapping[str, Any], model: Mapping[str, Any], encoder: EncoderConfig
) -> DecoderConfig:
    require_target(raw, "decoder", "ConvASRDecoder")
    require(raw, "decoder.add_blank", True, "true")
    vocabulary = raw.get("vocabulary") or model.get("labels") or []
    if not isinstance(vocabulary, (list, tuple)) or not all(isinstance(p, str) for p in vocabulary):
        raise ConfigError("decoder.vocabulary is not a list of strings")
    num_classes = integer(raw, "decoder.num_classes", -1)
    if num_classes <= 0:
        num_classes = len(vocabulary)  # NeMo fills the placeholder from the vocabulary too
    feat_in = raw.get("feat_in")
    feat_in = encoder.d_model if feat_in in (None, -1) else integer(raw, "decoder.feat_in")
    if feat_in != encoder.d_model:
        raise ConfigError(
            f"decoder.feat_in={feat_in} differs from encoder.d_model={encoder.d_model}"
        )
    return DecoderConfig(feat_in=feat_in, num_classes=num_classes, vocabulary=tuple(vocabulary))


def _preprocessor(raw: Mapping[str, Any], encoder: EncoderConfig) -> PreprocessorConfig:
    require_target(raw, "preprocessor", "AudioToMelSpectrogramPreprocessor")
    known = PreprocessorConfig.__dataclass_fields__
    values = {key: value for key, value in raw.items() if key in known}
    guard = values.get("log_zero_guard_value")
    if isinstance(guard, str):
        values["log_zero_guard_value"] = _named_guard(guard)
    config = PreprocessorConfig(**values)
    if config.features != encoder.feat_in:
        raise ConfigError(
            f"preprocessor.features={config.features} differs from encoder.feat_in={encoder.feat_in}"
        )
    if config.frame_splicing != 1:
        raise UnsupportedOptionError("preprocessor.frame_splicing", config.frame_splicing, "1")
    return config


def _named_guard(name: str) -> float:
    """NeMo accepts 'tiny' and 'eps' for the float32 limits."""
    limits = {"tiny": float(np.finfo(np.float32).tiny), "eps": float(np.finfo(np.float32).eps)}
    if name not in limits:
        raise UnsupportedOptionError(
            "preprocessor.log_zero_guard_value", name, "a number, tiny, eps"
        )
    return limits[name]
