#!/usr/bin/env python3
"""Measure how the dense -> MoE split changes SmolLM2 (NumPy float32 forward, tools/moe/numpy_llama.py):
mean NLL / perplexity of the 256-token Alice text of tools/llamacpp/reference.py (token ids from
Tests/Fixtures/llm/logits_q4_1.json) and a greedy continuation, for the dense parent and for the
MoE at several router / down-projection scales. This is how build.py's constants were chosen.

    tools/.venv/bin/python tools/moe/evaluate.py [--quick] [--greedy N] [PARENT.gguf]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import numpy_llama as nl  # noqa: E402
import moe_split  # noqa: E402


def default_parent():
    cache = os.environ.get("BORA_CACHE", os.path.expanduser("~/.cache/bora"))
    models = os.environ.get("BORA_MODELS", os.path.join(cache, "models"))
    return os.path.join(models, "smollm2-135m-instruct", "smollm2-135m-instruct.Q4_1.gguf")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("parent", nargs="?", default=default_parent())
    ap.add_argument("--greedy", type=int, default=32, help="greedy tokens per prompt (0: none)")
    ap.add_argument("--router", default="1,4,16", help="router scales to try")
    ap.add_argument("--down", default="1,2,4,8", help="down-projection scales to try")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    ref = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "llm", "logits_q4_1.json")))
    tokens = ref["token_ids"]
    prompts = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "llm", "greedy_q4_1.json")))["prompts"]
    prompts = [p for p in prompts if p["name"] in ("once", "capital")]
    hp, W, reader = nl.load_weights(args.parent)
    results = []

    def run(label, Wx, hpx):
        t0 = time.time()
        nll = nl.mean_nll(nl.forward(hpx, Wx, tokens), tokens)
        gen = {}
        for p in prompts if args.greedy else []:
            gen[p["name"]] = nl.detokenize(reader, nl.greedy(hpx, Wx, p["prompt_ids"], args.greedy))
        results.append({"config": label, "mean_nll": round(nll, 4), "ppl": round(float(np.exp(nll)), 2), "greedy": gen})
        print(f"{label:28s} NLL {nll:.4f} ppl {np.exp(nll):8.2f} ({time.time() - t0:.0f}s)", file=sys.stderr)
        for k, v in gen.items():
            print(f"    {k}: {v!r}", file=sys.stderr)

    run("dense", W, hp)
    t0 = time.time()
    splits = [moe_split.split_ffn(W[f"blk.{l}.ffn_gate.weight"], W[f"blk.{l}.ffn_up.weight"],
                                  W[f"blk.{l}.ffn_down.weight"], router_scale=1.0, down_scale=1.0)
              for l in range(hp["layers"])]
    print(f"clustering {hp['layers']} layers: {time.time() - t0:.1f}s", file=sys.stderr)
    base = {k: v for k, v in W.items() if not any(s in k for s in (".ffn_gate.", ".ffn_up.", ".ffn_down."))}
    hpm = dict(hp, n_expert=moe_split.N_EXPERT, n_used=moe_split.N_USED)
    for rs in [float(v) for v in args.router.split(",")]:
        for ds in [float(v) for v in args.down.split(",")]:
            Wm = dict(base)
            for l, s in enumerate(splits):
                p = f"blk.{l}."
                Wm[p + "ffn_gate_inp.weight"] = s["gate_inp"] * np.float32(rs)
                Wm[p + "ffn_gate_exps.weight"] = s["gate_exps"]
                Wm[p + "ffn_up_exps.weight"] = s["up_exps"]
                Wm[p + "ffn_down_exps.weight"] = s["down_exps"] * np.float32(ds)
            run(f"moe router x{rs:g} down x{ds:g}", Wm, hpm)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"parent": os.path.basename(args.parent), "tokens": len(tokens), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
