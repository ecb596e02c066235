"""Split a dense SwiGLU feed-forward into experts (shared by build.py and the evaluation scripts).

Everything here is plain NumPy, seeded and free of BLAS-order effects where it matters for the
bytes written: the clustering uses float64 similarities rounded to 1e-9 before any comparison,
and the router is a float64 mean cast to float32.
"""
import numpy as np

N_EXPERT = 8
N_USED = 2
SEED = 20261130
KMEANS_ITERS = 25


def _normalize_rows(a):
    n = np.sqrt(np.sum(a * a, axis=1, keepdims=True))
    return a / np.maximum(n, 1e-12)


def balanced_assign(sim, cap):
    """Greedy balanced assignment: (unit, cluster) pairs by descending similarity (stable: ties
    go to the lower unit, then the lower cluster); a unit takes the first cluster with room."""
    n, k = sim.shape
    order = np.argsort(-sim.reshape(-1), kind="stable").tolist()
    labels = [-1] * n
    room = [cap] * k
    left = n
    for flat in order:
        i, c = divmod(flat, k)
        if labels[i] >= 0 or room[c] == 0:
            continue
        labels[i] = c
        room[c] -= 1
        left -= 1
        if left == 0:
            break
    return np.array(labels, dtype=np.int64)


def balanced_kmeans(rows, k, seed=SEED, iters=KMEANS_ITERS):
    """Spherical k-means with exactly len(rows)/k members per cluster. rows: (n, d) float64.
    Returns labels (n,) in 0..k-1. Deterministic for a given seed."""
    n = rows.shape[0]
    if n % k:
        raise ValueError(f"{n} units do not split into {k} equal experts")
    cap = n // k
    x = _normalize_rows(rows.astype(np.float64))
    rng = np.random.default_rng(seed)
    # k-means++ style seeding on cosine distance
    centers = [int(rng.integers(n))]
    for _ in range(1, k):
        sim = np.round(x @ x[centers].T, 9).max(axis=1)
        d = np.maximum(1.0 - sim, 0.0)
        d[centers] = 0.0
        centers.append(int(rng.choice(n, p=d / d.sum())))
    c = x[centers].copy()
    labels = None
    for _ in range(iters):
        new = balanced_assign(np.round(x @ c.T, 9), cap)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        c = _normalize_rows(np.stack([x[labels == e].sum(axis=0) for e in range(k)]))
    return labels


def split_ffn(gate, up, down, *, router_scale, down_scale, n_expert=N_EXPERT, seed=SEED):
    """gate, up: (n_ff, n_embd); down: (n_embd, n_ff) float arrays (numpy order = ggml reversed).

    Returns a dict with numpy-order float32 arrays:
      gate_inp  (n_expert, n_embd)            router; ggml {n_embd, n_expert}
      gate_exps (n_expert, n_ff/E, n_embd)    ggml {n_embd, n_ff/E, n_expert}
      up_exps   (n_expert, n_ff/E, n_embd)    ggml {n_embd, n_ff/E, n_expert}
      down_exps (n_expert, n_embd, n_ff/E)    ggml {n_ff/E, n_embd, n_expert}, times down_scale
      units     (n_expert, n_ff/E)            the dense hidden units of each expert (ascending)
    Router row e = router_scale * mean of expert e's gate rows (the cluster centroid in weight
    space), so its logit is router_scale * the mean gate pre-activation of the expert's units."""
    labels = balanced_kmeans(np.asarray(gate, dtype=np.float64), n_expert, seed)
    units = np.stack([np.flatnonzero(labels == e) for e in range(n_expert)])
    g64 = np.asarray(gate, dtype=np.float64)
    router = np.stack([g64[u].mean(axis=0) for u in units]) * router_scale
    return {
        "gate_inp": router.astype(np.float32),
        "gate_exps": np.ascontiguousarray(np.stack([gate[u] for u in units]), dtype=np.float32),
        "up_exps": np.ascontiguousarray(np.stack([up[u] for u in units]), dtype=np.float32),
        "down_exps": np.ascontiguousarray(
            np.stack([np.asarray(down, dtype=np.float64)[:, u] * down_scale for u in units]),
            dtype=np.float32),
        "units": units,
    }
