"""Fake `.nemo` archives in NeMo's real layout, built from random weights.

The key names, shapes and YAML sections follow NeMo 1.23's Conformer-CTC
checkpoints (see the shared NEMO_CONFORMER notes) and are written out here by
hand, not taken from our own model code, so a naming slip in the exporter
cannot hide behind a fixture that makes the same slip.

Every tensor is moved away from its default initialisation (layer-norm scales
and shifts, batch-norm running statistics, attention position biases, all
biases): zeros and ones would let a swapped or ignored tensor go unnoticed.
The preprocessor's window and mel filterbank are the real ones, because the
feature front end and the runtimes compute the same thing independently.
"""

from __future__ import annotations

import gzip as gzip_module
import io
import random
import tarfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import yaml

# The shape of stt_en_conformer_ctc_small, for the benchmark.
REAL_SMALL_SHAPE = {"layers": 16, "d_model": 176, "n_heads": 4, "kernel": 31, "vocab_size": 1024}

SAMPLE_RATE = 16000
N_FFT = 512
WIN_LENGTH = 400
FEATURES = 80

BPE_TARGET = "nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE"
CHAR_TARGET = "nemo.collections.asr.models.ctc_models.EncDecCTCModel"
CHAR_LABELS = [" ", *"abcdefghijklmnopqrstuvwxyz", "'"]


def write_fake_nemo(
    path: str | Path,
    *,
    layers: int = 2,
    d_model: int = 64,
    n_heads: int = 4,
    kernel: int = 15,
    vocab_size: int = 32,
    bpe: bool = True,
    gzip: bool = False,
    subsampling: str = "striding",
    subsampling_factor: int = 4,
    seed: int = 0,
) -> Path:
    """Write a NeMo-layout Conformer-CTC archive and return its path.

    With `bpe=False` the model is a character model (`EncDecCTCModel`, labels
    in the YAML) and `vocab_size` is ignored: the labels fix it at 28.
    """
    uuid = f"{random.Random(seed).getrandbits(128):032x}"
    vocabulary = bpe_pieces(vocab_size) if bpe else list(CHAR_LABELS)
    config = fake_config(
        layers=layers,
        d_model=d_model,
        n_heads=n_heads,
        kernel=kernel,
        vocabulary=vocabulary,
        bpe=bpe,
        subsampling=subsampling,
        subsampling_factor=subsampling_factor,
        tokenizer_uuid=uuid,
    )
    state = fake_state_dict(
        layers=layers,
        d_model=d_model,
        n_heads=n_heads,
        kernel=kernel,
        num_outputs=len(vocabulary) + 1,
        subsampling=subsampling,
        subsampling_factor=subsampling_factor,
        seed=seed,
    )
    members = {
        "./model_config.yaml": yaml.safe_dump(config, sort_keys=False).encode(),
        "./model_weights.ckpt": checkpoint_bytes(state),
    }
    if bpe:
        members.update(tokenizer_members(uuid, vocabulary))
    return write_tar(path, members, gzip=gzip)


def bpe_pieces(count: int) -> list[str]:
    """SentencePiece-like pieces: `<unk>`, then word-initial and inner pieces, all distinct."""
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    pieces = ["<unk>", "▁"]
    pieces += [f"▁{a}" for a in letters] + list(letters) + ["'"]
    pieces += [f"▁{a}{b}" for a in letters for b in letters]
    pieces += [f"{a}{b}" for a in letters for b in letters]
    if count > len(pieces):
        raise ValueError(f"at most {len(pieces)} fake pieces")
    return pieces[:count]


def fake_config(
    *,
    layers: int,
    d_model: int,
    n_heads: int,
    kernel: int,
    vocabulary: list[str],
    bpe: bool,
    subsampling: str = "striding",
    subsampling_factor: int = 4,
    tokenizer_uuid: str = "0" * 32,
) -> dict:
    """The `model_config.yaml` mapping as NeMo 1.23 saves it (interpolations resolved)."""
    config: dict = {
        "sample_rate": SAMPLE_RATE,
        "log_prediction": True,
        "ctc_reduction": "mean_batch",
        "skip_nan_grad": False,
    }
    if bpe:
        config["tokenizer"] = {
            "dir": "/data/tokenizers/spe_unigram",
            "type": "bpe",
            "model_path": f"nemo:{tokenizer_uuid}_tokenizer.model",
            "vocab_path": f"nemo:{tokenizer_uuid}_vocab.txt",
            "spe_tokenizer_vocab": f"nemo:{tokenizer_uuid}_tokenizer.vocab",
        }
    else:
        config["labels"] = list(vocabulary)
    config["preprocessor"] = {
        "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
        "sample_rate": SAMPLE_RATE,
        "normalize": "per_feature",
        "window_size": 0.025,
        "window_stride": 0.01,
        "window": "hann",
        "features": FEATURES,
        "n_fft": N_FFT,
        "log": True,
        "frame_splicing": 1,
        "dither": 1.0e-05,
        "pad_to": 0,
        "pad_value": 0.0,
    }
    config["spec_augment"] = {
        "_target_": "nemo.collections.asr.modules.SpectrogramAugmentation",
        "freq_masks": 2,
        "time_masks": 5,
        "freq_width": 27,
        "time_width": 0.05,
    }
    config["encoder"] = {
        "_target_": "nemo.collections.asr.modules.ConformerEncoder",
        "feat_in": FEATURES,
        "feat_out": -1,
        "n_layers": layers,
        "d_model": d_model,
        "subsampling": subsampling,
        "subsampling_factor": subsampling_factor,
        "subsampling_conv_channels": -1,
        "causal_downsampling": False,
        "ff_expansion_factor": 4,
        "self_attention_model": "rel_pos",
        "n_heads": n_heads,
        "att_context_size": [-1, -1],
        "att_context_style": "regular",
        "xscaling": True,
        "untie_biases": True,
        "pos_emb_max_len": 5000,
        "conv_kernel_size": kernel,
        "conv_norm_type": "batch_norm",
        "conv_context_size": None,
        "dropout": 0.1,
        "dropout_pre_encoder": 0.1,
        "dropout_emb": 0.0,
        "dropout_att": 0.1,
        "stochastic_depth_drop_prob": 0.0,
        "stochastic_depth_mode": "linear",
        "stochastic_depth_start_layer": 1,
    }
    config["decoder"] = {
        "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
        "feat_in": d_model,
        "num_classes": len(vocabulary),
        "vocabulary": list(vocabulary),
    }
    config["optim"] = {"name": "adamw", "lr": 2.0, "betas": [0.9, 0.98], "weight_decay": 0.001}
    config["target"] = BPE_TARGET if bpe else CHAR_TARGET
    config["nemo_version"] = "1.23.0"
    return config


def fake_state_dict(
    *,
    layers: int,
    d_model: int,
    n_heads: int,
    kernel: int,
    num_outputs: int,
    subsampling: str = "striding",
    subsampling_factor: int = 4,
    seed: int = 0,
) -> OrderedDict[str, torch.Tensor]:
    """NeMo's key names and shapes for a Conformer-CTC model, filled with perturbed random values."""
    gen = torch.Generator().manual_seed(seed)
    state: OrderedDict[str, torch.Tensor] = OrderedDict()

    def linear(prefix: str, out_f: int, in_f: int, *kernel_dims: int, bias: bool = True) -> None:
        fan_in = in_f * int(np.prod(kernel_dims or (1,)))
        bound = fan_in**-0.5
        shape = (out_f, in_f, *kernel_dims)
        state[f"{prefix}.weight"] = (torch.rand(shape, generator=gen) * 2 - 1) * bound
        if bias:
            state[f"{prefix}.bias"] = (torch.rand(out_f, generator=gen) * 2 - 1) * bound

    def layer_norm(prefix: str) -> None:
        state[f"{prefix}.weight"] = 1 + 0.2 * torch.randn(d_model, generator=gen)
        state[f"{prefix}.bias"] = 0.2 * torch.randn(d_model, generator=gen)

    state["preprocessor.featurizer.window"] = torch.hann_window(WIN_LENGTH, periodic=False)
    state["preprocessor.featurizer.fb"] = torch.from_numpy(
        slaney_mel_filterbank(SAMPLE_RATE, N_FFT, FEATURES)
    ).unsqueeze(0)

    channels = d_model
    steps = int(np.log2(subsampling_factor))
    pre = "encoder.pre_encode.conv"
    linear(f"{pre}.0", channels, 1, 3, 3)
    if subsampling == "striding":
        for step in range(1, steps):
            linear(f"{pre}.{2 * step}", channels, channels, 3, 3)
    elif subsampling == "dw_striding":
        for step in range(1, steps):
            linear(f"{pre}.{3 * step - 1}", channels, 1, 3, 3)
            linear(f"{pre}.{3 * step}", channels, channels, 1, 1)
    else:
        raise ValueError(f"fixture knows no subsampling {subsampling!r}")
    freq = FEATURES
    for _ in range(steps):
        freq = (freq - 1) // 2 + 1
    linear("encoder.pre_encode.out", d_model, channels * freq)

    d_ff = 4 * d_model
    d_head = d_model // n_heads
    for i in range(layers):
        p = f"encoder.layers.{i}"
        layer_norm(f"{p}.norm_feed_forward1")
        linear(f"{p}.feed_forward1.linear1", d_ff, d_model)
        linear(f"{p}.feed_forward1.linear2", d_model, d_ff)
        layer_norm(f"{p}.norm_conv")
        linear(f"{p}.conv.pointwise_conv1", 2 * d_model, d_model, 1)
        linear(f"{p}.conv.depthwise_conv", d_model, 1, kernel)
        state[f"{p}.conv.batch_norm.weight"] = 1 + 0.2 * torch.randn(d_model, generator=gen)
        state[f"{p}.conv.batch_norm.bias"] = 0.2 * torch.randn(d_model, generator=gen)
        state[f"{p}.conv.batch_norm.running_mean"] = 0.3 * torch.randn(d_model, generator=gen)
        state[f"{p}.conv.batch_norm.running_var"] = 0.5 + torch.rand(d_model, generator=gen)
        state[f"{p}.conv.batch_norm.num_batches_tracked"] = torch.tensor(12345, dtype=torch.int64)
        linear(f"{p}.conv.pointwise_conv2", d_model, d_model, 1)
        layer_norm(f"{p}.norm_self_att")
        state[f"{p}.self_attn.pos_bias_u"] = 0.5 * torch.randn(n_heads, d_head, generator=gen)
        state[f"{p}.self_attn.pos_bias_v"] = 0.5 * torch.randn(n_heads, d_head, generator=gen)
        for name in ("linear_q", "linear_k", "linear_v", "linear_out"):
            linear(f"{p}.self_attn.{name}", d_model, d_model)
        linear(f"{p}.self_attn.linear_pos", d_model, d_model, bias=False)
        layer_norm(f"{p}.norm_feed_forward2")
        linear(f"{p}.feed_forward2.linear1", d_ff, d_model)
        linear(f"{p}.feed_forward2.linear2", d_model, d_ff)
        layer_norm(f"{p}.norm_out")

    linear("decoder.decoder_layers.0", num_outputs, d_model, 1)
    # Larger output weights give peaked posteriors, so greedy decoding is not a coin toss.
    state["decoder.decoder_layers.0.weight"] *= 8
    return state


def slaney_mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Slaney-scale, area-normalised triangles (librosa's defaults, fmin 0, fmax Nyquist), float32."""
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0

    def hz_to_mel(hz: np.ndarray) -> np.ndarray:
        hz = np.asarray(hz, dtype=np.float64)
        linear = hz / f_sp
        return np.where(
            hz >= min_log_hz,
            min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep,
            linear,
        )

    def mel_to_hz(mel: np.ndarray) -> np.ndarray:
        return np.where(
            mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel
        )

    fft_freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    mel_edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    widths = np.diff(mel_edges)
    ramps = mel_edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_edges[2:] - mel_edges[:-2]))[:, None]
    return weights.astype(np.float32)


def checkpoint_bytes(state: dict) -> bytes:
    """What `torch.save(model.state_dict(), "model_weights.ckpt")` writes."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def tokenizer_members(uuid: str, pieces: list[str]) -> dict[str, bytes]:
    """The tokenizer artifacts NeMo copies into the archive under uuid-prefixed names."""
    spe_vocab = "".join(f"{piece}\t{-float(i):.1f}\n" for i, piece in enumerate(pieces))
    return {
        # Not a real SentencePiece model: nothing here parses it, the runtimes read tokens.txt.
        f"./{uuid}_tokenizer.model": b"fake sentencepiece model\n",
        f"./{uuid}_vocab.txt": "".join(f"{piece}\n" for piece in pieces).encode(),
        f"./{uuid}_tokenizer.vocab": spe_vocab.encode(),
    }


def write_tar(path: str | Path, members: dict[str, bytes], *, gzip: bool = False) -> Path:
    """A tar holding `members` (name -> bytes) after a `.` directory entry, as NeMo writes it."""
    path = Path(path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        root = tarfile.TarInfo(".")
        root.type = tarfile.DIRTYPE
        root.mode = 0o755
        tar.addfile(root)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    path.write_bytes(gzip_module.compress(data, mtime=0) if gzip else data)
    return path
