#!/usr/bin/env python3
"""Writes the generated seed inputs of tools/fuzz (deterministic; standard library only, plus
`opusenc` from opus-tools for the Ogg Opus seeds, skipped when absent).

    python3 tools/fuzz/make_seeds.py tools/fuzz/seeds [json]   (json: only the JSON seeds)

gguf/    (written to Tests/Fixtures/fuzz-seeds/gguf: model files live with the fixtures) tiny GGUFs
         written here byte by byte (every value type, nested arrays, a GPT-2 BPE and a
         SentencePiece vocabulary, tensors of each common type, v2/v3, alignment) + the two
         Tests/Fixtures/gguf files
audio/   WAV in every sample format Bora reads (u8, s16, s24, s32, f32, f64, extensible,
         stereo, odd rates, RIFX/RF64 headers), Ogg Opus by opusenc, raw s16le (0x00, rate byte, samples)
context/ the example contexts of Models/contexts, each intent alone, and small contexts for each
         grammar feature
actions/ Models/actions/smart_lights.yaml and one file per actions-file feature
json/    every input of Tests/Fixtures/json/cases.txt and Models/catalog.json
The yaml harness's seeds are Tests/Fixtures/yaml (PyYAML's goldens and their inputs).
The audit seeds are written by the audit harness itself (AuditLog): tools/fuzz/fuzz seeds.
"""
import math
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- GGUF
T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 = range(13)
SCALAR = {T_U8: "<B", T_I8: "<b", T_U16: "<H", T_I16: "<h", T_U32: "<I", T_I32: "<i", T_F32: "<f",
          T_BOOL: "<?", T_U64: "<Q", T_I64: "<q", T_F64: "<d"}


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gval(t, v, sub=None):
    if t == T_STR:
        return gstr(v)
    if t == T_ARR:
        out = struct.pack("<IQ", sub[0], len(v))
        for item in v:
            out += gval(sub[0], item, sub[1:] if len(sub) > 1 else None)
        return out
    return struct.pack(SCALAR[t], v)


# ggml type id → (block size, bytes per block)
QT = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 8: (32, 34), 12: (256, 144), 14: (256, 210), 30: (1, 2)}


def gguf(kvs, tensors=(), version=3, alignment=32, count_override=None):
    """kvs: [(key, type, value, sub)]; tensors: [(name, shape, type)] with deterministic data."""
    out = struct.pack("<IIQQ", 0x46554747, version, len(tensors) if count_override is None else count_override, len(kvs))
    for key, t, v, sub in kvs:
        out += gstr(key) + struct.pack("<I", t) + gval(t, v, sub)
    offset, infos, datas = 0, b"", b""
    for name, shape, qt in tensors:
        n = 1
        for d in shape:
            n *= d
        bs, bpb = QT[qt]
        size = n // bs * bpb
        offset = (offset + alignment - 1) // alignment * alignment
        infos += gstr(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        infos += struct.pack("<IQ", qt, offset)
        datas += b"\0" * (offset - len(datas)) + bytes((i * 37 + 11) & 0x7F for i in range(size))
        offset += size
    out += infos
    out += b"\0" * ((-len(out)) % alignment)
    return out + datas


def gguf_seeds(d):
    d.mkdir(parents=True, exist_ok=True)
    for f in (ROOT / "Tests/Fixtures/gguf").glob("*.gguf"):
        shutil.copy(f, d / f.name)
    (d / "empty-v3.gguf").write_bytes(gguf([]))
    (d / "empty-v2.gguf").write_bytes(gguf([], version=2))
    scalars = [("t.u8", T_U8, 255, None), ("t.i8", T_I8, -128, None), ("t.u16", T_U16, 65535, None),
               ("t.i16", T_I16, -1, None), ("t.u32", T_U32, 2**32 - 1, None), ("t.i32", T_I32, -2**31, None),
               ("t.f32", T_F32, 1.5, None), ("t.bool", T_BOOL, True, None), ("t.str", T_STR, "héllo", None),
               ("t.u64", T_U64, 2**64 - 1, None), ("t.i64", T_I64, -2**63, None), ("t.f64", T_F64, math.pi, None)]
    (d / "scalars.gguf").write_bytes(gguf([("general.architecture", T_STR, "llama", None)] + scalars))
    arrays = [("a.u8", T_ARR, [1, 2, 3], [T_U8]), ("a.str", T_ARR, ["a", "", "ccc"], [T_STR]),
              ("a.f32", T_ARR, [0.5, -1.0], [T_F32]), ("a.nested", T_ARR, [[1, 2], [3]], [T_ARR, T_I32]),
              ("a.empty", T_ARR, [], [T_U64]), ("a.bool", T_ARR, [True, False], [T_BOOL])]
    (d / "arrays.gguf").write_bytes(gguf(arrays))
    (d / "align64.gguf").write_bytes(gguf([("general.alignment", T_U32, 64, None)],
                                          [("w", [64, 2], 0)], alignment=64))
    (d / "align-odd.gguf").write_bytes(gguf([("general.alignment", T_U32, 48, None)], [("w", [8], 0)], alignment=48))
    for qt in QT:
        bs = QT[qt][0]
        (d / f"tensor-type{qt}.gguf").write_bytes(gguf([("general.architecture", T_STR, "llama", None)],
                                                      [("blk.0.attn_q.weight", [bs * 2, 3], qt), ("output_norm.weight", [bs], qt)]))
    (d / "tensors-4d.gguf").write_bytes(gguf([], [("x", [2, 3, 4, 5], 0), ("y", [1], 1), ("z", [32, 1, 1, 2], 8)]))
    # A byte-level BPE vocabulary (tokenizer.ggml.model gpt2) over the 256 byte symbols plus merges.
    byte_syms = [chr(c) if 33 <= c <= 126 else chr(0x100 + c) for c in range(256)]
    toks = byte_syms + ["Ġt", "he", "Ġthe", "ll", "Ġw", "or", "ld", "Ġworld", "<|endoftext|>"]
    merges = ["Ġ t", "h e", "Ġt he", "l l", "Ġ w", "o r", "l d", "Ġw or", "Ġwor ld"]
    bpe = [("general.architecture", T_STR, "llama", None), ("tokenizer.ggml.model", T_STR, "gpt2", None),
           ("tokenizer.ggml.pre", T_STR, "smollm", None), ("tokenizer.ggml.tokens", T_ARR, toks, [T_STR]),
           ("tokenizer.ggml.token_type", T_ARR, [1] * (len(toks) - 1) + [3], [T_I32]),
           ("tokenizer.ggml.merges", T_ARR, merges, [T_STR]),
           ("tokenizer.ggml.bos_token_id", T_U32, len(toks) - 1, None), ("tokenizer.ggml.eos_token_id", T_U32, len(toks) - 1, None)]
    (d / "tokenizer-bpe.gguf").write_bytes(gguf(bpe))
    for pre in ["gpt-2", "llama3", "qwen2", "default"]:
        (d / f"tokenizer-bpe-{pre}.gguf").write_bytes(gguf([kv if kv[0] != "tokenizer.ggml.pre" else (kv[0], T_STR, pre, None) for kv in bpe]))
    spm_toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + ["▁", "▁the", "▁world", "he", "llo", "▁he", "▁hello"]
    spm = [("general.architecture", T_STR, "llama", None), ("tokenizer.ggml.model", T_STR, "llama", None),
           ("tokenizer.ggml.tokens", T_ARR, spm_toks, [T_STR]),
           ("tokenizer.ggml.scores", T_ARR, [0.0] * 259 + [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0], [T_F32]),
           ("tokenizer.ggml.token_type", T_ARR, [2, 3, 3] + [6] * 256 + [1] * 7, [T_I32]),
           ("tokenizer.ggml.bos_token_id", T_U32, 1, None), ("tokenizer.ggml.eos_token_id", T_U32, 2, None),
           ("tokenizer.ggml.unknown_token_id", T_U32, 0, None), ("tokenizer.ggml.add_bos_token", T_BOOL, True, None)]
    (d / "tokenizer-spm.gguf").write_bytes(gguf(spm))
    # Small wrongs the reader must reject with an error: counts past the end, a bad type, an
    # offset past the data, a tensor not aligned, a truncated header.
    (d / "bad-count.gguf").write_bytes(gguf([("k", T_U8, 1, None)], count_override=1 << 40))
    (d / "truncated.gguf").write_bytes(gguf(scalars)[:60])
    bad_type = bytearray(gguf([("k", T_U8, 1, None)]))
    bad_type[24 + 8 + 1] = 99
    (d / "bad-type.gguf").write_bytes(bytes(bad_type))


# ---------------------------------------------------------------- audio
def riff(fmt_tag, channels, rate, bits, frames, extensible=False, magic=b"RIFF", big=False, extra_chunk=False):
    e = ">" if big else "<"
    block = channels * bits // 8
    if extensible:
        fmt = struct.pack(e + "HHIIHH", 0xFFFE, channels, rate, rate * block, block, bits)
        fmt += struct.pack(e + "HHI", 22, bits, 3 if channels == 2 else 4)
        fmt += struct.pack(e + "IHH", fmt_tag, 0x0000, 0x0010) + bytes([0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71])
    else:
        fmt = struct.pack(e + "HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    data = b""
    for i in range(frames):
        x = math.sin(i * 2 * math.pi * 440 / rate) * 0.5
        for c in range(channels):
            if fmt_tag == 3:
                data += struct.pack(e + ("f" if bits == 32 else "d"), x)
            elif bits == 8:
                data += bytes([int(128 + x * 127)])
            elif bits == 24:
                v = int(x * 8388607) & 0xFFFFFF
                data += v.to_bytes(3, "big" if big else "little")
            else:
                data += struct.pack(e + {16: "h", 32: "i"}[bits], int(x * (2 ** (bits - 1) - 1)))
    body = b"WAVE" + b"fmt " + struct.pack(e + "I", len(fmt)) + fmt
    if extra_chunk:
        body += b"LIST" + struct.pack(e + "I", 5) + b"INFOx\0"
    body += b"data" + struct.pack(e + "I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return magic + struct.pack(e + "I", len(body)) + body


def audio_seeds(d):
    d.mkdir(parents=True, exist_ok=True)
    (d / "s16-16k.wav").write_bytes(riff(1, 1, 16000, 16, 400))
    (d / "s16-stereo-44k.wav").write_bytes(riff(1, 2, 44100, 16, 300))
    (d / "u8-8k.wav").write_bytes(riff(1, 1, 8000, 8, 301))
    (d / "s24-48k.wav").write_bytes(riff(1, 1, 48000, 24, 200))
    (d / "s32-22k.wav").write_bytes(riff(1, 1, 22050, 32, 200))
    (d / "f32-16k.wav").write_bytes(riff(3, 1, 16000, 32, 200))
    (d / "f64-16k.wav").write_bytes(riff(3, 1, 16000, 64, 100))
    (d / "ext-s16-stereo.wav").write_bytes(riff(1, 2, 16000, 16, 200, extensible=True))
    (d / "ext-f32-3ch.wav").write_bytes(riff(3, 3, 32000, 32, 100, extensible=True))
    (d / "list-chunk.wav").write_bytes(riff(1, 1, 16000, 16, 101, extra_chunk=True))
    (d / "rifx.wav").write_bytes(riff(1, 1, 16000, 16, 100, magic=b"RIFX", big=True))
    (d / "rf64.wav").write_bytes(riff(1, 1, 16000, 16, 100, magic=b"RF64"))
    (d / "odd-rate.wav").write_bytes(riff(1, 1, 12345, 16, 100))
    (d / "empty-data.wav").write_bytes(riff(1, 1, 16000, 16, 0))
    for rate_byte, name in [(0, "8k"), (2, "16k"), (5, "48k")]:
        samples = b"".join(struct.pack("<h", int(math.sin(i / 5) * 9000)) for i in range(300))
        (d / f"raw-{name}.s16le").write_bytes(bytes([0, rate_byte]) + samples)
    if shutil.which("opusenc"):
        with tempfile.TemporaryDirectory() as t:
            for rate, secs, extra in [(16000, 0.1, []), (48000, 0.06, ["--bitrate", "12"]), (8000, 0.2, ["--framesize", "60"])]:
                wav = Path(t) / "in.wav"
                wav.write_bytes(riff(1, 1, rate, 16, int(rate * secs)))
                out = d / f"opus-{rate // 1000}k.opus"
                subprocess.run(["opusenc", "--quiet", "--serial", "1", *extra, str(wav), str(out)], check=True)
    else:
        print("opusenc not found: no Ogg Opus seeds (apt-get install opus-tools)", file=sys.stderr)


# ---------------------------------------------------------------- context
CONTEXT_FEATURES = {
    "minimal.yaml": "context:\n  expressions:\n    hello:\n      - \"hello\"\n",
    "slot.yaml": "context:\n  expressions:\n    go:\n      - \"go to the $place:where\"\n  slots:\n    place:\n      - \"kitchen\"\n      - \"living room\"\n",
    "choice-optional.yaml": "context:\n  expressions:\n    light:\n      - \"[turn, switch] (the) lights [on, off]\"\n      - \"(please) (turn) off (the (kitchen)) light\"\n",
    "macro.yaml": "context:\n  expressions:\n    move:\n      - \"@verb (the) robot @dir\"\n  macros:\n    verb:\n      - \"move\"\n      - \"drive\"\n    dir:\n      - \"[left, right, forward]\"\n      - \"back (up)\"\n",
    "builtins.yaml": "context:\n  expressions:\n    set:\n      - \"set volume to $pv.Percent:level\"\n      - \"channel $pv.TwoDigitInteger:ch\"\n      - \"digit $pv.SingleDigitInteger:d\"\n      - \"letter $pv.Alphabetic:l\"\n",
    "flow-style.yaml": "context: {expressions: {a: [\"alpha [bravo, charlie]\"], b: [\"delta $s:x\"]}, slots: {s: [echo, foxtrot]}}\n",
    "numbers.yaml": "context:\n  expressions:\n    call:\n      - \"call unit 42\"\n      - \"temperature 21 degrees\"\n      - \"it's 50% done!\"\n",
    "nested.yaml": "context:\n  expressions:\n    deep:\n      - \"a ((b [c, (d e)]) [f, g (h)]) i\"\n",
    "anchors.yaml": "context:\n  expressions:\n    a: &x\n      - \"one two\"\n    b: *x\n",
    "slot-multiword.yaml": "context:\n  expressions:\n    play:\n      - \"play $song:title by $artist:who\"\n  slots:\n    song:\n      - \"yellow submarine\"\n      - \"let it be\"\n    artist:\n      - \"the beatles\"\n",
    "macro-chain.yaml": "context:\n  expressions:\n    go:\n      - \"go @m2\"\n  macros:\n    m0: [\"a\", \"b\"]\n    m1: [\"@m0 @m0\"]\n    m2: [\"@m1 @m1\"]\n",
    "unicode.yaml": "context:\n  expressions:\n    greet:\n      - \"grüß gott\"\n      - \"café au lait\"\n",
}


def context_seeds(d):
    d.mkdir(parents=True, exist_ok=True)
    for f in sorted((ROOT / "Models/contexts").glob("*.yaml")):
        text = f.read_text()
        (d / f.name).write_text(text)
        # Each intent alone with all slots and macros: shorter seeds under the harness's -max_len.
        lines = text.splitlines()
        try:
            start = lines.index("  expressions:")
        except ValueError:
            continue
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  ") and not lines[i].startswith("    ")), len(lines))
        blocks, cur = [], None
        for line in lines[start + 1:end]:
            if line.startswith("    ") and not line.startswith("      "):
                cur = [line]
                blocks.append(cur)
            elif cur is not None:
                cur.append(line)
        head, tail = lines[:start + 1], lines[end:]
        for i, block in enumerate(blocks[:3]):
            (d / f"{f.stem}-intent{i}.yaml").write_text("\n".join(head + block + tail) + "\n")
    for name, text in CONTEXT_FEATURES.items():
        (d / name).write_text(text)


# ---------------------------------------------------------------- actions
ACTION_FEATURES = {
    "exec.yaml": "actions:\n  - intent: changeLightState\n    exec: [\"/usr/bin/logger\", \"-t\", \"bora\", \"{state}\", \"{location}\"]\n",
    "when.yaml": "actions:\n  - intent: changeLightState\n    when: {state: \"on\", location: kitchen}\n    exec: [\"/bin/true\"]\n  - intent: changeLightState\n    emit: json\n",
    "confirm.yaml": "actions:\n  - intent: changeColor\n    exec: [\"/usr/bin/env\", \"{color}\"]\n    confirm: true\n    confirm_timeout_s: 7.5\n    min_confidence: 0.8\n",
    "socket.yaml": "actions:\n  - intent: changeIntensity\n    socket: /run/bora/events.sock\n    timeout_s: 0.5\n    cooldown_s: 3\n",
    "env-user.yaml": "actions:\n  - intent: changeLightState\n    exec: [\"/bin/echo\", \"{location}\"]\n    env: {LANG: C, FOO: \"bar baz\"}\n    user: nobody\n    group: nogroup\n",
    "dry-run.yaml": "dry_run: true\nactions:\n  - intent: changeLightState\n    emit: json\n",
    "flow.yaml": "actions: [{intent: changeColor, emit: json}, {intent: changeLightState, exec: [/bin/true], dry_run: true}]\n",
    "empty.yaml": "actions: []\n",
    "bad-relative.yaml": "actions:\n  - intent: changeLightState\n    exec: [\"logger\", \"x\"]\n",
    "unknown-slot.yaml": "actions:\n  - intent: changeLightState\n    exec: [\"/bin/echo\", \"{nope}\"]\n    when: {nope: x}\n",
    "anchors.yaml": "base: &b\n  exec: [\"/bin/true\"]\n  timeout_s: 2\nactions:\n  - intent: changeLightState\n    <<: *b\n",
}


def actions_seeds(d):
    d.mkdir(parents=True, exist_ok=True)
    for f in sorted((ROOT / "Models/actions").glob("*.yaml")):
        shutil.copy(f, d / f.name)
    for name, text in ACTION_FEATURES.items():
        (d / name).write_text(text)


def json_seeds(out):
    """Every input of Tests/Fixtures/json/cases.txt (valid and refused), one file each, plus the
    catalog as a large real document."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for i, line in enumerate((ROOT / "Tests/Fixtures/json/cases.txt").read_text().splitlines()):
        fields = line.split(" ")
        if len(fields) >= 2:
            (out / f"case-{i:03d}.json").write_bytes(bytes.fromhex(fields[1]))
    shutil.copy(ROOT / "Models/catalog.json", out / "catalog.json")


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "tools/fuzz/seeds")
    if len(sys.argv) > 2 and sys.argv[2] == "json":   # just the JSON seeds
        json_seeds(out / "json")
        return
    json_seeds(out / "json")
    gguf_seeds(ROOT / "Tests/Fixtures/fuzz-seeds/gguf")
    audio_seeds(out / "audio")
    context_seeds(out / "context")
    actions_seeds(out / "actions")


if __name__ == "__main__":
    main()
