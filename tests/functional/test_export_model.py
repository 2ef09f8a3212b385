"""The rebuilt model: strict loading, clear mismatch errors, unsupported options,
and agreement with an independent NumPy reference of NeMo's documented math.

The reference below reads the checkpoint by key name and follows the spec in
float64: NeMo's fixed positional table sliced around its centre, rel-shift as
an explicit index (column j of row i holds relative position i - j), the
channel-major flatten after subsampling. It shares no code with the exporter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from nemo_fixture import fake_config, write_fake_nemo

from manual_export.archive import read_archive
from manual_export.config import parse_config, resolve_vocabulary
from manual_export.errors import ConfigError, UnsupportedOptionError, WeightsMismatchError
from manual_export.model import build_model


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory):
    return read_archive(write_fake_nemo(tmp_path_factory.mktemp("nemo") / "small.nemo"))


def test_strict_load_takes_every_tensor_from_the_checkpoint(small_archive):
    model = build_model(parse_config(small_archive.config), small_archive.state_dict)
    loaded = model.state_dict()
    assert set(loaded) == set(small_archive.state_dict)
    for key, tensor in small_archive.state_dict.items():
        assert torch.equal(loaded[key], tensor), key


def test_renamed_and_missing_keys_are_listed(small_archive):
    state = dict(small_archive.state_dict)
    state["encoder.layers.0.norm_convolution.weight"] = state.pop(
        "encoder.layers.0.norm_conv.weight"
    )
    del state["decoder.decoder_layers.0.bias"]
    with pytest.raises(WeightsMismatchError) as caught:
        build_model(parse_config(small_archive.config), state)
    message = str(caught.value)
    assert (
        "missing keys: encoder.layers.0.norm_conv.weight, decoder.decoder_layers.0.bias" in message
    )
    assert "unexpected keys: encoder.layers.0.norm_convolution.weight" in message
    assert caught.value.missing == [
        "encoder.layers.0.norm_conv.weight",
        "decoder.decoder_layers.0.bias",
    ]


def test_wrong_shape_is_named(small_archive):
    state = dict(small_archive.state_dict)
    state["encoder.layers.1.self_attn.pos_bias_u"] = torch.zeros(2, 32)
    with pytest.raises(WeightsMismatchError, match=r"pos_bias_u \(2, 32\) != \(4, 16\)"):
        build_model(parse_config(small_archive.config), state)


@pytest.mark.parametrize(
    ("section", "option", "value"),
    [
        ("encoder", "self_attention_model", "abs_pos"),
        ("encoder", "subsampling", "vggnet"),
        ("encoder", "conv_norm_type", "layer_norm"),
        ("encoder", "att_context_size", [70, 0]),
        ("encoder", "causal_downsampling", True),
        ("encoder", "untie_biases", False),
        ("encoder", "conv_context_size", "causal"),
        ("encoder", "subsampling_factor", 6),
        ("encoder", "_target_", "nemo.collections.asr.modules.SqueezeformerEncoder"),
        ("preprocessor", "frame_splicing", 3),
        (None, "target", "nemo.collections.asr.models.EncDecMultiTaskModel"),
    ],
)
def test_unsupported_options_name_option_and_value(section, option, value):
    raw = _config()
    (raw[section] if section else raw)[option] = value
    with pytest.raises(UnsupportedOptionError) as caught:
        parse_config(raw)
    assert option in str(caught.value)
    assert repr(value) in str(caught.value)


def test_malformed_config_is_a_config_error():
    raw = _config()
    raw["encoder"]["d_model"] = "wide"
    with pytest.raises(ConfigError, match="encoder.d_model must be an integer"):
        parse_config(raw)


def test_top_level_model_key_is_tolerated(tmp_path):
    raw = {"model": _config(), "trainer": {"devices": 1}}
    config = parse_config(raw)
    assert config.encoder.d_model == 64


def test_char_model_reads_labels():
    raw = _config(bpe=False)
    config = parse_config(raw)
    assert config.kind == "char" and config.model_class == "EncDecCTCModel"
    assert resolve_vocabulary(config, lambda ref: b"")[0] == " "


def test_bpe_vocabulary_falls_back_to_the_tokenizer_artifact(tmp_path):
    archive = read_archive(write_fake_nemo(tmp_path / "m.nemo"))
    archive.config["decoder"]["vocabulary"] = []
    config = parse_config(archive.config)
    vocabulary = resolve_vocabulary(config, archive.artifact)
    assert vocabulary[:3] == ("<unk>", "▁", "▁e") and len(vocabulary) == 32


@pytest.mark.parametrize("subsampling", ["striding", "dw_striding"])
def test_matches_independent_reference(tmp_path, subsampling):
    archive = read_archive(write_fake_nemo(tmp_path / "m.nemo", subsampling=subsampling, seed=3))
    config = parse_config(archive.config)
    model = build_model(config, archive.state_dict)
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(2, 80, 61, generator=generator)
    lengths = torch.tensor([61, 38])
    features[1, :, 38:] = 0.0
    with torch.inference_mode():
        logprobs, encoded = model(features, lengths)
    state = {k: v.double().numpy() for k, v in archive.state_dict.items()}
    for item in range(2):
        n = int(lengths[item])
        ref_logprobs, ref_len = _reference(state, features[item].double().numpy(), n, config)
        ref_padded, _ = _reference(
            state, features[item].double().numpy(), n, config, padded_to=features.shape[2]
        )
        assert int(encoded[item]) == ref_len == math.ceil(n / 4)
        got = logprobs[item, :ref_len].double().numpy()
        assert np.abs(got - ref_padded[:ref_len]).max() < 1e-4
        if item == 0:
            assert np.abs(got - ref_logprobs[:ref_len]).max() < 1e-4


def _config(bpe: bool = True) -> dict:
    vocabulary = ["a", "b", "c"] if bpe else [" ", "a", "b"]
    return fake_config(layers=2, d_model=64, n_heads=4, kernel=15, vocabulary=vocabulary, bpe=bpe)


# ---- reference (float64 NumPy, straight from the spec) ----


def _reference(state, features, length, config, padded_to=None):
    """Log-probs (T', V+1) and encoded length for one utterance, features (80, T)."""
    enc = config.encoder
    frames = padded_to or length
    x = features[:, :frames].T[None]  # (1, T, F) as a one-channel image
    x = _subsample(state, x, enc)  # (C, T', F')
    channels, t_out, f_out = x.shape
    flat = np.stack([x[c, :, f] for c in range(channels) for f in range(f_out)], axis=1)
    x = flat @ state["encoder.pre_encode.out.weight"].T + state["encoder.pre_encode.out.bias"]
    enc_len = length
    for _ in range(enc.subsampling_steps):
        enc_len = math.floor((enc_len + 2 - 3) / 2 + 1)
    x = x * math.sqrt(enc.d_model)
    pos_emb = _nemo_pos_table(enc.d_model, t_out)
    valid = np.arange(t_out) < enc_len
    for i in range(enc.n_layers):
        x = _layer(state, f"encoder.layers.{i}", x, pos_emb, valid, enc)
    logits = x @ state["decoder.decoder_layers.0.weight"][:, :, 0].T
    logits += state["decoder.decoder_layers.0.bias"]
    logits -= logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True)), enc_len


def _conv2d(x, weight, bias, stride, padding, groups=1):
    """x (Cin, H, W), weight (Cout, Cin/groups, k, k)."""
    c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    h_out = (h + 2 * padding - k) // stride + 1
    w_out = (w + 2 * padding - k) // stride + 1
    out = np.zeros((c_out, h_out, w_out))
    per_group_in, per_group_out = c_in // groups, c_out // groups
    for o in range(c_out):
        g = o // per_group_out
        for ci in range(per_group_in):
            for a in range(k):
                for b in range(k):
                    patch = xp[g * per_group_in + ci, a : a + stride * h_out : stride]
                    out[o] += weight[o, ci, a, b] * patch[:, b : b + stride * w_out : stride]
        out[o] += bias[o]
    return out


def _subsample(state, x, enc):
    p = "encoder.pre_encode.conv"
    x = np.maximum(_conv2d(x, state[f"{p}.0.weight"], state[f"{p}.0.bias"], 2, 1), 0)
    for step in range(1, enc.subsampling_steps):
        if enc.subsampling == "striding":
            i = 2 * step
            x = np.maximum(_conv2d(x, state[f"{p}.{i}.weight"], state[f"{p}.{i}.bias"], 2, 1), 0)
        else:
            dw, pw = 3 * step - 1, 3 * step
            x = _conv2d(
                x, state[f"{p}.{dw}.weight"], state[f"{p}.{dw}.bias"], 2, 1, groups=x.shape[0]
            )
            x = np.maximum(_conv2d(x, state[f"{p}.{pw}.weight"], state[f"{p}.{pw}.bias"], 1, 0), 0)
    return x


def _nemo_pos_table(d_model, t_out, max_len=5000):
    """NeMo's table over positions max_len-1 ... -(max_len-1), sliced to T'-1 ... -(T'-1)."""
    positions = np.arange(max_len - 1, -max_len, -1, dtype=np.float64)[:, None]
    div = np.exp(np.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
    table = np.zeros((len(positions), d_model))
    table[:, 0::2] = np.sin(positions * div)
    table[:, 1::2] = np.cos(positions * div)
    center = len(positions) // 2 + 1
    return table[center - t_out : center + t_out - 1]


def _layer_norm(state, prefix, x):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * state[f"{prefix}.weight"] + state[f"{prefix}.bias"]


def _linear(state, prefix, x):
    out = x @ state[f"{prefix}.weight"].T
    return out + state[f"{prefix}.bias"] if f"{prefix}.bias" in state else out


def _swish(x):
    return x / (1 + np.exp(-x))


def _ffn(state, prefix, x):
    return _linear(state, f"{prefix}.linear2", _swish(_linear(state, f"{prefix}.linear1", x)))


def _attention(state, prefix, x, pos_emb, valid, heads):
    t, d = x.shape
    dk = d // heads
    q = _linear(state, f"{prefix}.linear_q", x).reshape(t, heads, dk)
    k = _linear(state, f"{prefix}.linear_k", x).reshape(t, heads, dk)
    v = _linear(state, f"{prefix}.linear_v", x).reshape(t, heads, dk)
    p = _linear(state, f"{prefix}.linear_pos", pos_emb).reshape(2 * t - 1, heads, dk)
    out = np.zeros((t, heads, dk))
    for h in range(heads):
        content = (q[:, h] + state[f"{prefix}.pos_bias_u"][h]) @ k[:, h].T
        raw = (q[:, h] + state[f"{prefix}.pos_bias_v"][h]) @ p[:, h].T  # (T, 2T-1)
        # pos_emb row r holds relative position T-1-r; key j seen from query i is at i-j.
        rows = (t - 1) - (np.arange(t)[:, None] - np.arange(t)[None, :])
        position = np.take_along_axis(raw, rows, axis=1)
        scores = (content + position) / math.sqrt(dk)
        mask = ~(valid[:, None] & valid[None, :])
        scores = np.where(mask, -10000.0, scores)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        probs = np.where(mask, 0.0, probs)
        out[:, h] = probs @ v[:, h]
    return _linear(state, f"{prefix}.linear_out", out.reshape(t, d))


def _conv_module(state, prefix, x, valid, kernel):
    y = _linear_1x1(state, f"{prefix}.pointwise_conv1", x)  # (T, 2D)
    d = y.shape[1] // 2
    y = y[:, :d] / (1 + np.exp(-y[:, d:]))
    y = np.where(valid[:, None], y, 0.0)
    pad = (kernel - 1) // 2
    padded = np.pad(y, ((pad, pad), (0, 0)))
    weight = state[f"{prefix}.depthwise_conv.weight"][:, 0, :]  # (D, K)
    y = sum(padded[tap : tap + len(y)] * weight[:, tap] for tap in range(kernel))
    y = y + state[f"{prefix}.depthwise_conv.bias"]
    bn = f"{prefix}.batch_norm"
    y = (y - state[f"{bn}.running_mean"]) / np.sqrt(state[f"{bn}.running_var"] + 1e-5)
    y = y * state[f"{bn}.weight"] + state[f"{bn}.bias"]
    return _linear_1x1(state, f"{prefix}.pointwise_conv2", _swish(y))


def _linear_1x1(state, prefix, x):
    return x @ state[f"{prefix}.weight"][:, :, 0].T + state[f"{prefix}.bias"]


def _layer(state, p, x, pos_emb, valid, enc):
    x = x + 0.5 * _ffn(
        state, f"{p}.feed_forward1", _layer_norm(state, f"{p}.norm_feed_forward1", x)
    )
    x = x + _attention(
        state,
        f"{p}.self_attn",
        _layer_norm(state, f"{p}.norm_self_att", x),
        pos_emb,
        valid,
        enc.n_heads,
    )
    x = x + _conv_module(
        state, f"{p}.conv", _layer_norm(state, f"{p}.norm_conv", x), valid, enc.conv_kernel_size
    )
    x = x + 0.5 * _ffn(
        state, f"{p}.feed_forward2", _layer_norm(state, f"{p}.norm_feed_forward2", x)
    )
    return _layer_norm(state, f"{p}.norm_out", x)
