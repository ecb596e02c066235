#!/usr/bin/env python3
"""tools/vad/bench_onnx.py — onnxruntime single-threaded Silero VAD frame cost, for comparison
with `bora bench vad` (same synthetic audio: 10 s of seeded noise with tone bursts, same 512-sample
frames with 64 context samples and the state carried).

    $(tools/refenv) tools/vad/bench_onnx.py [--runs N] [--json] [--model stock|safetensors]

--model stock (default) runs the package's silero_vad.onnx, the file Bora converts; safetensors
runs the same graph with the silero_vad_16k.safetensors weights (spliced as in
tools/vad/reference.py; same cost, other checkpoint). Each
timing is one session.run call from Python, so it includes the Python binding's overhead (input
dict conversion, output allocation), a few µs to tens of µs per call.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import reference  # noqa: E402


def synthetic_audio(seconds=10):
    """Bit-identical to VADBench.syntheticAudio (the LCG and formula in Float32)."""
    n = seconds * 16000
    out = np.empty(n, np.float32)
    state = 0x5EED
    mask = (1 << 64) - 1
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        x = np.float32(np.float32(state >> 40) / np.float32(1 << 24) - np.float32(0.5)) * np.float32(0.035)
        if (i // 16000) % 2 == 1:
            f = np.float32(200 + 150 * (i // 16000 % 5))
            x += np.float32(0.3) * np.sin(np.float32(2 * np.pi) * f * np.float32(i) / np.float32(16000), dtype=np.float32)
        out[i] = x
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--model", choices=["stock", "safetensors"], default="stock")
    a = ap.parse_args()
    stock, spliced = reference.load_models()
    sess = spliced if a.model == "safetensors" else stock
    audio = synthetic_audio()
    frames = len(audio) // 512
    sr = np.array(16000, np.int64)
    times = []
    for r in range(a.runs + 1):
        ctx = np.zeros(64, np.float32)
        state = np.zeros((2, 1, 128), np.float32)
        for k in range(frames):
            x = np.concatenate([ctx, audio[k * 512:(k + 1) * 512]])[None, :]
            feed = {"input": x, "state": state, "sr": sr}
            t0 = time.perf_counter()
            p, state = sess.run(None, feed)
            dt = time.perf_counter() - t0
            if r > 0:  # the first pass is warm-up
                times.append(dt)
            ctx = x[0, -64:]
    t = np.array(times) * 1e6
    row = {"suite": "vad-onnxruntime", "onnxruntime": ort.__version__, "model": a.model, "threads": 1,
           "frames": frames, "runs": a.runs, "cpu": platform.processor() or platform.machine(),
           "us_per_frame_median": float(np.median(t)), "us_per_frame_p90": float(np.percentile(t, 90)),
           "us_per_frame_min": float(t.min())}
    if a.json:
        print(json.dumps(row, sort_keys=True))
    else:
        print(f"onnxruntime {ort.__version__}  1T  {a.model}  {frames} frames x {a.runs}  "
              f"median {row['us_per_frame_median']:.1f} µs  p90 {row['us_per_frame_p90']:.1f} µs  "
              f"min {row['us_per_frame_min']:.1f} µs  (session.run from Python)")


if __name__ == "__main__":
    main()
