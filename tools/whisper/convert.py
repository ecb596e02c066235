#!/usr/bin/env python3
"""tools/whisper/convert.py — CTranslate2 Whisper model directory -> GGUF (general.architecture = whisper).

    tools/.venv/bin/python tools/whisper/convert.py MODEL_DIR OUT.gguf --type {F16,Q8_0,Q4_0} [--name NAME]

MODEL_DIR holds CTranslate2's model.bin (parsed here, no ctranslate2 import), config.json,
vocabulary.txt and tokenizer.json. The GGUF layout (metadata keys, tensor names, shapes, types)
is a contract with Sources/BoraSpeech; it is described in tools/whisper/README.md.

Every run also computes the 80-bin Slaney mel filterbank in NumPy and checks it against
mel_filters.npz from the openai-whisper sdist (max abs diff <= 1e-6) — a mismatch aborts.
"""

import argparse
import io
import json
import os
import re
import struct
import sys
import tarfile
import time

import numpy as np

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import sdist  # noqa: E402

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
CHUNK_LENGTH = 30
LAYER_NORM_EPS = 1e-5
MEL_TOLERANCE = 1e-6
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}
FILE_TYPES = {"F16": 1, "Q8_0": 7, "Q4_0": 2}  # llama_ftype


class ConvertError(Exception):
    """A user-facing error: one line, exit code 1."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- CTranslate2 model.bin


def read_ct2(path):
    """Parse CTranslate2's model.bin (binary version 6 layout, ctranslate2/specs/model_spec.py
    `_serialize`): u32 version, string spec name, u32 revision, u32 variable count, per variable
    (string name, u8 rank, u32 dims[rank], u8 dtype, u32 byte count, bytes), u32 alias count,
    per alias (string alias, string target). Strings: u16 length incl. NUL, bytes, NUL.
    Returns (spec_name, revision, {name: ndarray}, {alias: target})."""
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except OSError as e:
        raise ConvertError(f"cannot read {path}: {e}")
    off = 0

    def take(fmt):
        nonlocal off
        try:
            v = struct.unpack_from("<" + fmt, buf, off)
        except struct.error:
            raise ConvertError(f"{path}: truncated at byte {off}")
        off += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal off
        n = take("H")
        if n == 0 or off + n > len(buf) or buf[off + n - 1] != 0:
            raise ConvertError(f"{path}: bad string at byte {off}")
        s = buf[off:off + n - 1].decode("utf-8")
        off += n
        return s

    version = take("I")
    if version not in (5, 6):
        raise ConvertError(f"{path}: CTranslate2 binary version {version} is not supported (expected 6)")
    spec = string()
    revision = take("I")
    variables = {}
    for _ in range(take("I")):
        name = string()
        rank = take("B")
        dims = [take("I") for _ in range(rank)]
        dt = take("B")
        nbytes = take("I")
        if dt not in CT2_DTYPES or CT2_DTYPES[dt] == "bfloat16":
            raise ConvertError(f"{path}: variable {name} has unsupported dtype id {dt}")
        if off + nbytes > len(buf):
            raise ConvertError(f"{path}: variable {name} runs past the end of the file")
        a = np.frombuffer(buf, dtype=CT2_DTYPES[dt], count=nbytes // np.dtype(CT2_DTYPES[dt]).itemsize,
                          offset=off)
        if a.size != int(np.prod(dims, dtype=np.int64)):
            raise ConvertError(f"{path}: variable {name}: {nbytes} bytes do not match shape {dims}")
        variables[name] = a.reshape(dims)
        off += nbytes
    aliases = {}
    for _ in range(take("I")):
        a = string()
        aliases[a] = string()
    if off != len(buf):
        raise ConvertError(f"{path}: {len(buf) - off} trailing bytes after the alias table")
    return spec, revision, variables, aliases


class CT2Weights:
    """Float32 access to CT2 variables (int8/int16 weights are dequantized with weight_scale)."""

    def __init__(self, path):
        self.path = path
        self.spec, self.revision, self.vars, self.aliases = read_ct2(path)
        if self.spec != "WhisperSpec":
            raise ConvertError(f"{path}: spec {self.spec!r} is not a Whisper model (expected WhisperSpec)")

    def resolve(self, name):
        seen = set()
        while name in self.aliases and name not in seen:
            seen.add(name)
            name = self.aliases[name]
        return name

    def has(self, name):
        return self.resolve(name) in self.vars

    def raw(self, name):
        n = self.resolve(name)
        if n not in self.vars:
            raise ConvertError(f"{self.path}: variable {name} is missing")
        return self.vars[n]

    def f32(self, name):
        a = self.raw(name)
        if a.dtype in (np.int8, np.int16):
            scale_name = name.rsplit("/", 1)[0] + "/weight_scale"
            scale = self.raw(scale_name).astype(np.float32)
            return a.astype(np.float32) / scale.reshape(-1, *([1] * (a.ndim - 1)))
        return a.astype(np.float32)

    def scalar(self, name):
        return int(self.raw(name).reshape(-1)[0])


# ---------------------------------------------------------------- mel filterbank


def hz_to_mel_slaney(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep, mels)


def mel_to_hz_slaney(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_filters(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=80):
    """librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False, norm="slaney"),
    in float64, returned as float32 [n_mels, n_fft//2 + 1]."""
    fftfreqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_pts = np.linspace(hz_to_mel_slaney(0.0), hz_to_mel_slaney(sr / 2.0), n_mels + 2)
    hz_pts = mel_to_hz_slaney(mel_pts)
    fdiff = np.diff(hz_pts)
    ramps = hz_pts[:, None] - fftfreqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (hz_pts[2:n_mels + 2] - hz_pts[:n_mels]))[:, None]
    return weights.astype(np.float32)


def reference_mel_filters(n_mels):
    """mel_<n_mels> from whisper/assets/mel_filters.npz inside the openai-whisper sdist."""
    try:
        tgz = sdist.ensure_sdist("openai-whisper", "20250625", log)
    except sdist.SdistError as e:
        raise ConvertError(f"mel filterbank check needs the openai-whisper sdist: {e}")
    with tarfile.open(tgz, "r:gz") as tf:
        member = tf.getmember("openai_whisper-20250625/whisper/assets/mel_filters.npz")
        data = tf.extractfile(member).read()
    with np.load(io.BytesIO(data)) as npz:
        key = f"mel_{n_mels}"
        if key not in npz:
            raise ConvertError(f"mel_filters.npz has no {key} (has {', '.join(npz.files)})")
        return np.array(npz[key])


def checked_mel_filters(n_mels):
    ours = mel_filters(n_mels=n_mels)
    ref = reference_mel_filters(n_mels)
    if ref.shape != ours.shape:
        raise ConvertError(f"mel filterbank shape {ours.shape} != openai-whisper {ref.shape}")
    diff = float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64))))
    if not diff <= MEL_TOLERANCE:
        raise ConvertError(f"mel filterbank differs from openai-whisper mel_filters.npz by {diff:.3g} "
                           f"(> {MEL_TOLERANCE}); the NumPy filterbank code is wrong")
    return ours, diff


# ---------------------------------------------------------------- tokenizer


SPECIALS = {
    "sot": "<|startoftranscript|>", "eot": "<|endoftext|>", "notimestamps": "<|notimestamps|>",
    "transcribe": "<|transcribe|>", "translate": "<|translate|>", "sot_lm": "<|startoflm|>",
    "sot_prev": "<|startofprev|>",
}
NON_LANG = set(SPECIALS.values()) | {"<|nocaptions|>", "<|nospeech|>"}
TIMESTAMP = re.compile(r"<\|\d+\.\d\d\|>")


def read_tokenizer(model_dir, vocab_size):
    vpath = os.path.join(model_dir, "vocabulary.txt")
    tpath = os.path.join(model_dir, "tokenizer.json")
    try:
        with open(vpath, encoding="utf-8") as f:
            lines = f.read().split("\n")
        with open(tpath, encoding="utf-8") as f:
            tok = json.load(f)
    except (OSError, ValueError) as e:
        raise ConvertError(f"cannot read the tokenizer files in {model_dir}: {e}")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != vocab_size:
        raise ConvertError(f"{vpath}: {len(lines)} tokens, but the embedding has {vocab_size} rows")
    model = tok.get("model") or {}
    if model.get("type") != "BPE":
        raise ConvertError(f"{tpath}: model type {model.get('type')!r}, expected BPE")
    # vocabulary.txt (CTranslate2's) covers every id, timestamps included; tokenizer.json must agree
    for s, i in model["vocab"].items():
        if i < vocab_size and lines[i] != s:
            raise ConvertError(f"token {i}: vocabulary.txt {lines[i]!r} != tokenizer.json {s!r}")
    for a in tok.get("added_tokens", []):
        if a["id"] < vocab_size and lines[a["id"]] != a["content"]:
            raise ConvertError(f"added token {a['id']}: vocabulary.txt {lines[a['id']]!r} != {a['content']!r}")
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    ids = {}
    for i, s in enumerate(lines):
        ids.setdefault(s, i)
    special = {}
    for k, s in SPECIALS.items():
        if s not in ids:
            raise ConvertError(f"{vpath}: special token {s} is missing")
        special[k] = ids[s]
    special["no_speech"] = ids.get("<|nospeech|>", ids.get("<|nocaptions|>"))
    if special["no_speech"] is None:
        raise ConvertError(f"{vpath}: neither <|nospeech|> nor <|nocaptions|> is present")
    if "<|0.00|>" not in ids:
        raise ConvertError(f"{vpath}: timestamp token <|0.00|> is missing")
    special["timestamp_begin"] = ids["<|0.00|>"]
    eot = special["eot"]
    types = [3 if i >= eot and s.startswith("<|") and s.endswith("|>") else 1 for i, s in enumerate(lines)]
    langs = [i for i, s in enumerate(lines)
             if special["sot"] < i < special["timestamp_begin"] and types[i] == 3
             and s not in NON_LANG and not TIMESTAMP.fullmatch(s)]
    return lines, types, merges, special, langs


# ---------------------------------------------------------------- GGUF


def _gguf():
    import gguf

    class Writer(gguf.GGUFWriter):
        """GGUFWriter that can write an empty typed array (the stock one refuses)."""

        def _pack_val(self, val, vtype, add_vtype, sub_type=None):
            if vtype == gguf.GGUFValueType.ARRAY and len(val) == 0 and sub_type is not None:
                out = bytearray()
                if add_vtype:
                    out += self._pack("I", vtype)
                out += self._pack("I", sub_type)
                out += self._pack("Q", 0)
                return bytes(out)
            return super()._pack_val(val, vtype, add_vtype, sub_type)

    return gguf, Writer


def build_tensors(w, wtype_name):
    """Ordered list of (name, float32 ndarray in numpy order [.., ne1, ne0], kind) with kind in
    {"W", "F16", "F32", "EMB"}: W = weight type of the variant, EMB = token embedding."""
    out = []

    def add(name, arr, kind):
        out.append((name, np.ascontiguousarray(arr, dtype=np.float32), kind))

    def attn(prefix, ct2, fused_qkv, gguf_prefix, dim):
        """CT2 attention -> q/k/v/out. Self-attention: linear_0 = [q;k;v] fused, linear_1 = out.
        Cross-attention: linear_0 = q, linear_1 = [k;v] fused, linear_2 = out."""
        if fused_qkv:
            W = w.f32(f"{ct2}/linear_0/weight")
            b = w.f32(f"{ct2}/linear_0/bias") if w.has(f"{ct2}/linear_0/bias") else np.zeros(3 * dim, np.float32)
            if W.shape != (3 * dim, dim):
                raise ConvertError(f"{ct2}/linear_0/weight has shape {W.shape}, expected {(3 * dim, dim)}")
            q, k, v = W[:dim], W[dim:2 * dim], W[2 * dim:]
            qb, kb, vb = b[:dim], b[dim:2 * dim], b[2 * dim:]
            ow, ob = f"{ct2}/linear_1/weight", f"{ct2}/linear_1/bias"
        else:
            q = w.f32(f"{ct2}/linear_0/weight")
            qb = w.f32(f"{ct2}/linear_0/bias")
            KV = w.f32(f"{ct2}/linear_1/weight")
            kvb = w.f32(f"{ct2}/linear_1/bias") if w.has(f"{ct2}/linear_1/bias") else np.zeros(2 * dim, np.float32)
            k, v, kb, vb = KV[:dim], KV[dim:], kvb[:dim], kvb[dim:]
            ow, ob = f"{ct2}/linear_2/weight", f"{ct2}/linear_2/bias"
        add(f"{gguf_prefix}_q.weight", q, "W")
        add(f"{gguf_prefix}_q.bias", qb, "F32")
        add(f"{gguf_prefix}_k.weight", k, "W")
        if np.any(kb != 0):
            add(f"{gguf_prefix}_k.bias", kb, "F32")
        add(f"{gguf_prefix}_v.weight", v, "W")
        add(f"{gguf_prefix}_v.bias", vb, "F32")
        add(f"{gguf_prefix}_out.weight", w.f32(ow), "W")
        add(f"{gguf_prefix}_out.bias", w.f32(ob), "F32")
        del prefix

    def norm(ct2, name):
        add(f"{name}.weight", w.f32(f"{ct2}/gamma"), "F32")
        add(f"{name}.bias", w.f32(f"{ct2}/beta"), "F32")

    def ffn(ct2, p):
        add(f"{p}.ffn_up.weight", w.f32(f"{ct2}/linear_0/weight"), "W")
        add(f"{p}.ffn_up.bias", w.f32(f"{ct2}/linear_0/bias"), "F32")
        add(f"{p}.ffn_down.weight", w.f32(f"{ct2}/linear_1/weight"), "W")
        add(f"{p}.ffn_down.bias", w.f32(f"{ct2}/linear_1/bias"), "F32")

    d_audio = w.raw("encoder/conv1/weight").shape[0]
    d_text = w.raw("decoder/embeddings/weight").shape[1]
    for c in ("conv1", "conv2"):
        cw = w.f32(f"encoder/{c}/weight")  # [out, in, k]
        add(f"enc.{c}.weight", cw.reshape(cw.shape[0], cw.shape[1] * cw.shape[2]), "F16")  # col = c*k_size + k
        add(f"enc.{c}.bias", w.f32(f"encoder/{c}/bias"), "F32")
    add("enc.position_embd", w.f32("encoder/position_encodings/encodings"), "F32")
    i = 0
    while w.has(f"encoder/layer_{i}/ffn/linear_0/weight"):
        p, c = f"enc.blk.{i}", f"encoder/layer_{i}"
        norm(f"{c}/self_attention/layer_norm", f"{p}.attn_norm")
        attn(p, f"{c}/self_attention", True, f"{p}.attn", d_audio)
        norm(f"{c}/ffn/layer_norm", f"{p}.ffn_norm")
        ffn(f"{c}/ffn", p)
        i += 1
    norm("encoder/layer_norm", "enc.norm")
    add("dec.token_embd.weight", w.f32("decoder/embeddings/weight"), "EMB")
    add("dec.position_embd", w.f32("decoder/position_encodings/encodings"), "F32")
    i = 0
    while w.has(f"decoder/layer_{i}/ffn/linear_0/weight"):
        p, c = f"dec.blk.{i}", f"decoder/layer_{i}"
        norm(f"{c}/self_attention/layer_norm", f"{p}.attn_norm")
        attn(p, f"{c}/self_attention", True, f"{p}.attn", d_text)
        norm(f"{c}/attention/layer_norm", f"{p}.cross_norm")
        attn(p, f"{c}/attention", False, f"{p}.cross", d_text)
        norm(f"{c}/ffn/layer_norm", f"{p}.ffn_norm")
        ffn(f"{c}/ffn", p)
        i += 1
    norm("decoder/layer_norm", "dec.norm")
    return out


def convert(model_dir, out_path, type_name, name=None):
    t0 = time.monotonic()
    if type_name not in FILE_TYPES:
        raise ConvertError(f"unsupported --type {type_name!r} (supported: {', '.join(FILE_TYPES)})")
    gguf, Writer = _gguf()
    Q = gguf.GGMLQuantizationType
    w = CT2Weights(os.path.join(model_dir, "model.bin"))
    try:
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise ConvertError(f"cannot read {model_dir}/config.json: {e}")

    # ---- hyper-parameters, all from the tensors (nothing tied to tiny)
    emb = w.raw("decoder/embeddings/weight")
    vocab_size, d_text = emb.shape
    conv1 = w.raw("encoder/conv1/weight")
    d_audio, n_mels, ksize = conv1.shape
    if ksize != 3 or w.raw("encoder/conv2/weight").shape != (d_audio, d_audio, 3):
        raise ConvertError("encoder convolutions are not the Whisper 3-tap layout")
    audio_ctx = w.raw("encoder/position_encodings/encodings").shape[0]
    text_ctx = w.raw("decoder/position_encodings/encodings").shape[0]
    n_enc = sum(1 for k in w.vars if re.fullmatch(r"encoder/layer_\d+/ffn/linear_0/weight", k))
    n_dec = sum(1 for k in w.vars if re.fullmatch(r"decoder/layer_\d+/ffn/linear_0/weight", k))
    h_enc, h_dec = w.scalar("encoder/num_heads"), w.scalar("decoder/num_heads")
    if d_audio % h_enc or d_text % h_dec:
        raise ConvertError(f"width {d_audio}/{d_text} not divisible by heads {h_enc}/{h_dec}")
    # CT2's Whisper decoder: pre-norm, GELU (erf), unscaled embeddings, tied output projection
    checks = {"decoder/pre_norm": 1, "decoder/scale_embeddings": 0, "decoder/activation": 3, "decoder/alibi": 0}
    for k, want in checks.items():
        if w.has(k) and w.scalar(k) != want:
            raise ConvertError(f"{k} = {w.scalar(k)}, expected {want}: not a standard Whisper decoder")
    if w.has("decoder/projection/weight") and w.resolve("decoder/projection/weight") != "decoder/embeddings/weight":
        if not np.array_equal(w.raw("decoder/projection/weight"), emb):
            raise ConvertError("decoder/projection/weight is not tied to decoder/embeddings/weight")
    if w.has("decoder/projection/bias") and np.any(w.f32("decoder/projection/bias") != 0):
        raise ConvertError("decoder/projection has a nonzero bias; the GGUF layout has none")

    tokens, types, merges, special, langs = read_tokenizer(model_dir, vocab_size)
    is_multilingual = vocab_size >= 51865  # the rule openai-whisper and CTranslate2 use
    mel, mel_diff = checked_mel_filters(n_mels)
    log(f"    mel filterbank [{n_mels}, {N_FFT // 2 + 1}]: max |diff| vs openai-whisper mel_filters.npz = {mel_diff:.3g}")

    wtype = Q[type_name]
    emb_type = Q.F16 if type_name == "F16" else Q.Q8_0
    name = name or os.path.basename(os.path.normpath(model_dir))

    tmp = os.path.join(os.path.dirname(os.path.abspath(out_path)) or ".",
                       f".{os.path.basename(out_path)}.tmp-{os.getpid()}")
    import logging
    logging.getLogger("gguf").setLevel(logging.WARNING)
    writer = Writer(tmp, "whisper")
    VT = gguf.GGUFValueType
    writer.add_name(name)
    writer.add_file_type(FILE_TYPES[type_name])
    u32 = lambda k, v: writer.add_uint32(k, int(v))  # noqa: E731
    u32("whisper.vocab_size", vocab_size)
    u32("whisper.n_mels", n_mels)
    u32("whisper.audio.context_length", audio_ctx)
    u32("whisper.audio.embedding_length", d_audio)
    u32("whisper.audio.head_count", h_enc)
    u32("whisper.audio.block_count", n_enc)
    u32("whisper.text.context_length", text_ctx)
    u32("whisper.text.embedding_length", d_text)
    u32("whisper.text.head_count", h_dec)
    u32("whisper.text.block_count", n_dec)
    writer.add_float32("whisper.layer_norm_epsilon", LAYER_NORM_EPS)
    u32("whisper.sample_rate", SAMPLE_RATE)
    u32("whisper.n_fft", N_FFT)
    u32("whisper.hop_length", HOP_LENGTH)
    u32("whisper.chunk_length", CHUNK_LENGTH)
    writer.add_bool("whisper.is_multilingual", is_multilingual)
    for k in ("sot", "eot", "notimestamps", "transcribe", "translate", "sot_lm", "sot_prev",
              "no_speech", "timestamp_begin"):
        u32(f"whisper.token.{k}", special[k])
    u32("whisper.token.first_language", langs[0] if langs else 0)
    i32arr = lambda k, v: writer.add_key_value(k, [int(x) for x in v], VT.ARRAY, sub_type=VT.INT32)  # noqa: E731
    i32arr("whisper.suppress_tokens", config.get("suppress_ids") or [])
    i32arr("whisper.suppress_tokens_begin", config.get("suppress_ids_begin") or [])
    i32arr("whisper.lang_ids", langs)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_eos_token_id(special["eot"])
    writer.add_bos_token_id(special["sot"])
    writer.add_add_bos_token(False)

    tensors = [("mel_filters", mel, "F32")] + build_tensors(w, type_name)
    summary = {}
    for tname, arr, kind in tensors:
        if kind == "W":
            qt = wtype
        elif kind == "EMB":
            qt = emb_type
        elif kind == "F16":
            qt = Q.F16
        else:
            qt = Q.F32
        if qt not in (Q.F16, Q.F32) and arr.shape[-1] % 32 != 0:
            qt = Q.F16  # block quantization needs ne0 % 32 == 0 (never the case for Whisper sizes)
        if qt == Q.F32:
            writer.add_tensor(tname, arr)
        elif qt == Q.F16:
            writer.add_tensor(tname, arr.astype(np.float16))
        else:
            writer.add_tensor(tname, gguf.quants.quantize(arr, qt), raw_dtype=qt)
        summary[qt.name] = summary.get(qt.name, 0) + 1
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        check_output(tmp, tensors, gguf)
        os.replace(tmp, out_path)
    finally:
        writer.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    log(f"    wrote {out_path} ({os.path.getsize(out_path) / 2**20:.1f} MB, {len(tensors)} tensors: "
        + ", ".join(f"{v} {k}" for k, v in sorted(summary.items()))
        + f") in {time.monotonic() - t0:.1f}s; enc {n_enc}x{d_audio}/{h_enc}h, dec {n_dec}x{d_text}/{h_dec}h, "
        f"vocab {vocab_size}")
    return mel_diff


def check_output(path, tensors, gguf):
    """Re-read the written file: names, shapes and (dequantized) values within quantization error."""
    r = gguf.GGUFReader(path)
    if [t.name for t in r.tensors] != [t[0] for t in tensors]:
        raise ConvertError("self-check: tensor names/order differ after re-reading the GGUF")
    for t, (name, arr, _) in zip(r.tensors, tensors):
        if list(t.shape) != list(reversed(arr.shape)):
            raise ConvertError(f"self-check: {name} has ne={list(t.shape)}, expected {list(reversed(arr.shape))}")
        got = gguf.quants.dequantize(t.data, t.tensor_type).reshape(arr.shape)
        scale = float(np.max(np.abs(arr))) or 1.0
        tol = {"F32": 0.0, "F16": 1e-3, "Q8_0": 1e-2, "Q4_0": 0.15}[t.tensor_type.name]
        err = float(np.max(np.abs(got - arr))) / scale
        if err > tol:
            raise ConvertError(f"self-check: {name} ({t.tensor_type.name}) max relative error {err:.3g} > {tol}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="tools/whisper/convert.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="CTranslate2 Whisper model directory (model.bin, config.json, "
                                      "vocabulary.txt, tokenizer.json)")
    ap.add_argument("out", help="output GGUF path (written atomically)")
    ap.add_argument("--type", default="Q8_0", choices=sorted(FILE_TYPES), help="weight type (default Q8_0)")
    ap.add_argument("--name", help="general.name (default: the model directory name)")
    args = ap.parse_args(argv)
    try:
        convert(args.model_dir, args.out, args.type, args.name)
    except ConvertError as e:
        log(f"tools/whisper/convert.py: error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
