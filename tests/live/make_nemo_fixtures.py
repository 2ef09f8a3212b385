"""Make the committed NeMo fixtures with NeMo itself (by hand, in a NeMo venv).

    /path/to/nemo-venv/bin/python tests/live/make_nemo_fixtures.py [OUTDIR]

Builds one tiny random model per family with NeMo 1.23's own classes, moves
every weight and buffer away from its initial value (so a missed or swapped
tensor cannot pass), calibrates transducer joints until greedy decoding emits
real tokens, saves each `.nemo`, and records what NeMo computes on a padded
batch of two synthetic waveforms: features, encoder output, joint logits at
fixed points, greedy tokens (timesteps, TDT durations), CTC log-probs, and
NeMo's own transcripts. CI then checks the NeMo-free rebuild against these
files without NeMo. Nothing here runs in CI.
"""

from __future__ import annotations

import json
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
from nemo.collections.asr.models import (
    ASRModel,
    EncDecCTCModelBPE,
    EncDecHybridRNNTCTCBPEModel,
    EncDecRNNTBPEModel,
)
from omegaconf import OmegaConf

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "fixtures" / "nemo"
SAMPLE_RATE = 16000
SECONDS = (1.72, 1.13)  # a padded batch: the second item is shorter
MAX_SYMBOLS = 3
TDT_DURATIONS = [0, 1, 2, 3, 4]
MIN_MARGIN = 1e-3
TEXT = [
    "the quick brown fox jumps over the lazy dog",
    "speech to text with transducers and durations",
    "export conformer models to onnx without nemo",
    "hello world from a tiny random model",
]

PREPROCESSOR = {
    "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
    "sample_rate": SAMPLE_RATE, "features": 80, "dither": 0.0, "pad_to": 0,
    "normalize": "per_feature", "window_size": 0.025, "window_stride": 0.01, "n_fft": 512,
}


def encoder(fast: bool) -> dict:
    common = {
        "_target_": "nemo.collections.asr.modules.ConformerEncoder", "feat_in": 80,
        "n_layers": 2, "d_model": 32, "n_heads": 2, "self_attention_model": "rel_pos",
        "ff_expansion_factor": 2, "subsampling_conv_channels": 32, "xscaling": True,
        "untie_biases": True, "pos_emb_max_len": 5000,
    }
    if fast:
        return {**common, "subsampling": "dw_striding", "subsampling_factor": 8,
                "conv_kernel_size": 9}
    return {**common, "subsampling": "striding", "subsampling_factor": 4, "conv_kernel_size": 15}


def transducer_parts(tdt: bool) -> dict:
    decoding = {"strategy": "greedy", "greedy": {"max_symbols": MAX_SYMBOLS}}
    loss = {"loss_name": "default"}
    if tdt:
        decoding.update(model_type="tdt", durations=TDT_DURATIONS)
        loss = {"loss_name": "tdt",
                "tdt_kwargs": {"durations": TDT_DURATIONS, "sigma": 0.05, "omega": 0.1}}
    return {
        "model_defaults": {"enc_hidden": 32, "pred_hidden": 24, "joint_hidden": 40,
                           **({"tdt_durations": TDT_DURATIONS} if tdt else {})},
        "decoder": {"_target_": "nemo.collections.asr.modules.RNNTDecoder",
                    "normalization_mode": None, "random_state_sampling": False,
                    "blank_as_pad": True, "vocab_size": -1,
                    "prednet": {"pred_hidden": 24, "pred_rnn_layers": 2, "dropout": 0.1}},
        "joint": {"_target_": "nemo.collections.asr.modules.RNNTJoint", "log_softmax": None,
                  "preserve_memory": False, "fuse_loss_wer": False, "num_classes": -1,
                  "num_extra_outputs": len(TDT_DURATIONS) if tdt else 0, "vocabulary": [],
                  "jointnet": {"joint_hidden": 40, "activation": "relu", "dropout": 0.1}},
        "decoding": decoding,
        "loss": loss,
    }


def families(tokenizer_dir: str) -> dict:
    base = {"sample_rate": SAMPLE_RATE, "tokenizer": {"dir": tokenizer_dir, "type": "bpe"},
            "preprocessor": PREPROCESSOR,
            "validation_ds": {"manifest_filepath": None, "sample_rate": SAMPLE_RATE,
                              "batch_size": 2, "shuffle": False, "use_start_end_token": False}}
    ctc_decoder = {"_target_": "nemo.collections.asr.modules.ConvASRDecoder", "feat_in": 32,
                   "num_classes": -1, "vocabulary": []}
    return {
        "ctc_conformer": (EncDecCTCModelBPE,
                          {**base, "encoder": encoder(False), "decoder": ctc_decoder}),
        "ctc_fastconformer": (EncDecCTCModelBPE,
                              {**base, "encoder": encoder(True), "decoder": ctc_decoder}),
        "rnnt_conformer": (EncDecRNNTBPEModel,
                           {**base, "encoder": encoder(False), **transducer_parts(False)}),
        "tdt_fastconformer": (EncDecRNNTBPEModel,
                              {**base, "encoder": encoder(True), **transducer_parts(True)}),
        "hybrid_fastconformer": (EncDecHybridRNNTCTCBPEModel, {
            **base, "encoder": encoder(True), **transducer_parts(False),
            "aux_ctc": {"ctc_loss_weight": 0.3, "decoder": ctc_decoder,
                        "decoding": {"strategy": "greedy"}}}),
    }


def train_tokenizer(work: Path) -> None:
    (work / "text.txt").write_text("\n".join(TEXT * 20) + "\n")
    spm.SentencePieceTrainer.train(
        input=str(work / "text.txt"), model_prefix=str(work / "tokenizer"), vocab_size=30,
        model_type="unigram", bos_id=-1, eos_id=-1, hard_vocab_limit=False, minloglevel=2)
    pieces = [line.split("\t")[0] for line in (work / "tokenizer.vocab").read_text().splitlines()]
    (work / "vocab.txt").write_text("".join(p + "\n" for p in pieces if not p.startswith("<")))


def waveforms(work: Path) -> list[Path]:
    """Two voiced-sounding signals (gliding harmonics, syllable-rate envelope, noise) as WAVs."""
    rng = np.random.default_rng(7)
    paths = []
    for i, seconds in enumerate(SECONDS):
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        pitch = 120 + 40 * i + 30 * np.sin(2 * np.pi * 1.3 * t)
        phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
        voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * (3.1 + i) * t) ** 2
        signal = 0.25 * envelope * voiced + 0.02 * rng.standard_normal(t.size)
        pcm = np.clip(signal * 32767, -32768, 32767).astype("<i2")
        path = work / f"audio_{i}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(pcm.tobytes())
        paths.append(path)
    return paths


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as data:
        return np.frombuffer(data.readframes(data.getnframes()), "<i2").astype(np.float32) / 32768


def perturb(model: torch.nn.Module, generator: torch.Generator, keep_features: bool) -> None:
    """Move every tensor off its initial value; keep variances positive and counters integral."""
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if keep_features and name.startswith("preprocessor."):
                continue  # the runtimes compute these themselves: keep NeMo's own
            if name.endswith("num_batches_tracked"):
                tensor.fill_(1234)
            elif name.endswith("running_var"):
                tensor.mul_(0.5 + torch.rand(tensor.shape, generator=generator)).add_(0.05)
            elif name.startswith("preprocessor."):
                tensor.mul_(1 + 0.05 * torch.rand(tensor.shape, generator=generator))
            else:
                scale = max(float(tensor.float().std()) if tensor.numel() > 1 else 0.0, 0.05)
                tensor.add_(0.3 * scale * torch.randn(tensor.shape, generator=generator))


def joint_raw(model, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """NeMo's joint without its CPU log-softmax: the logits its export returns."""
    saved = model.joint.log_softmax
    model.joint.log_softmax = False
    try:
        return model.joint.joint(f, g)
    finally:
        model.joint.log_softmax = saved


def replay(model, enc: torch.Tensor, length: int, tdt: bool) -> dict:
    """Greedy decoding of one item, step by step as NeMo's `greedy` does, with every margin.

    Only used to calibrate and to record durations and margins; the tokens
    must equal NeMo's own `greedy` output, which is checked separately.
    """
    blank = model.joint.num_classes_with_blank - 1 - (len(TDT_DURATIONS) if tdt else 0)
    f_all = enc.transpose(0, 1)  # (T, D)
    tokens, steps, durations, margins, calls = [], [], [], [], []
    state, last = None, None
    t = 0
    while t < length:
        symbols, loop = 0, True
        while loop and symbols < MAX_SYMBOLS:
            label = None if last is None else torch.tensor([[last]])
            g, new_state = model.decoder.predict(label, state, add_sos=False, batch_size=1)
            logits = joint_raw(model, f_all[t].view(1, 1, -1), g)[0, 0, 0]
            vocab = logits[: blank + 1] if tdt else logits
            top = torch.topk(vocab, 2).values
            margins.append(float(top[0] - top[1]))
            k = int(vocab.argmax())
            skip = 1
            if tdt:
                dur = logits[blank + 1:]
                top = torch.topk(dur, 2).values
                margins.append(float(top[0] - top[1]))
                skip = TDT_DURATIONS[int(dur.argmax())]
            calls.append((t, k, skip))
            if k != blank:
                tokens.append(k)
                steps.append(t)
                durations.append(skip)
                state, last = new_state, k
            symbols += 1
            if tdt:
                t += skip
                loop = skip == 0
            else:
                loop = k != blank
        if not tdt or symbols == MAX_SYMBOLS:
            t += 1
    return {"tokens": tokens, "timesteps": steps, "durations": durations,
            "min_margin": min(margins), "calls": calls}


def decode_all(model, encoded, lengths, tdt):
    return [replay(model, encoded[b], int(lengths[b]), tdt) for b in range(encoded.size(0))]


def calibrate(model, encoded, lengths, tdt: bool) -> list[dict]:
    """Scale the joint and pick its blank bias so greedy emits many tokens, with clear margins."""
    out_layer = model.joint.joint_net[-1]
    blank = model.joint.num_classes_with_blank - 1 - (len(TDT_DURATIONS) if tdt else 0)
    with torch.no_grad():
        out_layer.weight.mul_(6.0)
        model.joint.pred.weight.mul_(3.0)
        _center_outputs(model, encoded, lengths)
        base = out_layer.bias[blank].item()
        frames = int(lengths.sum())
        best, best_score = 0.0, None
        for offset in np.arange(-20.0, 20.0, 0.25):  # token count jumps with the bias: scan it
            out_layer.bias[blank] = base + offset
            results = decode_all(model, encoded, lengths, tdt)
            if min(r["min_margin"] for r in results) < MIN_MARGIN:
                continue
            emitted = [t for r in results for t in r["tokens"]]
            score = (len(set(emitted)), -abs(len(emitted) - 0.8 * frames))
            if min(len(r["tokens"]) for r in results) >= 3 and (
                    best_score is None or score > best_score):
                best, best_score = float(offset), score
        if best_score is None:
            raise CalibrationError("no blank bias lets both items emit tokens")
        out_layer.bias[blank] = base + best
        if tdt:
            _spread_durations(model, encoded, lengths, blank)
        for nudge in np.linspace(0.0, 1.0, 41):
            results = decode_all(model, encoded, lengths, tdt)
            if min(r["min_margin"] for r in results) >= MIN_MARGIN:
                return results
            out_layer.bias[blank] += 0.0137 + nudge * 0.01
    raise CalibrationError("no joint calibration with clear argmax margins")


class CalibrationError(Exception):
    """This random draw does not decode with clear margins; another seed will."""


def _center_outputs(model, encoded, lengths) -> None:
    """Subtract each output's mean logit over many (frame, history) pairs from its bias.

    Without this one token with a large bias wins everywhere; centred, the
    winner depends on the frame and on the history, as in a trained model.
    """
    blank = model.decoder.blank_idx
    frames = torch.cat([encoded[b, :, : int(n)].transpose(0, 1) for b, n in enumerate(lengths)])
    labels = torch.arange(blank + 1).view(-1, 1)  # each token once after SOS; blank = SOS alone
    g, _ = model.decoder.predict(labels, None, add_sos=True, batch_size=labels.size(0))
    logits = joint_raw(model, frames.unsqueeze(0), g.reshape(1, -1, g.size(-1)))
    model.joint.joint_net[-1].bias.sub_(logits.mean(dim=(0, 1, 2)))


def _spread_durations(model, encoded, lengths, blank: int) -> None:
    """Raise the bias of durations greedy never picks until every one appears."""
    bias = model.joint.joint_net[-1].bias
    for _ in range(60):
        seen = {skip for r in decode_all(model, encoded, lengths, True) for _, _, skip in r["calls"]}
        missing = [i for i, d in enumerate(TDT_DURATIONS) if d not in seen]
        if not missing:
            return
        for i in missing:
            bias[blank + 1 + i] += 0.4


def nemo_greedy(model, encoded, lengths) -> list:
    with torch.no_grad():
        hyps = model.decoding.rnnt_decoder_predictions_tensor(
            encoder_output=encoded, encoded_lengths=lengths, return_hypotheses=True)
    hyps = hyps[0] if isinstance(hyps, tuple) else hyps
    return [[int(x) for x in h.y_sequence] for h in hyps], [list(map(int, h.timestep)) for h in hyps]


def joint_points(model, encoded, lengths, results) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prediction-net outputs after SOS + the first 4 greedy tokens, and the joint at 3 frames."""
    blank = model.decoder.blank_idx
    u = 4
    labels = torch.full((encoded.size(0), u), blank, dtype=torch.long)
    for b, r in enumerate(results):
        labels[b, : min(u, len(r["tokens"]))] = torch.tensor(r["tokens"][:u])
    g, _ = model.decoder.predict(labels, None, add_sos=True, batch_size=encoded.size(0))
    frames = torch.stack([torch.tensor([0, 1, int(n) - 1]) for n in lengths])
    f = torch.stack([encoded[b].transpose(0, 1)[frames[b]] for b in range(encoded.size(0))])
    logits = joint_raw(model, f, g)  # (B, 3, U+1, classes)
    return labels.numpy(), frames.numpy(), g.numpy(), logits.numpy()


def make(name: str, cls, cfg: dict, wavs: list[Path], seed: int) -> None:
    model = cls(cfg=OmegaConf.create(cfg)).eval()
    generator = torch.Generator().manual_seed(seed)
    transducer = hasattr(model, "joint")
    tdt = transducer and bool(cfg.get("model_defaults", {}).get("tdt_durations"))
    perturb(model, generator, keep_features=transducer)

    audio = [torch.from_numpy(read_wav(p)) for p in wavs]
    signal = torch.nn.utils.rnn.pad_sequence(audio, batch_first=True)
    signal_len = torch.tensor([a.numel() for a in audio])
    ref: dict[str, np.ndarray] = {"signal": signal.numpy(), "signal_length": signal_len.numpy()}
    info: dict = {"family": name, "nemo_class": cls.__name__, "tdt": tdt}
    with torch.no_grad():
        feats, feat_len = model.preprocessor(input_signal=signal, length=signal_len)
        encoded, enc_len = model.encoder(audio_signal=feats, length=feat_len)
        ref.update(features=feats.numpy(), feature_length=feat_len.numpy(),
                   encoded=encoded.numpy(), encoded_length=enc_len.numpy())
        ctc_head = getattr(model, "ctc_decoder", None) or (None if transducer else model.decoder)
        if ctc_head is not None:
            ctc_head.decoder_layers[0].weight.mul_(4.0)  # clear argmax margins for the CTC path
            logprobs = ctc_head(encoder_output=encoded)
            ref["ctc_logprobs"] = logprobs.numpy()
            tops = [torch.topk(logprobs[b, : enc_len[b]], 2).values for b in range(len(audio))]
            info["ctc_min_margin"] = min(float((top[:, 0] - top[:, 1]).min()) for top in tops)
        if transducer:
            results = calibrate(model, encoded, enc_len, tdt)
            tokens, steps = nemo_greedy(model, encoded, enc_len)
            for b, r in enumerate(results):
                assert r["tokens"] == tokens[b], (name, b, r["tokens"], tokens[b])
                assert r["timesteps"] == steps[b], (name, b)
            labels, frames, g, logits = joint_points(model, encoded, enc_len, results)
            ref.update(pred_labels=labels, joint_frames=frames, pred_out=g, joint_logits=logits)
            info["greedy"] = [{k: r[k] for k in ("tokens", "timesteps", "durations")}
                              for r in results]
            info["min_margin"] = min(r["min_margin"] for r in results)
            info["max_symbols"] = MAX_SYMBOLS
            per_frame = [max(np.bincount(r["timesteps"])) if r["tokens"] else 0 for r in results]
            info["most_symbols_on_one_frame"] = [int(x) for x in per_frame]

    path = OUT / f"{name}.nemo"
    model.save_to(str(path))
    restored = ASRModel.restore_from(str(path), map_location="cpu").eval()
    with torch.no_grad():
        again, _ = restored.encoder(audio_signal=feats, length=feat_len)
    assert torch.equal(again, encoded), "restored model differs"
    texts = restored.transcribe([str(p) for p in wavs], batch_size=2)
    texts = texts[0] if isinstance(texts, tuple) else texts
    info["nemo_transcripts"] = [t if isinstance(t, str) else t.text for t in texts]
    if getattr(restored, "cur_decoder", None) == "rnnt":
        restored.change_decoding_strategy(decoder_type="ctc")
        ctc_texts = restored.transcribe([str(p) for p in wavs], batch_size=2)
        ctc_texts = ctc_texts[0] if isinstance(ctc_texts, tuple) else ctc_texts
        info["nemo_ctc_transcripts"] = [t if isinstance(t, str) else t.text for t in ctc_texts]
    spm_model = restored.tokenizer.tokenizer
    info["vocabulary"] = [spm_model.id_to_piece(i) for i in range(spm_model.get_piece_size())]
    np.savez_compressed(OUT / f"{name}.npz", **ref)
    (OUT / f"{name}.json").write_text(json.dumps(info, indent=1) + "\n")
    print(name, {k: v for k, v in info.items() if k not in ("vocabulary",)})


def main() -> None:
    torch.manual_seed(0)
    # oneDNN's LSTM prepares its kernels on every single-step call (tens of ms each);
    # greedy decoding makes thousands of them.
    torch.backends.mkldnn.enabled = False
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train_tokenizer(work)
        wavs = waveforms(OUT)
        for seed, (name, (cls, cfg)) in enumerate(families(str(work)).items()):
            if len(sys.argv) > 2 and name not in sys.argv[2:]:
                continue
            for attempt in range(8):
                try:
                    make(name, cls, cfg, wavs, seed + 100 * attempt)
                    break
                except CalibrationError as error:
                    print(name, "seed", seed + 100 * attempt, error)
            else:
                raise SystemExit(f"{name}: no seed gave a usable calibration")


if __name__ == "__main__":
    main()
