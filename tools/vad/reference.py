#!/usr/bin/env python3
"""tools/vad/reference.py — golden Silero VAD probabilities from onnxruntime.

    $(tools/refenv) tools/vad/reference.py [--check]

For every WAV in Tests/Fixtures/vad (made by tools/vad/make_audio.py) runs onnxruntime
(single-threaded, CPU) on the package's stock silero_vad.onnx, unchanged, frame by frame exactly
as silero_vad.OnnxWrapper does (64 context samples + 512 new, recurrent state carried), and writes
Tests/Fixtures/vad/silero_reference.json with one probability per frame ("probabilities").
Bora converts the same file (catalog `silero-vad`, conversion from silero_vad.onnx), so this is
the independent reference for its output. The .onnx bytes are checked against the catalog sha256.

silero_vad_16k.safetensors in the same package is a different v6 checkpoint of the same graph;
its probabilities (the .onnx graph with its 16 kHz-branch constants replaced by the safetensors
tensors, spliced byte for byte by tools/vad/onnx_splice.py) are recorded as "safetensors_weights",
for comparison only. Needs the silero-vad wheel in the cache (tools/models fetch silero-vad).
"""

import argparse
import glob
import hashlib
import json
import os
import sys
import wave
import zipfile

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import onnx_splice  # noqa: E402

FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "vad")
CACHE = os.environ.get("BORA_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "bora")
WHEEL = "silero_vad-6.2.3-py3-none-any.whl"
ONNX = "silero_vad/data/silero_vad.onnx"
SAFETENSORS = "silero_vad/data/silero_vad_16k.safetensors"
BRANCH = "If_0_then_branch__Inline_0__"
# safetensors name -> ONNX constant (16 kHz branch)
NAMES = {
    "stft_conv.weight": "stft.forward_basis_buffer",
    **{f"conv{i + 1}.{p}": f"encoder.{i}.reparam_conv.{p}" for i in range(4) for p in ("weight", "bias")},
    "lstm_cell.weight_ih": "decoder.rnn.weight_ih", "lstm_cell.weight_hh": "decoder.rnn.weight_hh",
    "lstm_cell.bias_ih": "decoder.rnn.bias_ih", "lstm_cell.bias_hh": "decoder.rnn.bias_hh",
    "final_conv.weight": "decoder.decoder.2.weight", "final_conv.bias": "decoder.decoder.2.bias",
}


def read_safetensors(data):
    """The safetensors format: u64 header length, JSON header, raw little-endian tensors."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{name}: dtype {info['dtype']}, expected F32")
        s, e = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + s:8 + n + e], dtype="<f4").reshape(info["shape"])
    return out


def session(model_bytes):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def probabilities(sess, samples):
    ctx = np.zeros(64, np.float32)
    state = np.zeros((2, 1, 128), np.float32)
    sr = np.array(16000, np.int64)
    out = []
    for k in range(len(samples) // 512):
        x = np.concatenate([ctx, samples[k * 512:(k + 1) * 512]])
        p, state = sess.run(None, {"input": x[None, :], "state": state, "sr": sr})
        out.append(float(p[0, 0]))
        ctx = x[-64:]
    return out


def read_wav(path):
    with wave.open(path) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def catalog_sha256(rel):
    with open(os.path.join(REPO, "Models", "catalog.json")) as f:
        cat = json.load(f)
    m = next(m for m in cat["models"] if m["name"] == "silero-vad")
    return next(f["sha256"] for f in m["source"]["files"] if f["path"] == rel)


def load_models():
    """(stock silero_vad.onnx session, same graph with the safetensors weights)."""
    whl = os.path.join(CACHE, "wheels", WHEEL)
    if not os.path.exists(whl):
        raise SystemExit(f"{whl} missing; run tools/models fetch silero-vad first")
    with zipfile.ZipFile(whl) as z:
        stock = z.read(ONNX)
        st = read_safetensors(z.read(SAFETENSORS))
    if hashlib.sha256(stock).hexdigest() != catalog_sha256(ONNX):
        raise SystemExit(f"{ONNX} in {whl} does not match the catalog sha256")
    spliced = onnx_splice.splice(stock, {BRANCH + o: np.ascontiguousarray(st[s], "<f4").tobytes()
                                         for s, o in NAMES.items()})
    return session(stock), session(spliced)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="compare with the committed JSON instead of writing")
    a = ap.parse_args()
    stock, spliced = load_models()
    result = {"generator": "tools/vad/reference.py", "onnxruntime": ort.__version__,
              "model": "silero_vad.onnx (silero-vad 6.2.3), unchanged", "model_sha256": catalog_sha256(ONNX),
              "frame_samples": 512, "context_samples": 64, "recordings": []}
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.wav"))):
        x = read_wav(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        p = probabilities(stock, x)
        q = probabilities(spliced, x)
        result["recordings"].append({"file": os.path.basename(path), "sha256": digest, "frames": len(p),
                                     "probabilities": [round(v, 7) for v in p],
                                     "safetensors_weights": [round(v, 7) for v in q]})
        print(f"{os.path.basename(path)}: {len(p)} frames, max p {max(p):.3f}, "
              f"max |stock onnx - safetensors weights| {max(abs(u - v) for u, v in zip(p, q)):.3f}")
    out = os.path.join(FIXTURES, "silero_reference.json")
    if a.check:
        with open(out) as f:
            old = json.load(f)
        worst = max(abs(u - v) for r0, r1 in zip(old["recordings"], result["recordings"])
                    for u, v in zip(r0["probabilities"], r1["probabilities"]))
        print(f"max difference vs committed: {worst:.2e}")
        return 0 if worst < 1e-5 else 1
    with open(out, "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
