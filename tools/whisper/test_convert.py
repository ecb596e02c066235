#!/usr/bin/env python3
"""tools/whisper/test_convert.py — converter test on a synthetic whisper-base-shaped CTranslate2 model.

    tools/.venv/bin/python tools/whisper/test_convert.py

Writes a model.bin in CTranslate2's binary layout (version 6, WhisperSpec rev 3) with base dimensions
(512 wide, 8 heads, 6+6 layers, 2048 FFN, random small fp16 weights, a 600-token vocabulary with the
Whisper specials), converts it to F16/Q8_0/Q4_0 and checks metadata, names, shapes, the QKV split
(including a nonzero k bias, which must be written) and that values round-trip.
"""
import json, os, struct, sys, tempfile
import numpy as np
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import convert  # noqa: E402

D, H, L, FF, MELS, ACTX, TCTX = 512, 8, 6, 2048, 80, 1500, 448


def write_ct2(path, variables, aliases):
    def s(x):
        b = x.encode()
        return struct.pack("<H", len(b) + 1) + b + b"\0"
    ids = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2, np.dtype(np.int32): 3, np.dtype(np.float16): 4}
    with open(path, "wb") as f:
        f.write(struct.pack("<I", 6) + s("WhisperSpec") + struct.pack("<I", 3) + struct.pack("<I", len(variables)))
        for name, a in variables.items():
            a = np.ascontiguousarray(a)
            f.write(s(name) + struct.pack("<B", a.ndim) + b"".join(struct.pack("<I", d) for d in a.shape))
            f.write(struct.pack("<B", ids[a.dtype]) + struct.pack("<I", a.nbytes) + a.tobytes())
        f.write(struct.pack("<I", len(aliases)))
        for a, t in aliases.items():
            f.write(s(a) + s(t))


def make_model(d):
    rng = np.random.default_rng(0)
    r = lambda *shape: (rng.standard_normal(shape) * 0.05).astype(np.float16)  # noqa: E731
    v = {}
    v["decoder/activation"] = np.array(3, np.int8)
    v["decoder/num_heads"] = np.array(H, np.int16)
    v["encoder/num_heads"] = np.array(H, np.int16)
    specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|de|>", "<|translate|>", "<|transcribe|>",
                "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"] + [f"<|{i * 0.02:.2f}|>" for i in range(20)]
    base = [chr(ord("a") + i % 26) * (1 + i // 26) for i in range(600 - len(specials))]
    vocab = base + specials
    V = len(vocab)
    v["decoder/embeddings/weight"] = r(V, D)
    v["decoder/position_encodings/encodings"] = r(TCTX, D)
    v["encoder/position_encodings/encodings"] = r(ACTX, D)
    v["encoder/conv1/weight"], v["encoder/conv1/bias"] = r(D, MELS, 3), r(D)
    v["encoder/conv2/weight"], v["encoder/conv2/bias"] = r(D, D, 3), r(D)
    for side in ("encoder", "decoder"):
        for i in range(L):
            p = f"{side}/layer_{i}"
            names = ["self_attention"] + (["attention"] if side == "decoder" else [])
            for a in names:
                v[f"{p}/{a}/layer_norm/gamma"], v[f"{p}/{a}/layer_norm/beta"] = r(D) + 1, r(D)
            qkv_b = r(3 * D)
            if i != 1:
                qkv_b[D:2 * D] = 0  # k bias zero except layer 1 (must then be written)
            v[f"{p}/self_attention/linear_0/weight"], v[f"{p}/self_attention/linear_0/bias"] = r(3 * D, D), qkv_b
            v[f"{p}/self_attention/linear_1/weight"], v[f"{p}/self_attention/linear_1/bias"] = r(D, D), r(D)
            if side == "decoder":
                kv_b = r(2 * D)
                kv_b[:D] = 0
                v[f"{p}/attention/linear_0/weight"], v[f"{p}/attention/linear_0/bias"] = r(D, D), r(D)
                v[f"{p}/attention/linear_1/weight"], v[f"{p}/attention/linear_1/bias"] = r(2 * D, D), kv_b
                v[f"{p}/attention/linear_2/weight"], v[f"{p}/attention/linear_2/bias"] = r(D, D), r(D)
            v[f"{p}/ffn/layer_norm/gamma"], v[f"{p}/ffn/layer_norm/beta"] = r(D) + 1, r(D)
            v[f"{p}/ffn/linear_0/weight"], v[f"{p}/ffn/linear_0/bias"] = r(FF, D), r(FF)
            v[f"{p}/ffn/linear_1/weight"], v[f"{p}/ffn/linear_1/bias"] = r(D, FF), r(D)
        v[f"{side}/layer_norm/gamma"], v[f"{side}/layer_norm/beta"] = r(D) + 1, r(D)
    v = dict(sorted(v.items()))
    write_ct2(os.path.join(d, "model.bin"), v, {"decoder/projection/weight": "decoder/embeddings/weight"})
    with open(os.path.join(d, "vocabulary.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    tok = {"model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(base)}, "merges": ["a a", "b b"]},
           "added_tokens": [{"id": len(base) + i, "content": t} for i, t in enumerate(specials[:10])]}
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"suppress_ids": [1, 2], "suppress_ids_begin": [220 % V, len(base)], "lang_ids": []}, f)
    return v, vocab


def main():
    import gguf
    with tempfile.TemporaryDirectory() as d:
        v, vocab = make_model(d)
        for t in ("F16", "Q8_0", "Q4_0"):
            out = os.path.join(d, f"base.{t}.gguf")
            convert.convert(d, out, t, "synthetic-base")
            r = gguf.GGUFReader(out)
            f = {k: r.fields[k].contents() for k in r.fields if not k.startswith("GGUF.")}
            assert f["general.architecture"] == "whisper"
            assert (f["whisper.audio.embedding_length"], f["whisper.audio.head_count"], f["whisper.audio.block_count"]) == (D, H, L)
            assert (f["whisper.text.embedding_length"], f["whisper.text.head_count"], f["whisper.text.block_count"]) == (D, H, L)
            assert f["whisper.vocab_size"] == len(vocab) and f["whisper.token.sot"] == vocab.index("<|startoftranscript|>")
            assert f["whisper.token.timestamp_begin"] == vocab.index("<|0.00|>")
            assert f["whisper.lang_ids"] == [vocab.index("<|en|>"), vocab.index("<|de|>")]
            assert f["whisper.is_multilingual"] is False
            T = {x.name: x for x in r.tensors}
            assert list(T["enc.conv2.weight"].shape) == [3 * D, D] and list(T["enc.blk.5.ffn_up.weight"].shape) == [D, FF]
            assert list(T["dec.token_embd.weight"].shape) == [D, len(vocab)]
            assert "enc.blk.1.attn_k.bias" in T and "enc.blk.0.attn_k.bias" not in T
            assert "dec.blk.0.cross_k.bias" not in T and "dec.blk.5.cross_v.bias" in T
            deq = lambda n: gguf.quants.dequantize(T[n].data, T[n].tensor_type).reshape(list(reversed(T[n].shape)))  # noqa: E731
            qkv = v["encoder/layer_3/self_attention/linear_0/weight"].astype(np.float32)
            tol = {"F16": 1e-6, "Q8_0": 2e-3, "Q4_0": 3e-2}[t]
            assert np.max(np.abs(deq("enc.blk.3.attn_v.weight") - qkv[2 * D:])) < tol
            kv = v["decoder/layer_2/attention/linear_1/weight"].astype(np.float32)
            assert np.max(np.abs(deq("dec.blk.2.cross_k.weight") - kv[:D])) < tol
            c = v["encoder/conv1/weight"].astype(np.float32)
            assert np.array_equal(deq("enc.conv1.weight")[7, 5 * 3 + 2], c[7, 5, 2])
            print(f"{t}: OK ({len(r.tensors)} tensors)")
    print("test_convert: all OK")


if __name__ == "__main__":
    main()
