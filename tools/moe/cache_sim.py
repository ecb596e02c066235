#!/usr/bin/env python3
"""How many expert reads can any expert cache avoid?  An offline bound for #9's eMMC target.

Replays the exact routing of smollm2-moe over the 256-token fixture text (written by
tools/moe/numpy_reference.py into Tests/Fixtures/moe/exact_moe_<q>.json: for every layer and
position, the two experts float64 math selects) through expert caches of a given size:

  - LRU per layer (what `ExpertStore` does by default) and LRU over all layers;
  - Belady's MIN per layer and over all layers: on a miss, evict the expert whose next use is
    furthest in the future. MIN needs the future, so no real cache can do better; and no
    prefetching policy can fetch fewer experts than MIN with the same capacity (prefetching only
    moves fetches earlier), so MIN's misses are a floor on the bytes any cache must read.

Then it states what the target needs: decode at ≥ `--target-fraction` of the all-resident speed
with reads at `--mbps` means at most  (1 / (fraction × all_resident_tps)) × MBps  bytes read per
token even if every read overlapped compute perfectly, i.e. a minimum hit rate, and compares it
with the MIN hit rate.

Usage:
    python3 tools/moe/cache_sim.py [--routing Tests/Fixtures/moe/exact_moe_q4_0.json]
        [--all-resident-tps 249.6] [--mbps 150] [--target-fraction 0.5] [--json]

The default all-resident speed is `bora bench moe`'s all-mapped figure for smollm2-moe Q4_0
(from the session note of stop 13); pass a fresh one with --all-resident-tps.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import OrderedDict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# ggml block sizes (bytes per 32 weights)
BLOCK_BYTES = {"q4_0": 18, "q8_0": 34}


def lru(requests: list[tuple[int, int]], slots: int) -> int:
    """Misses of an LRU cache of `slots` entries over keyed requests."""
    cache: OrderedDict = OrderedDict()
    misses = 0
    for key in requests:
        if key in cache:
            cache.move_to_end(key)
            continue
        misses += 1
        if len(cache) >= slots:
            cache.popitem(last=False)
        cache[key] = True
    return misses


def lfu(requests: list[tuple[int, int]], slots: int, decay: float = 0.95) -> int:
    """Misses of a least-frequently-used cache whose use counts decay by `decay` per request."""
    cache: set = set()
    count: dict = {}
    misses = 0
    for key in requests:
        for k in count:
            count[k] *= decay
        count[key] = count.get(key, 0.0) + 1.0
        if key in cache:
            continue
        misses += 1
        if len(cache) >= slots:
            cache.remove(min(cache, key=lambda k: count[k]))
        cache.add(key)
    return misses


def pinned(requests: list[tuple[int, int]], slots: int) -> int:
    """Misses when the `slots` most used keys (known in hindsight) stay resident and every other
    use is read (into a scratch slot outside the budget) each time."""
    uses: dict = {}
    for key in requests:
        uses[key] = uses.get(key, 0) + 1
    keep = set(sorted(uses, key=lambda k: -uses[k])[:slots])
    return sum(1 for key in requests if key not in keep) + len(keep)


def belady(requests: list[tuple[int, int]], slots: int) -> int:
    """Misses of Belady's MIN (evict the entry used furthest in the future)."""
    next_use = [0] * len(requests)
    seen: dict = {}
    for i in range(len(requests) - 1, -1, -1):
        next_use[i] = seen.get(requests[i], len(requests) + i)
        seen[requests[i]] = i
    cache: dict = {}  # key -> index of its next use
    misses = 0
    for i, key in enumerate(requests):
        if key not in cache:
            misses += 1
            if len(cache) >= slots:
                victim = max(cache, key=cache.get)
                del cache[victim]
        cache[key] = next_use[i]
    return misses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--routing", default=str(REPO / "Tests/Fixtures/moe/exact_moe_q4_0.json"))
    ap.add_argument("--dim", type=int, default=576)
    ap.add_argument("--expert-ffn", type=int, default=192)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--all-resident-tps", type=float, default=249.6)
    ap.add_argument("--mbps", type=float, default=150.0, help="storage class (eMMC ≈ 150 MB/s)")
    ap.add_argument("--target-fraction", type=float, default=0.5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    try:
        data = json.loads(Path(args.routing).read_text())
    except (OSError, ValueError) as e:
        print(f"cache_sim: cannot read routing file {args.routing}: {e} "
              "(run tools/moe/numpy_reference.py, or pass --routing)", file=sys.stderr)
        return 2
    selected = data["selected"]  # [layer][position][k]
    layers, positions, k = len(selected), len(selected[0]), len(selected[0][0])
    qtype = "q8_0" if "q8_0" in data.get("model_file", "").lower() else "q4_0"
    expert_bytes = 3 * args.dim * args.expert_ffn // 32 * BLOCK_BYTES[qtype]
    uses = layers * positions * k
    # token-major order, as decoding visits them: position, then layer, then rank
    stream = [(l, e) for p in range(positions) for l in range(layers) for e in selected[l][p]]
    per_layer = {l: [(l, e) for p in range(positions) for e in selected[l][p]] for l in range(layers)}

    ms_per_token = 1000.0 / (args.target_fraction * args.all_resident_tps)
    max_bytes = ms_per_token / 1000.0 * args.mbps * 1e6
    needed_hit = 1.0 - max_bytes / expert_bytes / (layers * k)

    rows = []
    for fraction in (1.0, 0.5, 0.25, 0.125):
        slots_layer = max(1, round(fraction * args.experts))
        slots_all = slots_layer * layers
        row = {"budget": fraction, "slots_per_layer": slots_layer}
        row["lru_per_layer"] = sum(lru(per_layer[l], slots_layer) for l in range(layers))
        row["lru_global"] = lru(stream, slots_all)
        row["lfu_per_layer"] = sum(lfu(per_layer[l], slots_layer) for l in range(layers))
        row["pinned_per_layer"] = sum(pinned(per_layer[l], slots_layer) for l in range(layers))
        row["min_per_layer"] = sum(belady(per_layer[l], slots_layer) for l in range(layers))
        row["min_global"] = belady(stream, slots_all)
        # the first touch of every expert is a compulsory miss in any cache (a cold start); the
        # warm figure leaves those out, as if the cache had been filled for free
        row["compulsory"] = len(set(stream))
        rows.append(row)

    report = {
        "routing": args.routing, "type": qtype, "layers": layers, "positions": positions, "k": k,
        "expert_bytes": expert_bytes, "uses": uses,
        "target": {"fraction_of_all_resident": args.target_fraction, "all_resident_tps": args.all_resident_tps,
                   "mbps": args.mbps, "max_ms_per_token": ms_per_token, "max_bytes_per_token": max_bytes,
                   "min_hit_rate": needed_hit},
        "caches": [{**r, **{f"{name}_hit": 1 - r[name] / uses for name in
                            ("lru_per_layer", "lru_global", "lfu_per_layer", "pinned_per_layer",
                                     "min_per_layer", "min_global")},
                    "min_global_warm_hit": 1 - (r["min_global"] - r["compulsory"]) / uses,
                    "min_global_mb_per_token": r["min_global"] * expert_bytes / positions / 1e6,
                    # best decode speed any cache could reach: reads overlap compute perfectly
                    "best_fraction_of_all_resident": min(1.0, args.mbps * 1e6 / (r["min_global"] * expert_bytes / positions)
                                                         / args.all_resident_tps),
                    "best_fraction_warm": min(1.0, args.mbps * 1e6 / (max(1, r["min_global"] - r["compulsory"]) * expert_bytes
                                                                       / positions) / args.all_resident_tps)}
                   for r in rows],
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{Path(args.routing).name}: {layers} layers × {positions} positions × top-{k} = {uses} expert uses; "
          f"one expert (gate+up+down, {qtype}) = {expert_bytes} bytes")
    print(f"target: ≥ {args.target_fraction:.0%} of {args.all_resident_tps} t/s at {args.mbps:g} MB/s → "
          f"≤ {ms_per_token:.2f} ms/token → ≤ {max_bytes / 1e6:.2f} MB read/token even with perfect overlap "
          f"→ hit rate ≥ {needed_hit:.1%}")
    print("hit rates; MIN = Belady's optimal offline policy; 'warm' leaves out the compulsory first touches;")
    print(f"best = the decode speed MIN's reads allow at {args.mbps:g} MB/s, as a fraction of all-resident")
    print("online: LRU (per layer / all layers), LFU (per layer, counts decaying 0.95 per use); hindsight: the")
    print("most used experts of each layer pinned; offline optimum: MIN")
    print(f"{'budget':>7} {'slots/layer':>11} {'LRU/layer':>10} {'LRU all':>8} {'LFU/layer':>10} {'pinned':>7} {'MIN/layer':>10} {'MIN all':>8} "
          f"{'MIN warm':>9} {'MIN MB/token':>13} {'best':>6} {'best warm':>10}")
    for r in report["caches"]:
        print(f"{r['budget']:>7.1%} {r['slots_per_layer']:>11} {r['lru_per_layer_hit']:>10.1%} {r['lru_global_hit']:>8.1%} "
              f"{r['lfu_per_layer_hit']:>10.1%} {r['pinned_per_layer_hit']:>7.1%} "
              f"{r['min_per_layer_hit']:>10.1%} {r['min_global_hit']:>8.1%} {r['min_global_warm_hit']:>9.1%} "
              f"{r['min_global_mb_per_token']:>13.2f} {r['best_fraction_of_all_resident']:>6.0%} {r['best_fraction_warm']:>10.0%}")
    q = next(r for r in report["caches"] if r["budget"] == 0.25)
    # `bora bench moe` starts every case from a cold cache, so the cold figure is the bound that applies
    online = max(q["lru_per_layer_hit"], q["lru_global_hit"], q["lfu_per_layer_hit"], q["pinned_per_layer_hit"])
    print(f"at a 25 % budget the target needs {needed_hit:.1%} hits; the best online or hindsight policy here gets "
          f"{online:.1%} ({'enough' if online >= needed_hit else 'not enough'}); the offline optimum MIN, which knows "
          f"all future routing, gets {q['min_global_hit']:.1%} from a cold cache "
          f"({'enough' if q['min_global_hit'] >= needed_hit else 'not enough'}, and only with every read overlapped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
