#!/usr/bin/env python3
"""tools/whisper/numpy_whisper.py — an independent NumPy Whisper forward pass from a Bora Whisper GGUF.

    tools/.venv/bin/python tools/whisper/numpy_whisper.py MODEL.gguf AUDIO.wav [--full-window]
        [--dump DIR] [--max-new 224]

Reads every tensor of the GGUF (dequantized to float32 with the gguf package), computes the log-mel
exactly as faster-whisper 1.2.1's FeatureExtractor does, runs the encoder and a greedy decoder with a
KV cache, and prints the token ids and text. With --dump DIR it writes intermediate activations as
.npy (float32): mel.npy [n_mels, T], enc_conv1.npy, enc_conv2.npy, enc_pos.npy [T/2, d],
enc_blk{i}.npy [T/2, d], enc_out.npy [T/2, d], dec_step0_logits.npy [vocab], dec_blk{i}_step0.npy
[prompt_len, d] (the decoder block outputs for the prompt), tokens.npy.

Decoding replicates faster-whisper (beam 1, temperature 0, without_timestamps) on CTranslate2:
prompt [sot, notimestamps] (English-only models), suppress `suppress_tokens` at every step, and
`suppress_tokens_begin` (blank, eot) at the first generated step; at most 224 new tokens.
"""

import argparse
import math
import os
import sys
import wave

import numpy as np

HERE = os.path.dirname(os.path.realpath(__file__))


# ---------------------------------------------------------------- audio + log-mel (faster-whisper 1.2.1)


def read_wav(path):
    """16 kHz mono s16 WAV or raw s16le (.raw) -> float32 in [-1, 1)."""
    if path.endswith(".raw"):
        data = np.fromfile(path, dtype="<i2")
        return data.astype(np.float32) / 32768.0
    with wave.open(path, "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: need 16 kHz mono s16 WAV (got {w.getframerate()} Hz, "
                             f"{w.getnchannels()} ch, {8 * w.getsampwidth()} bit)")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float32) / 32768.0


def log_mel(audio, filters, n_fft=400, hop=160, padding=160):
    """faster_whisper.feature_extractor.FeatureExtractor.__call__ (padding=160): append `padding`
    zeros, centered STFT (reflect pad n_fft/2), periodic Hann window, |X|^2 with the last frame
    dropped, mel = filters @ power, log10(max(mel, 1e-10)), clamp to max-8, (x + 4) / 4.
    Returns float32 [n_mels, len(audio)//hop + 1]."""
    x = np.asarray(audio, dtype=np.float32)
    if padding:
        x = np.pad(x, (0, padding))
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    x = np.pad(x, (n_fft // 2, n_fft // 2), mode="reflect")
    n_frames = 1 + (len(x) - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(x, (n_frames, n_fft), (hop * x.strides[0], x.strides[0]))
    spec = np.fft.rfft(frames * window, n=n_fft, axis=-1).astype(np.complex64).T  # [n_fft/2+1, frames]
    power = np.abs(spec[:, :-1]) ** 2
    mel = filters @ power
    log_spec = np.log10(np.clip(mel, 1e-10, None))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def encoder_input(audio, filters, full_window=True, n_frames=3000):
    """What faster-whisper feeds the encoder for audio <= 30 s: the log-mel of the audio (see
    log_mel), its first len(audio)//160 frames (content_frames = frames - 1), then — full window
    only — zero columns (0.0 in the normalized log-mel domain) up to 3000 frames."""
    mel = log_mel(audio, filters)
    content = mel[:, :mel.shape[1] - 1]
    if not full_window:
        return content
    content = content[:, :n_frames]
    return np.pad(content, ((0, 0), (0, n_frames - content.shape[1])))


# ---------------------------------------------------------------- model


def _erf(x):
    # Abramowitz & Stegun 7.1.26 is too coarse; use math.erf via frompyfunc on float64
    return np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64)).astype(np.float64)


def gelu(x):
    """Exact (erf) GELU, as CTranslate2's Activation.GELU."""
    x64 = x.astype(np.float64)
    return (0.5 * x64 * (1.0 + _erf(x64 / math.sqrt(2.0)))).astype(np.float32)


def layer_norm(x, w, b, eps):
    x64 = x.astype(np.float64)
    mu = x64.mean(-1, keepdims=True)
    var = ((x64 - mu) ** 2).mean(-1, keepdims=True)
    return ((x64 - mu) / np.sqrt(var + eps) * w + b).astype(np.float32)


def softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


class Model:
    def __init__(self, path):
        import gguf
        r = gguf.GGUFReader(path)
        self.meta = {}
        for k, f in r.fields.items():
            if k.startswith("GGUF.") or k.startswith("tokenizer.ggml.merges"):
                continue
            self.meta[k] = f.contents()
        if self.meta.get("general.architecture") != "whisper":
            raise ValueError(f"{path}: general.architecture is {self.meta.get('general.architecture')!r}")
        self.t = {}
        for t in r.tensors:
            a = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
            self.t[t.name] = a.reshape([int(d) for d in reversed(t.shape)])
        m = self.meta
        self.eps = float(m["whisper.layer_norm_epsilon"])
        self.n_audio_head = int(m["whisper.audio.head_count"])
        self.n_text_head = int(m["whisper.text.head_count"])
        self.n_audio_layer = int(m["whisper.audio.block_count"])
        self.n_text_layer = int(m["whisper.text.block_count"])
        self.tokens = m["tokenizer.ggml.tokens"]
        self.tok = {k.split(".")[-1]: int(v) for k, v in m.items() if k.startswith("whisper.token.")}
        self.suppress = [int(x) for x in m["whisper.suppress_tokens"]]
        self.suppress_begin = [int(x) for x in m["whisper.suppress_tokens_begin"]]

    def w(self, name):
        return self.t[name]

    def linear(self, x, p, bias=True):
        y = x @ self.t[p + ".weight"].T
        if bias and p + ".bias" in self.t:
            y = y + self.t[p + ".bias"]
        return y.astype(np.float32)

    def attention(self, q, k, v, n_head, causal_offset=None):
        """q [Tq, d], k/v [Tk, d]; scaled dot product with scale 1/sqrt(d_head) on q·k."""
        Tq, d = q.shape
        dh = d // n_head
        qh = q.reshape(Tq, n_head, dh).transpose(1, 0, 2)
        kh = k.reshape(-1, n_head, dh).transpose(1, 0, 2)
        vh = v.reshape(-1, n_head, dh).transpose(1, 0, 2)
        s = (qh @ kh.transpose(0, 2, 1)) / math.sqrt(dh)
        if causal_offset is not None:
            Tk = k.shape[0]
            mask = np.arange(Tk)[None, :] > (np.arange(Tq)[:, None] + causal_offset)
            s = np.where(mask[None], -np.inf, s)
        o = softmax(s.astype(np.float64)).astype(np.float32) @ vh
        return o.transpose(1, 0, 2).reshape(Tq, d)

    def conv1d(self, x, name, stride):
        """x [C_in, T] -> [C_out, T_out]; kernel 3, padding 1; weight row o, col c*3 + k."""
        W = self.t[name + ".weight"]  # [C_out, C_in*3]
        C_in, T = x.shape
        xp = np.pad(x, ((0, 0), (1, 1)))
        T_out = (T + 2 - 3) // stride + 1
        cols = np.stack([xp[:, k:k + stride * (T_out - 1) + 1:stride] for k in range(3)], axis=1)  # [C_in,3,T_out]
        y = W @ cols.reshape(C_in * 3, T_out)
        return (y + self.t[name + ".bias"][:, None]).astype(np.float32)

    def encode(self, mel, dump=None):
        x = gelu(self.conv1d(mel, "enc.conv1", 1))
        if dump:
            dump("enc_conv1", x.T)
        x = gelu(self.conv1d(x, "enc.conv2", 2)).T  # [T/2, d]
        if dump:
            dump("enc_conv2", x)
        x = x + self.t["enc.position_embd"][:x.shape[0]]
        if dump:
            dump("enc_pos", x)
        for i in range(self.n_audio_layer):
            p = f"enc.blk.{i}"
            h = layer_norm(x, self.t[p + ".attn_norm.weight"], self.t[p + ".attn_norm.bias"], self.eps)
            q, k, v = self.linear(h, p + ".attn_q"), self.linear(h, p + ".attn_k"), self.linear(h, p + ".attn_v")
            x = x + self.linear(self.attention(q, k, v, self.n_audio_head), p + ".attn_out")
            h = layer_norm(x, self.t[p + ".ffn_norm.weight"], self.t[p + ".ffn_norm.bias"], self.eps)
            x = x + self.linear(gelu(self.linear(h, p + ".ffn_up")), p + ".ffn_down")
            if dump:
                dump(f"enc_blk{i}", x)
        x = layer_norm(x, self.t["enc.norm.weight"], self.t["enc.norm.bias"], self.eps)
        if dump:
            dump("enc_out", x)
        return x

    def cross_kv(self, enc):
        return [(self.linear(enc, f"dec.blk.{i}.cross_k"), self.linear(enc, f"dec.blk.{i}.cross_v"))
                for i in range(self.n_text_layer)]

    def decode_step(self, tokens, pos, cache, cross, dump=None):
        """Feed `tokens` at positions pos..; cache: list of [K, V] per layer (appended). Returns logits
        [len(tokens), vocab]."""
        emb = self.t["dec.token_embd.weight"]
        x = emb[tokens] + self.t["dec.position_embd"][pos:pos + len(tokens)]
        for i in range(self.n_text_layer):
            p = f"dec.blk.{i}"
            h = layer_norm(x, self.t[p + ".attn_norm.weight"], self.t[p + ".attn_norm.bias"], self.eps)
            q, k, v = self.linear(h, p + ".attn_q"), self.linear(h, p + ".attn_k"), self.linear(h, p + ".attn_v")
            cache[i][0] = k if cache[i][0] is None else np.concatenate([cache[i][0], k])
            cache[i][1] = v if cache[i][1] is None else np.concatenate([cache[i][1], v])
            x = x + self.linear(self.attention(q, cache[i][0], cache[i][1], self.n_text_head, causal_offset=pos),
                                p + ".attn_out")
            h = layer_norm(x, self.t[p + ".cross_norm.weight"], self.t[p + ".cross_norm.bias"], self.eps)
            q = self.linear(h, p + ".cross_q")
            x = x + self.linear(self.attention(q, cross[i][0], cross[i][1], self.n_text_head), p + ".cross_out")
            h = layer_norm(x, self.t[p + ".ffn_norm.weight"], self.t[p + ".ffn_norm.bias"], self.eps)
            x = x + self.linear(gelu(self.linear(h, p + ".ffn_up")), p + ".ffn_down")
            if dump:
                dump(f"dec_blk{i}_step0", x)
        x = layer_norm(x, self.t["dec.norm.weight"], self.t["dec.norm.bias"], self.eps)
        return (x @ emb.T).astype(np.float32)

    def prompt(self):
        return [self.tok["sot"], self.tok["notimestamps"]]

    def transcribe_features(self, mel, max_new=224, dump=None, suppress=None):
        """Greedy decoding as CTranslate2 does it for faster-whisper. Returns (tokens, info)."""
        enc = self.encode(mel, dump)
        cross = self.cross_kv(enc)
        cache = [[None, None] for _ in range(self.n_text_layer)]
        prompt = self.prompt()
        logits = self.decode_step(prompt, 0, cache, cross, dump)
        no_speech_prob = float(softmax(logits[0].astype(np.float64))[self.tok["no_speech"]])
        step_logits = logits[-1]
        if dump:
            dump("dec_step0_logits", step_logits)
        suppress = self.suppress if suppress is None else suppress
        out, logprob_sum = [], 0.0
        pos = len(prompt)
        for step in range(max_new):
            lg = step_logits.astype(np.float64).copy()
            lg[suppress] = -np.inf
            if step == 0:
                lg[self.suppress_begin] = -np.inf
            nxt = int(np.argmax(lg))
            logprob_sum += float(lg[nxt] - np.log(np.sum(np.exp(lg - lg.max()))) - lg.max())
            if nxt == self.tok["eot"]:
                break
            out.append(nxt)
            step_logits = self.decode_step([nxt], pos, cache, cross)[-1]
            pos += 1
        return out, {"no_speech_prob": no_speech_prob, "sum_logprob": logprob_sum}

    def detokenize(self, ids):
        """GPT-2 byte-level decoding of text tokens (ids >= eot are skipped)."""
        b2u = bytes_to_unicode()
        u2b = {v: k for k, v in b2u.items()}
        data = bytearray()
        for i in ids:
            if i >= self.tok["eot"]:
                continue
            data.extend(u2b[c] for c in self.tokens[i])
        return data.decode("utf-8", errors="replace")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="tools/whisper/numpy_whisper.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("audio", nargs="+")
    ap.add_argument("--full-window", action="store_true", help="pad the mel to 3000 frames (faster-whisper)")
    ap.add_argument("--dump", metavar="DIR", help="write intermediate activations as .npy into DIR")
    ap.add_argument("--max-new", type=int, default=224)
    args = ap.parse_args(argv)
    m = Model(args.model)
    filters = m.t["mel_filters"]
    for path in args.audio:
        dump = None
        if args.dump:
            d = os.path.join(args.dump, os.path.splitext(os.path.basename(path))[0]) if len(args.audio) > 1 else args.dump
            os.makedirs(d, exist_ok=True)
            dump = lambda name, a, d=d: np.save(os.path.join(d, name + ".npy"), np.asarray(a, np.float32))  # noqa: E731
        mel = encoder_input(read_wav(path), filters, full_window=args.full_window)
        if dump:
            dump("mel", mel)
        ids, info = m.transcribe_features(mel, args.max_new, dump)
        if dump:
            np.save(os.path.join(d, "tokens.npy"), np.array(ids, np.int32))
        print(f"{path}\t{ids}\t{m.detokenize(ids)!r}\tno_speech={info['no_speech_prob']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
