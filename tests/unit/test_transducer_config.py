"""Transducer sections of model_config.yaml: what is read, and what is refused by name.

Starts from the YAML NeMo itself wrote for the committed fixtures.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from manual_export.archive import read_archive
from manual_export.config import parse_config
from manual_export.errors import ConfigError, UnsupportedOptionError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nemo"


@pytest.fixture(scope="module")
def tdt_yaml() -> dict:
    return read_archive(FIXTURES / "tdt_fastconformer.nemo").config


@pytest.fixture(scope="module")
def hybrid_yaml() -> dict:
    return read_archive(FIXTURES / "hybrid_fastconformer.nemo").config


def test_tdt_is_read(tdt_yaml: dict) -> None:
    config = parse_config(tdt_yaml)
    assert config.family == "tdt" and config.decoder is None
    transducer = config.transducer
    assert transducer.durations == (0, 1, 2, 3, 4) and transducer.max_symbols == 3
    assert transducer.num_outputs == transducer.vocab_size + 1 + 5
    assert (transducer.pred_hidden, transducer.pred_rnn_layers, transducer.joint_hidden) == (
        24, 2, 40)


def test_hybrid_has_both_heads(hybrid_yaml: dict) -> None:
    config = parse_config(hybrid_yaml)
    assert config.family == "rnnt" and config.decoder is not None
    assert config.decoder.num_classes == config.transducer.vocab_size


def test_sections_identify_the_family_without_target(hybrid_yaml: dict) -> None:
    raw = copy.deepcopy(hybrid_yaml)
    del raw["target"]
    assert parse_config(raw).model_class == "EncDecHybridRNNTCTCBPEModel"
    del raw["aux_ctc"]
    assert parse_config(raw).model_class == "EncDecRNNTBPEModel"


@pytest.mark.parametrize(
    ("path", "value", "option"),
    [
        (("decoder", "prednet", "rnn_hidden_size"), 48, "decoder.prednet.rnn_hidden_size"),
        (("decoder", "normalization_mode"), "layer", "decoder.normalization_mode"),
        (("decoder", "blank_as_pad"), False, "decoder.blank_as_pad"),
        (("joint", "jointnet", "activation"), "gelu", "joint.jointnet.activation"),
        (("joint", "_target_"), "nemo.collections.asr.modules.SampledRNNTJoint", "joint._target_"),
        (("joint", "num_extra_outputs"), 3, "joint.num_extra_outputs"),
    ],
)
def test_unsupported_transducer_options_are_named(tdt_yaml: dict, path, value, option) -> None:
    raw = copy.deepcopy(tdt_yaml)
    section = raw
    for key in path[:-1]:
        section = section[key]
    section[path[-1]] = value
    with pytest.raises(UnsupportedOptionError) as caught:
        parse_config(raw)
    assert caught.value.option == option


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw["joint"]["jointnet"].update(encoder_hidden=7), "encoder_hidden"),
        (lambda raw: raw["decoding"]["greedy"].update(max_symbols=-1), "max_symbols"),
        (lambda raw: raw.update(model_defaults=[1]), "malformed"),
        (lambda raw: raw.pop("joint"), "'joint'"),
    ],
)
def test_malformed_transducer_config_is_one_line(tdt_yaml: dict, mutate, message) -> None:
    raw = copy.deepcopy(tdt_yaml)
    mutate(raw)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert message in str(caught.value) and "\n" not in str(caught.value)
