#!/usr/bin/env python3
"""Exact (float64) NumPy reference for smollm2-moe on the 256-token Alice text: the weights as the
gguf package dequantizes them, no activation quantization, no F16 KV cache (tools/moe/numpy_llama.py).
Tells whether Bora or llama.cpp is closer to the exact math where they differ.

    tools/.venv/bin/python tools/moe/numpy_reference.py [q4_0|q8_0 ...]

Writes Tests/Fixtures/moe/exact_moe_<q>.json: model_sha256, tokens, top5 per position
({"ids", "logits"}), top1, and "selected" [layer][pos][k] expert ids (descending probability) with
"gap_2nd_3rd" [layer][pos] (probability gap between the 2nd and 3rd expert: small = fragile).
"""
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import numpy_llama as nl  # noqa: E402

FILES = {"q4_0": ("smollm2-moe", "smollm2-moe.Q4_0.gguf"), "q8_0": ("smollm2-moe-q8_0", "smollm2-moe.Q8_0.gguf")}


def main():
    cache = os.environ.get("BORA_CACHE", os.path.expanduser("~/.cache/bora"))
    models = os.environ.get("BORA_MODELS", os.path.join(cache, "models"))
    out = os.path.join(ROOT, "Tests", "Fixtures", "moe")
    os.makedirs(out, exist_ok=True)
    tokens = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "llm", "logits_q4_1.json")))["token_ids"]
    for q in sys.argv[1:] or list(FILES):
        path = os.path.join(models, *FILES[q])
        hp, W, _ = nl.load_weights(path, np.float64)
        routing = []
        logits = nl.forward(hp, W, tokens, dtype=np.float64, routing=routing)
        order = np.argsort(-logits, axis=1, kind="stable")[:, :5]
        gaps = []
        for sel, w, p in routing:
            s = np.sort(p, axis=1)[:, ::-1]
            gaps.append([round(float(v), 6) for v in s[:, 1] - s[:, 2]])
        doc = {"model_file": os.path.basename(path),
               "model_sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
               "tokens": tokens, "mean_nll_next_token": round(nl.mean_nll(logits, tokens), 5),
               "top5": [{"ids": order[i].tolist(), "logits": [round(float(logits[i, j]), 5) for j in order[i]]}
                        for i in range(len(tokens))],
               "top1": logits.argmax(1).tolist(),
               "selected": [sel.tolist() for sel, _, _ in routing], "gap_2nd_3rd": gaps,
               "generator": "tools/moe/numpy_reference.py"}
        with open(os.path.join(out, f"exact_moe_{q}.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        print(f"{q}: mean NLL {doc['mean_nll_next_token']}, top1[:10] {doc['top1'][:10]}", file=sys.stderr)


if __name__ == "__main__":
    main()
