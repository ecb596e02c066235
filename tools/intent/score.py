#!/usr/bin/env python3
"""Scores speech-to-intent results against a corpus manifest (tools/intent/make_corpus.py).

usage: score.py MANIFEST [NAME=]RESULTS.jsonl ... [--json OUT]

RESULTS lines are `bora intent --json` objects: {"file","understood","intent","slots",
"confidence","transcript","latency_ms"}. An in-context utterance is correct only if it is
understood, its intent equals the label and every labelled slot has the labelled value (extra
slots are not penalised); a missing result counts as not understood. An out-of-context
utterance that is understood is a false accept. Prints accuracy per SNR, the false-accept rate
and latency percentiles, one column per system, and writes the same as JSON with --json.
"""
import json, os, sys


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def correct(label, result):
    if not result or not result.get("understood"):
        return False
    if result.get("intent") != label["intent"]:
        return False
    slots = result.get("slots") or {}
    return all(slots.get(k) == v for k, v in label["slots"].items())


def score(manifest, results):
    by_file = {r["file"]: r for r in results if "file" in r}
    conditions = sorted({m["snr_db"] for m in manifest}, key=lambda s: -1e9 if s is None else -s)
    out = {"accuracy": {}, "false_accept": {}, "n_in_context": {}, "n_out_of_context": {}, "missing": 0}
    for snr in conditions:
        name = "clean" if snr is None else f"{int(snr)} dB"
        inside = [m for m in manifest if m["snr_db"] == snr and m["in_context"]]
        outside = [m for m in manifest if m["snr_db"] == snr and not m["in_context"]]
        out["accuracy"][name] = sum(correct(m, by_file.get(m["file"])) for m in inside) / max(1, len(inside))
        out["false_accept"][name] = sum(bool(by_file.get(m["file"], {}).get("understood")) for m in outside) / max(1, len(outside))
        out["n_in_context"][name] = len(inside)
        out["n_out_of_context"][name] = len(outside)
    inside = [m for m in manifest if m["in_context"]]
    outside = [m for m in manifest if not m["in_context"]]
    out["accuracy_all"] = sum(correct(m, by_file.get(m["file"])) for m in inside) / max(1, len(inside))
    out["false_accept_all"] = sum(bool(by_file.get(m["file"], {}).get("understood")) for m in outside) / max(1, len(outside))
    out["missing"] = sum(m["file"] not in by_file for m in manifest)
    latencies = [r["latency_ms"] for r in results if isinstance(r.get("latency_ms"), (int, float))]
    out["latency_ms"] = {f"p{p}": percentile(latencies, p) for p in (50, 90, 99)}
    out["utterances"] = len(manifest)
    out["contexts"] = len({m["context"] for m in manifest})
    return out


def main(argv):
    json_out = None
    if "--json" in argv:
        i = argv.index("--json"); json_out = argv[i + 1]; del argv[i:i + 2]
    if len(argv) < 2:
        sys.exit(__doc__)
    manifest = load_jsonl(argv[0])
    systems = {}
    for arg in argv[1:]:
        name, _, path = arg.rpartition("=") if "=" in arg else (os.path.splitext(os.path.basename(arg))[0], "", arg)
        systems[name] = score(manifest, load_jsonl(path))
    names = list(systems)
    first = systems[names[0]]
    width = max(14, *(len(n) + 2 for n in names))
    print(f"{len(manifest)} utterances over {first['contexts']} contexts; accuracy on in-context, false accepts on out-of-context")
    print(f"{'condition':<10}{'n in/out':>10}" + "".join(f"{n + ' acc':>{width}}{n + ' FA':>{width}}" for n in names))
    for cond in first["accuracy"]:
        row = f"{cond:<10}{str(first['n_in_context'][cond]) + '/' + str(first['n_out_of_context'][cond]):>10}"
        row += "".join(f"{systems[n]['accuracy'][cond] * 100:>{width - 1}.1f}%{systems[n]['false_accept'][cond] * 100:>{width - 1}.1f}%" for n in names)
        print(row)
    print(f"{'all':<20}" + "".join(f"{systems[n]['accuracy_all'] * 100:>{width - 1}.1f}%{systems[n]['false_accept_all'] * 100:>{width - 1}.1f}%" for n in names))
    for n in names:
        lat = systems[n]["latency_ms"]
        fmt = lambda v: "n/a" if v is None else f"{v:.0f}"
        print(f"{n}: latency p50 {fmt(lat['p50'])} ms, p90 {fmt(lat['p90'])} ms, p99 {fmt(lat['p99'])} ms; missing results {systems[n]['missing']}")
    if json_out:
        with open(json_out, "w") as f:
            json.dump(systems, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
