"""Independent NumPy forward pass of llama.cpp's LLM_ARCH_LLAMA, dense or Mixture-of-Experts.

Written from the llama.cpp definition (src/models/llama.cpp, llm_graph_context::build_moe_ffn
in src/llama-graph.cpp), not from Bora: RMSNorm, rotary embeddings on adjacent pairs
(LLAMA_ROPE_TYPE_NORM), grouped-query attention, then per layer either the dense SwiGLU FFN or
the MoE FFN:

    probs    = softmax(ffn_gate_inp @ x)                       over all n_expert logits
    selected = the n_expert_used largest probs (ties -> lower expert id)
    w        = probs[selected] / max(sum(probs[selected]), 6.103515625e-5)   (norm_w = true)
    out      = sum_j w_j * down_exps[s_j] @ (silu(gate_exps[s_j] @ x) * (up_exps[s_j] @ x))

No expert_weights_scale: LLM_ARCH_LLAMA never reads llama.expert_weights_scale (w_scale = 0).
"""
import os
import sys

import numpy as np
import gguf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "whisper"))
from numpy_whisper import bytes_to_unicode  # noqa: E402  (GPT-2's byte <-> unicode table)

ROUTER_SUM_CLAMP = 6.103515625e-5


def read_hparams(reader):
    f = {k: v.contents() for k, v in reader.fields.items()
         if k.startswith("llama.") or k == "general.architecture"}
    hp = {"dim": f["llama.embedding_length"], "layers": f["llama.block_count"],
          "heads": f["llama.attention.head_count"], "kv_heads": f["llama.attention.head_count_kv"],
          "base": float(f["llama.rope.freq_base"]), "eps": float(f["llama.attention.layer_norm_rms_epsilon"]),
          "n_expert": int(f.get("llama.expert_count", 0)), "n_used": int(f.get("llama.expert_used_count", 0))}
    hp["rot"] = int(f.get("llama.rope.dimension_count", hp["dim"] // hp["heads"]))
    return hp


def tensor_array(t, dtype=np.float32):
    """A GGUF tensor dequantized by the gguf package, in numpy order (ggml shape reversed)."""
    a = gguf.quants.dequantize(t.data, t.tensor_type)
    return a.reshape([int(x) for x in reversed(t.shape)]).astype(dtype, copy=False)


def load_weights(path, dtype=np.float32):
    r = gguf.GGUFReader(path)
    return read_hparams(r), {t.name: tensor_array(t, dtype) for t in r.tensors}, r


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def route(logits, n_used):
    """llama.cpp softmax gating + top-k + renormalisation. logits: (T, n_expert).
    Returns selected (T, n_used) expert ids in descending probability, weights (T, n_used) and
    the probabilities of all experts (T, n_expert)."""
    m = logits.max(axis=-1, keepdims=True)
    p = np.exp(logits - m)
    p /= p.sum(axis=-1, keepdims=True)
    sel = np.argsort(-p, axis=-1, kind="stable")[:, :n_used]
    w = np.take_along_axis(p, sel, axis=-1)
    w = w / np.maximum(w.sum(axis=-1, keepdims=True), ROUTER_SUM_CLAMP)
    return sel, w, p


def moe_ffn(xn, W, p, n_used, dtype):
    sel, w, probs = route(xn @ W[p + "ffn_gate_inp.weight"].T.astype(dtype), n_used)
    G, U, D = W[p + "ffn_gate_exps.weight"], W[p + "ffn_up_exps.weight"], W[p + "ffn_down_exps.weight"]
    out = np.zeros_like(xn)
    for e in np.unique(sel):
        rows, slot = np.nonzero(sel == e)
        xe = xn[rows]
        h = silu(xe @ G[e].T.astype(dtype)) * (xe @ U[e].T.astype(dtype))
        out[rows] += w[rows, slot][:, None] * (h @ D[e].T.astype(dtype))
    return out, (sel, w, probs)


def forward(hp, W, tokens, dtype=np.float32, last_only=False, routing=None):
    """Logits (T, vocab) for the token sequence (causal, positions 0..T-1).
    routing: optional list that receives, per MoE layer, (selected (T, k), weights (T, k), probs (T, E))."""
    d, H, KV = hp["dim"], hp["heads"], hp["kv_heads"]
    hd, rot, eps = d // H, hp["rot"], hp["eps"]
    T = len(tokens)
    inv = hp["base"] ** (-np.arange(0, rot, 2, dtype=np.float64) / rot)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
    cos, sin = np.cos(ang).astype(dtype)[:, None, :], np.sin(ang).astype(dtype)[:, None, :]

    def rope(v, nh):
        v = v.reshape(T, nh, hd).copy()
        a, b = v[:, :, 0:rot:2].copy(), v[:, :, 1:rot:2].copy()
        v[:, :, 0:rot:2] = a * cos - b * sin
        v[:, :, 1:rot:2] = a * sin + b * cos
        return v

    mask = np.triu(np.full((T, T), -np.inf, dtype=dtype), 1)
    x = W["token_embd.weight"][tokens].astype(dtype)
    for l in range(hp["layers"]):
        p = f"blk.{l}."
        xn = rmsnorm(x, W[p + "attn_norm.weight"].astype(dtype), eps)
        q = rope(xn @ W[p + "attn_q.weight"].T.astype(dtype), H)
        k = rope(xn @ W[p + "attn_k.weight"].T.astype(dtype), KV)
        v = (xn @ W[p + "attn_v.weight"].T.astype(dtype)).reshape(T, KV, hd)
        att = np.empty((T, H, hd), dtype=dtype)
        for h in range(H):
            g = h // (H // KV)
            sc = q[:, h] @ k[:, g].T / np.sqrt(hd).astype(dtype) + mask
            sc = np.exp(sc - sc.max(axis=1, keepdims=True))
            sc /= sc.sum(axis=1, keepdims=True)
            att[:, h] = sc @ v[:, g]
        x = x + att.reshape(T, d) @ W[p + "attn_output.weight"].T.astype(dtype)
        xn = rmsnorm(x, W[p + "ffn_norm.weight"].astype(dtype), eps)
        if p + "ffn_gate_inp.weight" in W:
            y, r = moe_ffn(xn, W, p, hp["n_used"], dtype)
            if routing is not None:
                routing.append(r)
        else:
            y = (silu(xn @ W[p + "ffn_gate.weight"].T.astype(dtype)) * (xn @ W[p + "ffn_up.weight"].T.astype(dtype))) \
                @ W[p + "ffn_down.weight"].T.astype(dtype)
        x = x + y
    if last_only:
        x = x[-1:]
    out = W.get("output.weight", W["token_embd.weight"])
    return rmsnorm(x, W["output_norm.weight"].astype(dtype), eps) @ out.T.astype(dtype)


def mean_nll(logits, tokens):
    l = logits[:-1].astype(np.float64)
    m = l.max(axis=1, keepdims=True)
    lse = np.log(np.exp(l - m).sum(axis=1)) + m[:, 0]
    return float(np.mean(lse - l[np.arange(len(tokens) - 1), tokens[1:]]))


def greedy(hp, W, prompt, n, dtype=np.float32):
    ids = list(prompt)
    for _ in range(n):
        ids.append(int(np.argmax(forward(hp, W, ids, dtype, last_only=True)[0])))
    return ids[len(prompt):]


def byte_decoder():
    """GPT-2 byte-level BPE: unicode char -> byte."""
    return {c: b for b, c in bytes_to_unicode().items()}


def detokenize(reader, ids):
    f = reader.fields["tokenizer.ggml.tokens"]
    dec = byte_decoder()
    out = bytearray()
    for i in ids:
        s = bytes(f.parts[f.data[i]]).decode("utf-8")
        out += bytes(dec.get(ch, ord("?")) for ch in s) if not (s.startswith("<|") and s.endswith("|>")) else s.encode()
    return out.decode("utf-8", "replace")
