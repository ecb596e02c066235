#!/usr/bin/env python3
"""tools/whisper/eval.py — Bora's transcripts on the speech corpus vs faster-whisper and the references.

    tools/whisper/eval.py [--model whisper-tiny.en-f16] [--mode full|variable] [--beam N]
                          [--check-identical] [--max-wer-increase P] [--json OUT]

Runs the release `bora transcribe --json --token-ids` over every entry of
Tests/Fixtures/whisper/transcripts.json (jfk.wav, the pocketsphinx-testdata recordings with
transcriptions, the espeak-ng commands; corpus from tools/speech/fetch) and reports, per group:
  - how many files produce exactly faster-whisper's tokens (float32, beam 1, no timestamps),
  - WER against the human references (tools/whisper/wer.py) for Bora and for faster-whisper,
  - mean latency per file.
--check-identical exits 1 unless every file's tokens equal faster-whisper's (the --full-window
greedy contract); --max-wer-increase P exits 1 if Bora's WER on a group exceeds faster-whisper
float32's by more than P points. Standard library only.
"""
import argparse, json, os, subprocess, sys

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import wer as werlib  # noqa: E402

CACHE = os.environ.get("BORA_CACHE", os.path.expanduser("~/.cache/bora"))


def bora_binary():
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO,
                         capture_output=True, text=True).stdout.strip()
    path = os.path.join(out, "bora")
    if not os.access(path, os.X_OK):
        sys.exit(f"eval: {path} missing; run `swift build -c release --product bora` first")
    return path


def transcribe(bora, model, files, extra):
    results = {}
    for raw, group in ((True, [f for f in files if f.endswith(".raw")]), (False, [f for f in files if not f.endswith(".raw")])):
        if not group:
            continue
        cmd = [bora, "transcribe", "--json", "--token-ids", "--model", model] + extra
        cmd += (["--raw-rate", "16000"] if raw else []) + group
        r = subprocess.run(cmd, capture_output=True, text=True)
        for line in r.stdout.splitlines():
            o = json.loads(line)
            results[o["file"]] = o
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            sys.exit(f"eval: bora transcribe exited {r.returncode}")
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="whisper-tiny.en-f16")
    ap.add_argument("--mode", choices=["full", "variable"], default="full")
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--check-identical", action="store_true")
    ap.add_argument("--max-wer-increase", type=float)
    ap.add_argument("--json", help="write the per-file results and summary here")
    a = ap.parse_args()

    fixture = json.load(open(os.path.join(REPO, "Tests", "Fixtures", "whisper", "transcripts.json")))
    entries = fixture["entries"]
    paths = [e["path"].replace("$BORA_CACHE", CACHE) for e in entries]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        sys.exit(f"eval: {len(missing)} corpus files missing (first {missing[0]}); run tools/speech/fetch")
    extra = (["--full-window"] if a.mode == "full" else []) + ["--beam", str(a.beam)]
    results = transcribe(bora_binary(), a.model, paths, extra)

    groups = {}
    for e, p in zip(entries, paths):
        o = results.get(p, {})
        ref_tokens = [t for s in e["segments"] for t in s["tokens"]]
        g = groups.setdefault(e["group"], {"files": 0, "identical": 0, "pairs": [], "fw_pairs": [], "latency": [], "mismatches": []})
        g["files"] += 1
        same = o.get("token_ids") == ref_tokens
        g["identical"] += same
        if not same:
            g["mismatches"].append({"id": e["id"], "bora": o.get("text"), "faster_whisper": e["text"]})
        g["latency"].append(o.get("latency_ms", 0))
        if e.get("reference"):
            g["pairs"].append((e["reference"], o.get("text", "")))
            g["fw_pairs"].append((e["reference"], e["text"]))

    failed = False
    print(f"{a.model}  mode={a.mode}  beam={a.beam}")
    print(f"{'group':<13} {'files':>5} {'same tokens as fw':>18} {'WER bora':>9} {'WER fw f32':>10} {'mean ms':>8}")
    summary = {}
    for name, g in groups.items():
        w_b = werlib.wer(g["pairs"])[0] if g["pairs"] else None
        w_f = werlib.wer(g["fw_pairs"])[0] if g["fw_pairs"] else None
        mean = sum(g["latency"]) / len(g["latency"])
        print(f"{name:<13} {g['files']:>5} {g['identical']:>12}/{g['files']:<5} "
              f"{(f'{100*w_b:.2f}%' if w_b is not None else '-'):>9} {(f'{100*w_f:.2f}%' if w_f is not None else '-'):>10} {mean:>8.1f}")
        summary[name] = {"files": g["files"], "identical": g["identical"], "wer": w_b, "wer_faster_whisper": w_f,
                         "mean_latency_ms": mean, "mismatches": g["mismatches"]}
        if a.check_identical and g["identical"] != g["files"]:
            failed = True
            for m in g["mismatches"]:
                print(f"  differs: {m['id']}\n    bora: {m['bora']!r}\n    fw:   {m['faster_whisper']!r}")
        if a.max_wer_increase is not None and w_b is not None and w_f is not None and 100 * (w_b - w_f) > a.max_wer_increase:
            failed = True
            print(f"  {name}: WER {100*w_b:.2f}% exceeds faster-whisper's {100*w_f:.2f}% by more than {a.max_wer_increase} points")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": a.model, "mode": a.mode, "beam": a.beam, "groups": summary}, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
