#!/usr/bin/env python3
"""llama.cpp reference fixtures for Bora's LLM runtime (SmolLM2-135M-Instruct GGUFs).

Regenerate (from the repo root):

    tools/llamacpp/build && ~/.cache/bora/llamacpp/0.3.36/venv/bin/python tools/llamacpp/reference.py

Optional arguments: a path to the Q4_1 GGUF (default: $BORA_MODELS or $BORA_CACHE/models or
~/.cache/bora/models, then smollm2-135m-instruct/smollm2-135m-instruct.Q4_1.gguf; the Q8_0 and
Q4_0 files are looked up in the sibling dirs smollm2-135m-instruct-q8_0/ and -q4_0/),
--out DIR (default Tests/Fixtures/llm), --only q4_1 (skip the other quantizations).

Writes, into Tests/Fixtures/llm/:
  tokens_smollm2.json         llama.cpp tokenization of every text used here (+ a few tokenizer
                              edge cases), with add_bos/parse_special flags; checked identical
                              for all three GGUFs and against the llama-tokenize binary.
  logits_<q>.json             (q = q4_1, q8_0, q4_0) the fixed 256-token text (BOS included iff
                              tokenizer.ggml.add_bos_token) evaluated in ONE batch (n_batch =
                              n_ubatch = 512, logits for all positions): per position the top-5
                              token ids + logits and the logit of the actual next token.
  logits_q4_1_first4.f16.bin  full logits of positions 0..3 for Q4_1, little-endian float16,
                              row-major [4][n_vocab]; its sha256 is in logits_q4_1.json.
  greedy_q4_1.json            greedy 64-token continuations of three prompts (argmax of the
                              logits; prompt evaluated in one batch, then one token per decode),
                              with the top1-top2 logit margin at each step. No stop on EOG: the
                              index of the first end-of-generation token is recorded instead.

Determinism: every evaluation is done twice and must be bit-identical; greedy generation is also
cross-checked against llama-cpp-python's own sampler chain (temp=0 -> greedy, repeat_penalty=1).
llama.cpp defaults apply otherwise: F16 KV cache, no flash attention, CPU backend, 2 threads.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import llama_cpp
from llama_cpp import Llama

N_THREADS = 2
N_CTX = 512
N_TEXT_TOKENS = 256
N_GEN = 64
TOPK = 5
N_FULL = 4

# Lewis Carroll, "Alice's Adventures in Wonderland" (1865), chapter I: public domain.
# The fixture text is the longest word-prefix of this whose tokenization is exactly 256 tokens.
SOURCE_TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of having "
    "nothing to do: once or twice she had peeped into the book her sister was reading, but it had "
    "no pictures or conversations in it, \u201cand what is the use of a book,\u201d thought Alice "
    "\u201cwithout pictures or conversations?\u201d\n\n"
    "So she was considering in her own mind (as well as she could, for the hot day made her feel "
    "very sleepy and stupid), whether the pleasure of making a daisy-chain would be worth the "
    "trouble of getting up and picking the daisies, when suddenly a White Rabbit with pink eyes "
    "ran close by her.\n\n"
    "There was nothing so very remarkable in that; nor did Alice think it so very much out of the "
    "way to hear the Rabbit say to itself, \u201cOh dear! Oh dear! I shall be late!\u201d (when "
    "she thought it over afterwards, it occurred to her that she ought to have wondered at this, "
    "but at the time it all seemed quite natural); but when the Rabbit actually took a watch out "
    "of its waistcoat-pocket, and looked at it, and then hurried on, Alice started to her feet, "
    "for it flashed across her mind that she had never before seen a rabbit with either a "
    "waistcoat-pocket, or a watch to take out of it, and burning with curiosity, she ran across "
    "the field after it, and fortunately was just in time to see it pop down a large rabbit-hole "
    "under the hedge.\n\n"
    "In another moment down went Alice after it, never once considering how in the world she was "
    "to get out again."
)

PROMPTS = [
    {"name": "capital", "text": "The capital of France is", "parse_special": False},
    {"name": "once", "text": "Once upon a time,", "parse_special": False},
    {"name": "chat",
     "text": "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
     "parse_special": True},
]

# Extra tokenizer cases (no model evaluation); both parse_special settings are recorded.
TOKENIZER_CASES = [
    "Hello world",
    " Hello world",
    "hello  world\n\n\tindented\r\nline",
    "12345 3.14159 1,000,000 2+2=4",
    "caf\u00e9 na\u00efve \u00fcber \u65e5\u672c\u8a9e \U0001F642 \u2014 \u201cquotes\u201d",
    "don't won't it's I'm you're",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n",
    "<|endoftext|> <|im_end|>",
    "",
]

QUANTS = [
    ("q4_1", "smollm2-135m-instruct", "smollm2-135m-instruct.Q4_1.gguf"),
    ("q8_0", "smollm2-135m-instruct-q8_0", "smollm2-135m-instruct.Q8_0.gguf"),
    ("q4_0", "smollm2-135m-instruct-q4_0", "smollm2-135m-instruct.Q4_0.gguf"),
]


def log(msg: str) -> None:
    print(f"[reference] {msg}", file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def r(x) -> float:
    """Logits rounded to 1e-5 (well below any sensible comparison tolerance)."""
    return round(float(x), 5)


def load(path: Path, logits_all: bool) -> Llama:
    return Llama(
        model_path=str(path), n_ctx=N_CTX, n_batch=512, n_ubatch=512,
        n_threads=N_THREADS, n_threads_batch=N_THREADS, logits_all=logits_all,
        seed=1234, verbose=False, use_mmap=True,
    )


def add_bos_flag(llm: Llama) -> bool:
    v = llm.metadata.get("tokenizer.ggml.add_bos_token")
    if v is not None:
        return v.lower() == "true"
    return bool(llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)))


def tok(llm: Llama, text: str, add_bos: bool, special: bool) -> list[int]:
    return list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))


def pick_text(llm: Llama, add_bos: bool) -> tuple[str, list[int]]:
    words = SOURCE_TEXT.split(" ")
    best = None
    for n in range(1, len(words) + 1):
        t = " ".join(words[:n])
        ids = tok(llm, t, add_bos, False)
        if len(ids) == N_TEXT_TOKENS:
            best = (t, ids)
        if len(ids) > N_TEXT_TOKENS:
            break
    if best is None:
        raise SystemExit("no word-prefix of SOURCE_TEXT tokenizes to exactly 256 tokens")
    return best


def eval_all(llm: Llama, ids: list[int]) -> np.ndarray:
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids), :], dtype=np.float32, copy=True)


def greedy(llm: Llama, prompt_ids: list[int]) -> tuple[list[int], list[float], list[list]]:
    """Argmax decoding; returns generated ids, top1-top2 margins, and per-step top-2 (id, logit)."""
    llm.reset()
    llm.eval(prompt_ids)
    out, margins, top2 = [], [], []
    for _ in range(N_GEN):
        row = np.array(llm.scores[llm.n_tokens - 1, :], dtype=np.float32)
        order = np.argsort(-row, kind="stable")[:2]  # ties -> lowest id, same as argmax
        t = int(order[0])
        out.append(t)
        margins.append(r(row[order[0]] - row[order[1]]))
        top2.append([[int(order[0]), r(row[order[0]])], [int(order[1]), r(row[order[1]])]])
        llm.eval([t])
    return out, margins, top2


def sampler_greedy(llm: Llama, prompt_ids: list[int]) -> list[int]:
    """llama-cpp-python's own sampler chain with temp=0 (greedy), repeat_penalty=1."""
    llm.reset()
    out = []
    for t in llm.generate(prompt_ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0,
                          repeat_penalty=1.0, reset=True):
        out.append(int(t))
        if len(out) == N_GEN:
            break
    return out


def cli_tokenize(bin_dir: Path, model: Path, text: str, add_bos: bool, special: bool) -> list[int] | None:
    exe = bin_dir / "llama-tokenize"
    if not exe.exists():
        return None
    cmd = [str(exe), "-m", str(model), "-p", text, "--ids", "--log-disable"]
    if not add_bos:
        cmd.append("--no-bos")
    if not special:
        cmd.append("--no-parse-special")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        log(f"llama-tokenize failed ({p.returncode}): {p.stderr[-300:]}")
        return None
    line = [l for l in p.stdout.splitlines() if l.startswith("[")][-1]
    return json.loads(line)


def main() -> int:
    repo = Path(__file__).resolve().parents[2]
    cache = Path(os.environ.get("BORA_CACHE", Path.home() / ".cache" / "bora"))
    models = Path(os.environ.get("BORA_MODELS", cache / "models"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", help="Q4_1 GGUF (siblings are found from its parent dir)")
    ap.add_argument("--out", default=str(repo / "Tests" / "Fixtures" / "llm"))
    ap.add_argument("--only", choices=[q for q, _, _ in QUANTS])
    args = ap.parse_args()

    paths = {q: models / d / f for q, d, f in QUANTS}
    if args.model:
        p = Path(args.model).expanduser().resolve()
        paths["q4_1"] = p
        for q, d, f in QUANTS[1:]:
            paths[q] = p.parent.parent / d / f
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bin_dir = cache / "llamacpp" / llama_cpp.__version__ / "bin"
    today = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")

    quants = [q for q, _, _ in QUANTS if (args.only is None or q == args.only)]
    missing = [q for q in quants if not paths[q].exists()]
    if "q4_1" in missing:
        raise SystemExit(f"model not found: {paths['q4_1']} (run: bora models fetch)")
    for q in missing:
        log(f"skipping {q}: {paths[q]} not found")
    quants = [q for q in quants if q not in missing]

    tokens_doc = None
    text, text_ids = None, None
    for q in quants:
        path = paths[q]
        log(f"{q}: {path}")
        sha = sha256_file(path)
        llm = load(path, logits_all=True)
        add_bos = add_bos_flag(llm)
        n_vocab = llm.n_vocab()
        meta = {
            "llama_cpp_python": llama_cpp.__version__,
            "model_file": path.name,
            "model_sha256": sha,
            "n_threads": N_THREADS, "n_ctx": N_CTX, "n_batch": 512, "n_ubatch": 512,
            "kv_cache_type": "f16", "flash_attn": False, "backend": "CPU",
            "n_vocab": n_vocab,
            "add_bos_token": add_bos,
            "bos_token_id": llm.token_bos(), "eos_token_id": llm.token_eos(),
            "date": today,
            "generator": "tools/llamacpp/reference.py",
        }

        # --- tokenization --------------------------------------------------------------------
        if text is None:
            text, text_ids = pick_text(llm, add_bos)
            log(f"text: {len(text)} chars -> {len(text_ids)} tokens (add_bos={add_bos})")
        assert tok(llm, text, add_bos, False) == text_ids, f"{q}: tokenization differs"
        cases = []
        for c in [text] + [p["text"] for p in PROMPTS] + TOKENIZER_CASES:
            for special in (False, True):
                ids = tok(llm, c, add_bos, special)
                cases.append({"text": c, "add_bos": add_bos, "parse_special": special, "ids": ids,
                              "detokenized": llm.detokenize(ids, special=True).decode("utf-8", "replace")})
        if tokens_doc is None:
            cli_checked = 0
            for c in cases:
                if not c["text"]:
                    continue  # llama-tokenize refuses an empty prompt
                cli = cli_tokenize(bin_dir, path, c["text"], c["add_bos"], c["parse_special"])
                if cli is not None:
                    assert cli == c["ids"], f"llama-tokenize disagrees on {c['text']!r}: {cli} vs {c['ids']}"
                    cli_checked += 1
            log(f"tokenization cross-checked with llama-tokenize binary: {cli_checked} cases")
            tokens_doc = {"metadata": {**meta, "checked_identical_for": [], "llama_tokenize_checked": cli_checked},
                          "cases": cases}
        else:
            assert [c["ids"] for c in cases] == [c["ids"] for c in tokens_doc["cases"]], \
                f"{q}: tokenizer differs from {tokens_doc['metadata']['model_file']}"
        tokens_doc["metadata"]["checked_identical_for"].append(path.name)

        # --- logits over the 256-token text, one batch -----------------------------------------
        s1 = eval_all(llm, text_ids)
        s2 = eval_all(llm, text_ids)
        assert np.array_equal(s1, s2), f"{q}: logits not deterministic between two evaluations"
        positions = []
        for i in range(len(text_ids)):
            row = s1[i]
            top = np.argsort(-row, kind="stable")[:TOPK]
            nxt = text_ids[i + 1] if i + 1 < len(text_ids) else None
            positions.append({
                "pos": i,
                "top_ids": [int(t) for t in top],
                "top_logits": [r(row[t]) for t in top],
                "next_id": nxt,
                "next_logit": r(row[nxt]) if nxt is not None else None,
            })
        # mean NLL of the text, handy as a coarse check
        lse = np.log(np.exp(s1[:-1] - s1[:-1].max(1, keepdims=True)).sum(1)) + s1[:-1].max(1)
        nll = float(np.mean(lse - s1[np.arange(len(text_ids) - 1), text_ids[1:]]))
        doc = {
            "metadata": {**meta, "evaluation": "one llama_decode batch of all tokens, logits for every position",
                         "deterministic_repeat": True},
            "text": text, "add_bos": add_bos, "token_ids": text_ids,
            "mean_nll_next_token": round(nll, 5),
            "top_k": TOPK, "positions": positions,
        }
        if q == "q4_1":
            full = s1[:N_FULL].astype("<f2")
            bin_path = out / f"logits_{q}_first{N_FULL}.f16.bin"
            tmp = bin_path.with_name(bin_path.name + ".tmp")
            tmp.write_bytes(full.tobytes())
            os.replace(tmp, bin_path)
            doc["full_logits"] = {"file": bin_path.name, "dtype": "float16 little-endian",
                                  "shape": [N_FULL, n_vocab], "positions": list(range(N_FULL)),
                                  "sha256": hashlib.sha256(full.tobytes()).hexdigest()}
        write_json(out / f"logits_{q}.json", doc)
        log(f"{q}: logits_{q}.json written; mean NLL {nll:.4f}; top-1 of first 10: "
            f"{[p['top_ids'][0] for p in positions[:10]]}")

        # --- greedy (Q4_1 only) --------------------------------------------------------------
        if q == "q4_1":
            eog = lambda t: bool(llama_cpp.llama_vocab_is_eog(llama_cpp.llama_model_get_vocab(llm.model), t))
            plain = load(path, logits_all=False)
            results = []
            for p in PROMPTS:
                pids = tok(llm, p["text"], add_bos, p["parse_special"])
                g1, m1, t1 = greedy(llm, pids)
                g2, m2, _ = greedy(llm, pids)
                assert (g1, m1) == (g2, m2), f"greedy not deterministic for {p['name']}"
                gs = sampler_greedy(plain, pids)
                assert gs == g1, f"{p['name']}: llama-cpp-python sampler {gs} != argmax {g1}"
                first_eog = next((i for i, t in enumerate(g1) if eog(t)), None)
                results.append({
                    "name": p["name"], "prompt": p["text"], "parse_special": p["parse_special"],
                    "prompt_ids": pids, "generated_ids": g1,
                    "generated_text": llm.detokenize(g1, prev_tokens=pids, special=True).decode("utf-8", "replace"),
                    "first_eog_index": first_eog,
                    "generated_text_until_eog": llm.detokenize(g1[:first_eog] if first_eog is not None else g1,
                                                               prev_tokens=pids).decode("utf-8", "replace"),
                    "top2_margin": m1, "top2": t1,
                    "min_margin": min(m1),
                    # tokens before the first step whose top1-top2 margin is below the threshold:
                    # a runtime with slightly different numerics should match at least these.
                    "stable_prefix_len": {str(th): next((i for i, m in enumerate(m1) if m < th), len(m1))
                                          for th in (0.05, 0.1, 0.25, 0.5)},
                })
                log(f"greedy {p['name']}: {results[-1]['generated_text_until_eog']!r} (min margin {min(m1)})")
            del plain
            write_json(out / f"greedy_{q}.json", {
                "metadata": {**meta, "decoding": "argmax over raw logits (ties -> lowest id); prompt in one batch, "
                                                 "then one token per llama_decode; no repetition penalty; "
                                                 "no stop on EOG (first_eog_index marks it)",
                             "n_generated": N_GEN, "deterministic_repeat": True,
                             "matches_llama_cpp_python_sampler": "temp=0 (greedy), repeat_penalty=1.0"},
                "prompts": results,
            })
        del llm

    write_json(out / "tokens_smollm2.json", tokens_doc)
    log(f"done: {sorted(p.name for p in out.iterdir())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
