#!/usr/bin/env python3
"""tools/bench/charts.py — PNG charts of the Bora/peer ratios in bench-report/report.json (matplotlib,
from the peer venv). Usage: $(tools/refenv) tools/bench/charts.py bench-report. Prints the files written.
Every bar is "how many times faster Bora is" (peer time / Bora time, or Bora t/s / peer t/s); 1 = parity."""
import json
import os
import statistics
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def bars(path, title, labels, values):
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.4))
    colors = ["#2a9d8f" if v >= 1 else "#e76f51" for v in values]
    ax.barh(labels, values, color=colors)
    ax.axvline(1.0, color="black", lw=1)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}×", va="center", fontsize=8)
    ax.set_xlabel("Bora speed / peer speed (> 1: Bora faster)")
    ax.set_title(title, fontsize=10)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(os.path.basename(path))


def main():
    out = sys.argv[1]
    rep = json.load(open(os.path.join(out, "report.json")))
    s = rep.get("llm", {})
    if "results" in s:
        labels, values = [], []
        for name, d in s["results"].items():
            for kind, label in (("pp", "prompt"), ("tg", "decode")):
                labels.append(f"{name} {label}")
                values.append(statistics.median(d[f"bora_{kind}"]) / statistics.median(d[f"llama_{kind}"]))
        bars(os.path.join(out, "llm_ratio.png"), "LLM: Bora / llama.cpp tokens/s (SmolLM2-135M)", labels, values)
    s = rep.get("asr", {})
    if "configs" in s:
        peers = [c for c in s["configs"] if c["runtime"] != "Bora" and c.get("files")]
        boras = [c for c in s["configs"] if c["runtime"] == "Bora" and c.get("files")]
        labels, values = [], []
        for f in s["files"]:
            for p in peers:
                for b in boras:
                    if f in p["files"] and f in b["files"]:
                        labels.append(f"{f.split('_')[0].replace('.wav', '')}: {b['id'].replace('bora-', '')} vs {p['id']}")
                        values.append(p["files"][f]["median_ms"] / b["files"][f]["median_ms"])
        if labels:
            bars(os.path.join(out, "asr_ratio.png"), "ASR: peer latency / Bora latency (Whisper tiny.en)", labels, values)
    s = rep.get("vad", {})
    if s.get("onnxruntime") and s.get("bora"):
        o = statistics.median(x["us_per_frame_median"] for x in s["onnxruntime"])
        b = statistics.median(x["us_per_frame_median"] for x in s["bora"])
        bars(os.path.join(out, "vad_ratio.png"), "VAD: onnxruntime µs/frame / Bora µs/frame (Silero v6)", ["Silero VAD"], [o / b])


if __name__ == "__main__":
    main()
