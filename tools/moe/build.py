#!/usr/bin/env python3
"""tools/moe/build.py — build the Mixture-of-Experts test model `smollm2-moe` from the dense
SmolLM2-135M-Instruct GGUF (general.architecture = llama, as llama.cpp's LLM_ARCH_LLAMA expects).

    tools/.venv/bin/python tools/moe/build.py PARENT.gguf OUT.gguf --type {Q4_0,Q8_0}

Each layer's SwiGLU feed-forward (1536 hidden units) is split into 8 experts of 192 units by a
balanced spherical k-means over the unit's gate rows (seeded; exactly 192 units per expert, the
units of an expert in ascending dense order); the router row of an expert is ROUTER_SCALE times
the mean of its units' gate rows (the cluster centroid in weight space), and the down-projection
of every expert is multiplied by DOWN_SCALE (see tools/moe/README.md for how both were chosen).

Output layout (see README): dense blk.N.ffn_{gate,up,down}.weight are replaced by
blk.N.ffn_gate_inp.weight F32 {576, 8}, blk.N.ffn_{gate,up}_exps.weight {576, 192, 8} and
blk.N.ffn_down_exps.weight {192, 576, 8} (ggml order) in the target type; attention matrices are
re-quantized to the target type; token_embd.weight (also the tied output) is Q8_0; norms F32.
Metadata is copied from the parent except llama.feed_forward_length = 192 (per expert),
llama.expert_count = 8, llama.expert_used_count = 2 (added) and general.file_type.

Deterministic: the same parent gives the same bytes. The file is written to a temp name, read
back and checked (names, shapes, types, metadata, expert contents) and only then renamed.
"""
import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import gguf

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import moe_split  # noqa: E402

ROUTER_SCALE = 1.0
DOWN_SCALE = 2.0
FILE_TYPES = {"Q8_0": 7, "Q4_0": 2}  # llama_ftype MOSTLY_Q8_0, MOSTLY_Q4_0
EMBED_TYPE = gguf.GGMLQuantizationType.Q8_0
DENSE = ("ffn_gate", "ffn_up", "ffn_down")


class BuildError(Exception):
    """A user-facing error: one line, exit code 1."""


def _str(field):
    return bytes(field.parts[-1]).decode("utf-8")


def _copy_kv(reader, writer, file_type, n_ff_expert):
    VT = gguf.GGUFValueType
    for field in reader.fields.values():
        key = field.name
        t0 = field.types[0]
        if key.startswith("GGUF.") or key == "general.architecture":
            continue  # header fields / written by GGUFWriter.__init__
        if key in ("llama.expert_count", "llama.expert_used_count"):
            raise BuildError(f"parent already has {key}: it is not a dense model")
        if key == "general.file_type":
            writer.add_key_value(key, file_type, VT.UINT32)
        elif key == "general.alignment":
            writer.add_custom_alignment(int(field.parts[-1][0]))
        elif key == "llama.feed_forward_length":
            writer.add_key_value(key, n_ff_expert, VT.UINT32)
            writer.add_key_value("llama.expert_count", moe_split.N_EXPERT, VT.UINT32)
            writer.add_key_value("llama.expert_used_count", moe_split.N_USED, VT.UINT32)
        elif t0 == VT.STRING:
            writer.add_key_value(key, bytes(field.parts[-1]), VT.STRING)
        elif t0 == VT.ARRAY:
            sub = field.types[1]
            val = [bytes(field.parts[i]) for i in field.data] if sub == VT.STRING else field.contents()
            writer.add_key_value(key, val, VT.ARRAY, sub_type=sub)
        else:
            writer.add_key_value(key, field.contents(), t0)


def _deq(t):
    a = gguf.quants.dequantize(t.data, t.tensor_type)
    return a.reshape([int(x) for x in reversed(t.shape)]).astype(np.float32, copy=False)


def _is_matrix(t):
    Q = gguf.GGMLQuantizationType
    return len(t.shape) >= 2 and t.tensor_type not in (Q.F32, Q.F64, Q.I8, Q.I16, Q.I32, Q.I64)


def build(src, dest, type_name, log=lambda m: print(m, file=sys.stderr, flush=True)):
    """Write the MoE GGUF for `src` to `dest` (atomically). Returns a dict of facts for the log."""
    if type_name not in FILE_TYPES:
        raise BuildError(f"unsupported type {type_name!r} (supported: {', '.join(FILE_TYPES)})")
    qtype = gguf.GGMLQuantizationType[type_name]
    t_start = time.monotonic()
    reader = gguf.GGUFReader(src)
    if reader.get_field("general.architecture") is None or _str(reader.get_field("general.architecture")) != "llama":
        raise BuildError(f"{src}: general.architecture is not llama")
    n_layer = int(reader.get_field("llama.block_count").contents())
    n_ff = int(reader.get_field("llama.feed_forward_length").contents())
    n_embd = int(reader.get_field("llama.embedding_length").contents())
    E = moe_split.N_EXPERT
    if n_ff % (E * 32):
        raise BuildError(f"{src}: feed_forward_length {n_ff} does not split into {E} experts of a multiple of 32")
    n_ffe = n_ff // E
    by_name = {t.name: t for t in reader.tensors}
    for l in range(n_layer):
        for d in DENSE:
            if f"blk.{l}.{d}.weight" not in by_name:
                raise BuildError(f"{src}: missing blk.{l}.{d}.weight")

    logging.getLogger("gguf").setLevel(logging.WARNING)
    writer = gguf.GGUFWriter(None, "llama")
    _copy_kv(reader, writer, FILE_TYPES[type_name], n_ffe)

    def info(name, np_shape, ty):
        if ty in (gguf.GGMLQuantizationType.F32,):
            writer.add_tensor_info(name, np_shape, np.dtype(np.float32), int(np.prod(np_shape)) * 4)
        else:
            bshape = gguf.quant_shape_to_byte_shape(np_shape, ty)
            writer.add_tensor_info(name, bshape, np.dtype(np.uint8), int(np.prod(bshape)), raw_dtype=ty)

    # plan: (name, kind, payload); kinds: copy, requant, embed, moe (payload = (layer, which))
    plan, expect = [], []
    for t in reader.tensors:
        parts = t.name.split(".")
        if len(parts) == 4 and parts[0] == "blk" and parts[2] in DENSE:
            if parts[2] != "ffn_gate":
                continue
            l = int(parts[1])
            for which, shp, ty in (("gate_inp", (E, n_embd), gguf.GGMLQuantizationType.F32),
                                   ("gate_exps", (E, n_ffe, n_embd), qtype),
                                   ("up_exps", (E, n_ffe, n_embd), qtype),
                                   ("down_exps", (E, n_embd, n_ffe), qtype)):
                name = f"blk.{l}.ffn_{which}.weight"
                info(name, shp, ty)
                plan.append((name, "moe", (l, which, ty)))
                expect.append((name, list(reversed(shp)), ty))
            continue
        np_shape = tuple(int(x) for x in reversed(t.shape))
        if t.name == "token_embd.weight":
            ty, kind = EMBED_TYPE, ("copy" if t.tensor_type == EMBED_TYPE else "requant")
        elif _is_matrix(t):
            ty, kind = qtype, ("copy" if t.tensor_type == qtype else "requant")
        else:
            ty, kind = t.tensor_type, "copy"
        if kind == "copy":
            raw = None if t.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16) else t.tensor_type
            writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, raw_dtype=raw)
        else:
            info(t.name, np_shape, ty)
        plan.append((t.name, kind, (t, ty)))
        expect.append((t.name, [int(x) for x in t.shape], ty))

    tmp = os.path.join(os.path.dirname(os.path.abspath(dest)), f".{os.path.basename(dest)}.tmp-{os.getpid()}")
    splits = {}
    t_split = 0.0
    try:
        writer.write_header_to_file(path=Path(tmp))
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for name, kind, payload in plan:
            if kind == "moe":
                l, which, ty = payload
                if l not in splits:
                    splits.clear()
                    t0 = time.monotonic()
                    p = f"blk.{l}."
                    splits[l] = moe_split.split_ffn(_deq(by_name[p + "ffn_gate.weight"]), _deq(by_name[p + "ffn_up.weight"]),
                                                    _deq(by_name[p + "ffn_down.weight"]),
                                                    router_scale=ROUTER_SCALE, down_scale=DOWN_SCALE)
                    t_split += time.monotonic() - t0
                a = splits[l][which]
                data = a if ty == gguf.GGMLQuantizationType.F32 else gguf.quants.quantize(a, ty)
            else:
                t, ty = payload
                data = t.data if kind == "copy" else gguf.quants.quantize(_deq(t), ty)
            writer.write_tensor_data(np.ascontiguousarray(data))
        writer.close()
        check(tmp, reader, expect, n_ffe, qtype)
        os.replace(tmp, dest)
    finally:
        writer.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    secs = time.monotonic() - t_start
    log(f"    wrote {dest} ({os.path.getsize(dest) / 2**20:.1f} MB, {type_name}) in {secs:.1f}s "
        f"(clustering {t_split:.1f}s); re-read OK: names, shapes, types, metadata, experts")
    return {"seconds": secs, "clustering_seconds": t_split}


def check(path, parent, expect, n_ffe, qtype):
    """Re-read the written file: tensor names/shapes/types, metadata, and one layer's experts."""
    r = gguf.GGUFReader(path)
    got = [(t.name, [int(x) for x in t.shape], t.tensor_type) for t in r.tensors]
    if got != expect:
        bad = next((g, e) for g, e in zip(got + [None] * len(expect), expect) if g != e)
        raise BuildError(f"self-check: tensor table differs from the plan at {bad}")
    pf = [k for k in parent.fields if not k.startswith("GGUF.")]
    of = [k for k in r.fields if not k.startswith("GGUF.")]
    i = pf.index("llama.feed_forward_length")
    if of != pf[:i + 1] + ["llama.expert_count", "llama.expert_used_count"] + pf[i + 1:]:
        raise BuildError("self-check: metadata keys differ from the parent's plus the two expert keys")
    for k in pf:
        if k in ("llama.feed_forward_length", "general.file_type"):
            continue
        a, b = parent.fields[k], r.fields[k]
        if a.types != b.types or b"".join(bytes(a.parts[j]) for j in a.data) != b"".join(bytes(b.parts[j]) for j in b.data):
            raise BuildError(f"self-check: metadata {k} changed")
    c = lambda k: int(r.get_field(k).contents())
    if (c("llama.feed_forward_length"), c("llama.expert_count"), c("llama.expert_used_count"),
            c("general.file_type")) != (n_ffe, moe_split.N_EXPERT, moe_split.N_USED, FILE_TYPES[qtype.name]):
        raise BuildError("self-check: expert metadata values are wrong")
    # experts of layer 0 against a fresh split of the parent (units, scale, layout)
    pt = {t.name: t for t in parent.tensors}
    ot = {t.name: t for t in r.tensors}
    s = moe_split.split_ffn(_deq(pt["blk.0.ffn_gate.weight"]), _deq(pt["blk.0.ffn_up.weight"]),
                            _deq(pt["blk.0.ffn_down.weight"]), router_scale=ROUTER_SCALE, down_scale=DOWN_SCALE)
    if not np.array_equal(_deq(ot["blk.0.ffn_gate_inp.weight"]), s["gate_inp"]):
        raise BuildError("self-check: router of layer 0 differs")
    units = s["units"]
    if sorted(units.reshape(-1).tolist()) != list(range(n_ffe * moe_split.N_EXPERT)):
        raise BuildError("self-check: experts do not partition the hidden units")
    dense_gate = _deq(pt["blk.0.ffn_gate.weight"])
    dense_down = _deq(pt["blk.0.ffn_down.weight"])
    ge, de = _deq(ot["blk.0.ffn_gate_exps.weight"]), _deq(ot["blk.0.ffn_down_exps.weight"])
    tol = 0.2 if qtype == gguf.GGMLQuantizationType.Q4_0 else 0.02  # relative RMS error of the re-quantization
    for e in (0, moe_split.N_EXPERT - 1):
        for a, b in ((ge[e], dense_gate[units[e]]), (de[e], dense_down[:, units[e]] * DOWN_SCALE)):
            err = np.sqrt(np.mean((a - b) ** 2) / np.mean(b ** 2))
            if err > tol:
                raise BuildError(f"self-check: expert {e} of layer 0 does not match the dense units (rel. RMS {err:.3f})")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("parent")
    ap.add_argument("out")
    ap.add_argument("--type", required=True, choices=sorted(FILE_TYPES))
    args = ap.parse_args()
    try:
        build(args.parent, args.out, args.type)
    except BuildError as e:
        print(f"tools/moe/build.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
