#!/usr/bin/env python3
"""llama.cpp reference fixtures for smollm2-moe (tools/moe/build.py), same text and settings as
tools/llamacpp/reference.py (2 threads, n_ctx 512, n_batch = n_ubatch = 512, F16 KV cache, CPU).

    ~/.cache/bora/llamacpp/0.3.36/venv/bin/python tools/moe/llamacpp_reference.py

Writes Tests/Fixtures/moe/logits_moe_<q>.json and greedy_moe_<q>.json (q = q4_0, q8_0), keys as in
Tests/Fixtures/llm (see tools/moe/README.md), and prints llama.cpp's mean NLL for the MoE and the
dense parent quantizations. The token ids are those of Tests/Fixtures/llm/logits_q4_1.json (the
tokenizer is copied unchanged; checked here).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from pathlib import Path

import numpy as np
import llama_cpp

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "llamacpp"))
import reference as ref  # noqa: E402  (tools/llamacpp/reference.py: load, eval_all, greedy, ... reused read-only)

CACHE = Path(os.environ.get("BORA_CACHE", Path.home() / ".cache" / "bora"))
MODELS = Path(os.environ.get("BORA_MODELS", CACHE / "models"))
MOE = [("q4_0", "smollm2-moe", "smollm2-moe.Q4_0.gguf"), ("q8_0", "smollm2-moe-q8_0", "smollm2-moe.Q8_0.gguf")]
DENSE = [("q4_1", "smollm2-135m-instruct", "smollm2-135m-instruct.Q4_1.gguf"),
         ("q8_0", "smollm2-135m-instruct-q8_0", "smollm2-135m-instruct.Q8_0.gguf"),
         ("q4_0", "smollm2-135m-instruct-q4_0", "smollm2-135m-instruct.Q4_0.gguf")]


def nll(scores, ids):
    s = scores[:-1].astype(np.float64)
    m = s.max(1, keepdims=True)
    lse = np.log(np.exp(s - m).sum(1)) + m[:, 0]
    return float(np.mean(lse - s[np.arange(len(ids) - 1), ids[1:]]))


def main() -> int:
    out = REPO / "Tests" / "Fixtures" / "moe"
    out.mkdir(parents=True, exist_ok=True)
    llm_ref = json.loads((REPO / "Tests" / "Fixtures" / "llm" / "logits_q4_1.json").read_text())
    text, ids = llm_ref["text"], llm_ref["token_ids"]
    prompts = json.loads((REPO / "Tests" / "Fixtures" / "llm" / "greedy_q4_1.json").read_text())["prompts"]
    today = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")
    summary = {}
    for q, d, f in MOE:
        path = MODELS / d / f
        if not path.exists():
            raise SystemExit(f"model not found: {path} (run: tools/models fetch {d})")
        llm = ref.load(path, logits_all=True)
        add_bos = ref.add_bos_flag(llm)
        assert ref.tok(llm, text, add_bos, False) == ids, "tokenization differs from the dense fixtures"
        meta = {"llama_cpp_python": llama_cpp.__version__, "model_file": path.name, "model_sha256": ref.sha256_file(path),
                "n_threads": ref.N_THREADS, "n_ctx": ref.N_CTX, "n_batch": 512, "n_ubatch": 512,
                "kv_cache_type": "f16", "flash_attn": False, "backend": "CPU", "n_vocab": llm.n_vocab(),
                "add_bos_token": add_bos, "n_expert": int(llm.metadata["llama.expert_count"]),
                "n_expert_used": int(llm.metadata["llama.expert_used_count"]),
                "date": today, "generator": "tools/moe/llamacpp_reference.py"}
        s1 = ref.eval_all(llm, ids)
        s2 = ref.eval_all(llm, ids)
        assert np.array_equal(s1, s2), f"{q}: logits not deterministic"
        positions = []
        for i in range(len(ids)):
            row = s1[i]
            top = np.argsort(-row, kind="stable")[:ref.TOPK]
            nxt = ids[i + 1] if i + 1 < len(ids) else None
            positions.append({"pos": i, "top_ids": [int(t) for t in top], "top_logits": [ref.r(row[t]) for t in top],
                              "top1_margin": ref.r(row[top[0]] - row[top[1]]),
                              "next_id": nxt, "next_logit": ref.r(row[nxt]) if nxt is not None else None})
        m = nll(s1, ids)
        summary[f"moe_{q}"] = m
        ref.write_json(out / f"logits_moe_{q}.json", {
            "metadata": {**meta, "evaluation": "one llama_decode batch of all tokens, logits for every position",
                         "deterministic_repeat": True},
            "text": text, "add_bos": add_bos, "token_ids": ids, "mean_nll_next_token": round(m, 5),
            "top_k": ref.TOPK, "positions": positions})
        ref.log(f"{q}: mean NLL {m:.4f}; top-1 of first 10: {[p['top_ids'][0] for p in positions[:10]]}")

        eog = lambda t: bool(llama_cpp.llama_vocab_is_eog(llama_cpp.llama_model_get_vocab(llm.model), t))
        results = []
        for p in prompts:
            pids = p["prompt_ids"]
            g1, m1, t1 = ref.greedy(llm, pids)
            g2, m2, _ = ref.greedy(llm, pids)
            assert (g1, m1) == (g2, m2), f"greedy not deterministic for {p['name']}"
            first_eog = next((i for i, t in enumerate(g1) if eog(t)), None)
            results.append({
                "name": p["name"], "prompt": p["prompt"], "parse_special": p["parse_special"],
                "prompt_ids": pids, "generated_ids": g1,
                "generated_text": llm.detokenize(g1, prev_tokens=pids, special=True).decode("utf-8", "replace"),
                "first_eog_index": first_eog, "top2_margin": m1, "top2": t1, "min_margin": min(m1),
                "stable_prefix_len": {str(th): next((i for i, mm in enumerate(m1) if mm < th), len(m1))
                                      for th in (0.05, 0.1, 0.25, 0.5)}})
            ref.log(f"greedy {q} {p['name']}: {results[-1]['generated_text'][:120]!r}")
        ref.write_json(out / f"greedy_moe_{q}.json", {
            "metadata": {**meta, "decoding": "argmax over raw logits (ties -> lowest id); prompt in one batch, "
                                             "then one token per llama_decode; no stop on EOG",
                         "n_generated": ref.N_GEN, "deterministic_repeat": True},
            "prompts": results})
        del llm
    for q, d, f in DENSE:
        path = MODELS / d / f
        if path.exists():
            llm = ref.load(path, logits_all=True)
            summary[f"dense_{q}"] = nll(ref.eval_all(llm, ids), ids)
            del llm
    ref.log("mean NLL (llama.cpp): " + ", ".join(f"{k} {v:.4f} (ppl {np.exp(v):.1f})" for k, v in summary.items()))
    ref.write_json(out / "summary.json", {"mean_nll_llama_cpp": {k: round(v, 5) for k, v in summary.items()},
                                          "generator": "tools/moe/llamacpp_reference.py", "date": today})
    return 0


if __name__ == "__main__":
    sys.exit(main())
