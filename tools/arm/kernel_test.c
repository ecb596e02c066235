// kernel_test — checks every CBoraKernels set on this CPU against the "scalar" set, and the
// scalar set against an independent double-precision dequantize-then-dot reference.
//
//   kernel_test            run the checks; one line per (set, type, check); exit 1 on failure
//   kernel_test --expect-best NAME --expect-missing A,B
//                          also check which set bora_kernel_set_get(NULL) picks and that the
//                          named sets are refused with -2 (used by tools/arm/run under qemu)
//   kernel_test --bench    single- and two-thread GEMV throughput (GB/s of weights)
//
// Tolerances (one per type, relative to sum|terms| = the sum of |w_i*a_i| over the terms the
// kernel actually adds, e.g. d*sc*q*a and dmin*m*a separately for Q4_K):
//   quantized types 1e-5: the per-block integer dots are exact, only the f32 summation order
//                         of the scaled block results differs between sets;
//   F16/BF16/F32    5e-5: every product is rounded in f32 and summed in a different order;
//                         n up to ~2k elements.
// Quantize checks: d (and Q8_K's d) must match bit for bit; a q may differ by +-1 (would come
// from float rounding differences; counted and reported, expected 0); s and bsums must equal
// what the block's own q give.
#define _GNU_SOURCE
#include "bora_kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// ---------------------------------------------------------------- random data

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint64_t xorshift(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)((xorshift() >> 40) * (1.0 / 16777216.0)); }
static float gauss(void) { return uniform(-1, 1) + uniform(-1, 1) + uniform(-1, 1); }

// ---------------------------------------------------------------- type table

typedef struct {
    int type;
    const char *name;
    size_t block_elems, block_bytes;
    double tol;
} type_info;

static const type_info k_weight_types[] = {
    {BORA_TYPE_Q4_0, "q4_0", 32, 18, 1e-5},  {BORA_TYPE_Q4_1, "q4_1", 32, 20, 1e-5},
    {BORA_TYPE_Q5_0, "q5_0", 32, 22, 1e-5},  {BORA_TYPE_Q8_0, "q8_0", 32, 34, 1e-5},
    {BORA_TYPE_Q4_K, "q4_K", 256, 144, 1e-5}, {BORA_TYPE_Q6_K, "q6_K", 256, 210, 1e-5},
    {BORA_TYPE_F16, "f16", 1, 2, 5e-5},      {BORA_TYPE_BF16, "bf16", 1, 2, 5e-5},
    {BORA_TYPE_F32, "f32", 1, 4, 5e-5},
};
enum { N_WTYPES = sizeof k_weight_types / sizeof k_weight_types[0] };

static size_t act_block_bytes(int t) {
    switch (t) {
    case BORA_TYPE_Q8_0: return 34;
    case BORA_TYPE_Q8_1: return 36;
    case BORA_TYPE_Q8_K: return 292;
    default: return 4;   // f32
    }
}
static size_t act_block_elems(int t) {
    return t == BORA_TYPE_Q8_K ? 256 : (t == BORA_TYPE_Q8_0 || t == BORA_TYPE_Q8_1) ? 32 : 1;
}

static const size_t k_lengths[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 255, 257};   // in blocks
enum { N_LENGTHS = sizeof k_lengths / sizeof k_lengths[0] };
static const size_t k_nvs[] = {1, 2, 3, 4, 5, 7, 8};
enum { N_NVS = sizeof k_nvs / sizeof k_nvs[0], MAX_NV = 8, ROWS = 12 };
// gemm row ranges: every remainder of the 2- and 4-row register tiles, unaligned starts
static const size_t k_row_ranges[][2] = {{1, 5}, {0, ROWS}, {2, ROWS - 1}, {3, 10}, {5, 6}};
enum { N_ROW_RANGES = sizeof k_row_ranges / sizeof k_row_ranges[0] };

// elements for length index li: blocks for quantized types; for the float types, an awkward
// count around 8*L so the SIMD tails are hit too
static size_t elements_for(const type_info *t, size_t blocks) {
    return t->block_elems == 1 ? 8 * blocks + blocks % 7 : blocks * t->block_elems;
}

// ---------------------------------------------------------------- independent reference

static float h2f(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return bora_f16_to_f32(h); }
static void put_f16(uint8_t *p, float f) { uint16_t h = bora_f32_to_f16(f); memcpy(p, &h, 2); }
static float rdf(const uint8_t *p) { float f; memcpy(&f, p, 4); return f; }

// weight element i of a row as two terms, value = main + min (min is the Q4_1/Q4_K offset part)
static void weight_terms(int type, const uint8_t *row, size_t i, double *main, double *min) {
    *min = 0;
    switch (type) {
    case BORA_TYPE_Q4_0: {
        const uint8_t *b = row + (i / 32) * 18; size_t j = i % 32;
        int q = j < 16 ? (b[2 + j] & 15) : (b[2 + j - 16] >> 4);
        *main = h2f(b) * (q - 8); break;
    }
    case BORA_TYPE_Q4_1: {
        const uint8_t *b = row + (i / 32) * 20; size_t j = i % 32;
        int q = j < 16 ? (b[4 + j] & 15) : (b[4 + j - 16] >> 4);
        *main = h2f(b) * q; *min = h2f(b + 2); break;
    }
    case BORA_TYPE_Q5_0: {
        const uint8_t *b = row + (i / 32) * 22; size_t j = i % 32;
        uint32_t qh; memcpy(&qh, b + 2, 4);
        int q = j < 16 ? (b[6 + j] & 15) : (b[6 + j - 16] >> 4);
        q |= (int)((qh >> j) & 1) << 4;
        *main = h2f(b) * (q - 16); break;
    }
    case BORA_TYPE_Q8_0: {
        const uint8_t *b = row + (i / 32) * 34;
        *main = h2f(b) * (int8_t)b[2 + i % 32]; break;
    }
    case BORA_TYPE_Q4_K: {   // as ggml's dequantize_row_q4_K
        const uint8_t *b = row + (i / 256) * 144, *sc = b + 4, *qs = b + 16;
        size_t j = i % 256, sub = j / 32, l = j % 32;
        int s, m;
        if (sub < 4) { s = sc[sub] & 63; m = sc[sub + 4] & 63; }
        else { s = (sc[sub + 4] & 0xF) | ((sc[sub - 4] >> 6) << 4); m = (sc[sub + 4] >> 4) | ((sc[sub] >> 6) << 4); }
        int q = (qs[32 * (sub / 2) + l] >> (4 * (sub % 2))) & 15;
        *main = (double)h2f(b) * s * q; *min = -(double)h2f(b + 2) * m; break;
    }
    case BORA_TYPE_Q6_K: {   // as ggml's dequantize_row_q6_K
        const uint8_t *b = row + (i / 256) * 210;
        size_t j = i % 256, half = j / 128, r = j % 128, k = r / 32, l = r % 32;
        const uint8_t *ql = b + 64 * half, *qh = b + 128 + 32 * half;
        const int8_t *sc = (const int8_t *)(b + 192) + 8 * half;
        int lo = (k == 0) ? (ql[l] & 15) : (k == 1) ? (ql[l + 32] & 15) : (k == 2) ? (ql[l] >> 4) : (ql[l + 32] >> 4);
        int q = (lo | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
        *main = (double)h2f(b + 208) * sc[l / 16 + 2 * k] * q; break;
    }
    case BORA_TYPE_F16: *main = h2f(row + 2 * i); break;
    case BORA_TYPE_BF16: { uint32_t u = (uint32_t)(row[2 * i] | (row[2 * i + 1] << 8)) << 16; float f; memcpy(&f, &u, 4); *main = f; break; }
    default: *main = rdf(row + 4 * i); break;
    }
}

static double act_value(int atype, const uint8_t *row, size_t i) {
    switch (atype) {
    case BORA_TYPE_Q8_0: return h2f(row + (i / 32) * 34) * (int8_t)row[(i / 32) * 34 + 2 + i % 32];
    case BORA_TYPE_Q8_1: return h2f(row + (i / 32) * 36) * (int8_t)row[(i / 32) * 36 + 4 + i % 32];
    case BORA_TYPE_Q8_K: return rdf(row + (i / 256) * 292) * (int8_t)row[(i / 256) * 292 + 4 + i % 256];
    default: return rdf(row + 4 * i);
    }
}

static void ref_dot(int type, int atype, size_t n, const uint8_t *w, const uint8_t *a, double *dot, double *mag) {
    double s = 0, m = 0;
    for (size_t i = 0; i < n; ++i) {
        double t0, t1;
        weight_terms(type, w, i, &t0, &t1);
        const double av = act_value(atype, a, i);
        // Q4_1's min term uses the block's stored s = f16(d*sum(q)), not sum(d*q): spread it
        const double amin = atype == BORA_TYPE_Q8_1 ? h2f(a + (i / 32) * 36 + 2) / 32.0 : av;
        s += t0 * av + t1 * amin;
        m += fabs(t0 * av) + fabs(t1 * amin);
    }
    *dot = s;
    *mag = m;
}

// ---------------------------------------------------------------- data

static void fill_weights(int type, uint8_t *row, size_t n) {
    size_t bytes = 0;
    for (const type_info *t = k_weight_types; t < k_weight_types + N_WTYPES; ++t)
        if (t->type == type) bytes = n / t->block_elems * t->block_bytes;
    for (size_t i = 0; i < bytes; ++i) row[i] = (uint8_t)xorshift();
    const float sgn = (xorshift() & 1) ? 1.0f : -1.0f;
    switch (type) {
    case BORA_TYPE_Q4_0: for (size_t b = 0; b < n / 32; ++b) put_f16(row + 18 * b, sgn * uniform(1e-3f, 5e-2f)); break;
    case BORA_TYPE_Q4_1: for (size_t b = 0; b < n / 32; ++b) { put_f16(row + 20 * b, uniform(1e-3f, 5e-2f)); put_f16(row + 20 * b + 2, uniform(-0.4f, 0.1f)); } break;
    case BORA_TYPE_Q5_0: for (size_t b = 0; b < n / 32; ++b) put_f16(row + 22 * b, sgn * uniform(1e-3f, 5e-2f)); break;
    case BORA_TYPE_Q8_0: for (size_t b = 0; b < n / 32; ++b) put_f16(row + 34 * b, sgn * uniform(1e-4f, 5e-3f)); break;
    case BORA_TYPE_Q4_K: for (size_t b = 0; b < n / 256; ++b) { put_f16(row + 144 * b, uniform(1e-4f, 2e-3f)); put_f16(row + 144 * b + 2, uniform(1e-4f, 2e-3f)); } break;
    case BORA_TYPE_Q6_K: for (size_t b = 0; b < n / 256; ++b) put_f16(row + 210 * b + 208, sgn * uniform(1e-5f, 2e-4f)); break;
    case BORA_TYPE_F16: for (size_t i = 0; i < n; ++i) put_f16(row + 2 * i, gauss()); break;
    case BORA_TYPE_BF16: for (size_t i = 0; i < n; ++i) { float f = gauss(); uint32_t u; memcpy(&u, &f, 4); row[2 * i] = (uint8_t)(u >> 16); row[2 * i + 1] = (uint8_t)(u >> 24); } break;
    default: for (size_t i = 0; i < n; ++i) { float f = gauss(); memcpy(row + 4 * i, &f, 4); } break;
    }
}

// activation floats: gaussian with a per-32 scale spanning 1e-2..1e1, some outliers
static void fill_floats(float *x, size_t n) {
    float scale = 1;
    for (size_t i = 0; i < n; ++i) {
        if (i % 32 == 0) scale = powf(10.0f, uniform(-2, 1));
        x[i] = gauss() * scale * ((xorshift() % 97 == 0) ? 20.0f : 1.0f);
    }
}

// ---------------------------------------------------------------- results

enum { CHECK_DOT, CHECK_GEMM, CHECK_QUANT, CHECK_REF, N_CHECKS };
static const char *k_check_names[] = {"dot", "gemm", "quantize", "dot-vs-dequant"};

static bora_kernel_set g_sets[8];
static int g_nsets;

typedef struct { long cases, failures, ulp1; double max_err; int used; } stat;
static stat g_stats[8][BORA_TYPE_COUNT][N_CHECKS];
static long g_total_fail, g_total_pass;

static void record(int set, int type, int check, double err, double tol, const char *what) {
    stat *s = &g_stats[set][type][check];
    s->used = 1;
    s->cases++;
    if (err > s->max_err) s->max_err = err;
    if (!(err <= tol)) {
        if (s->failures < 3) printf("  FAIL %s %s: %s err %.3g > tol %.3g\n", g_sets[set].name, k_check_names[check], what, err, tol);
        s->failures++;
    }
}

// ---------------------------------------------------------------- checks


static void *xmalloc(size_t n) { void *p = malloc(n + 64); if (!p) { perror("malloc"); exit(2); } return p; }

static void check_weight_type(const type_info *t) {
    const int atype = bora_activation_type(t->type);
    for (int li = 0; li < N_LENGTHS; ++li) {
        const size_t n = elements_for(t, k_lengths[li]);
        const size_t row_bytes = n / t->block_elems * t->block_bytes;
        const size_t arow_bytes = n / act_block_elems(atype) * act_block_bytes(atype);
        const size_t wrb = row_bytes + 3, arb = arow_bytes + 5;   // odd strides
        uint8_t *wbuf = xmalloc(ROWS * wrb + 1), *abuf = xmalloc(MAX_NV * arb + 1);
        uint8_t *w = wbuf + 1, *a = abuf + 1;                     // unaligned on purpose
        float *x = xmalloc(n * sizeof(float));
        for (int r = 0; r < ROWS; ++r) fill_weights(t->type, w + r * wrb, n);
        for (int v = 0; v < MAX_NV; ++v) {
            fill_floats(x, n);
            if (atype == BORA_TYPE_F32) memcpy(a + v * arb, x, n * sizeof(float));
            else g_sets[0].quantize[atype](x, a + v * arb, n);
        }
        // scalar references, once per (row, vector)
        float ref[ROWS][MAX_NV];
        double mag[ROWS][MAX_NV];
        for (int r = 0; r < ROWS; ++r)
            for (int v = 0; v < MAX_NV; ++v) {
                ref[r][v] = g_sets[0].dot[t->type](n, w + r * wrb, a + v * arb);
                double exact;
                ref_dot(t->type, atype, n, w + r * wrb, a + v * arb, &exact, &mag[r][v]);
                if (mag[r][v] == 0) mag[r][v] = 1;
                if (v == r % MAX_NV || v == 0) {
                    char what[64];
                    snprintf(what, sizeof what, "n=%zu row %d vec %d", n, r, v);
                    record(0, t->type, CHECK_REF, fabs(ref[r][v] - exact) / mag[r][v], t->tol, what);
                }
            }
        for (int s = 0; s < g_nsets; ++s) {
            const bora_kernel_set *ks = &g_sets[s];
            char what[96];
            for (int r = 0; r < ROWS; ++r) {
                const int v = r % MAX_NV;
                const float got = ks->dot[t->type](n, w + r * wrb, a + v * arb);
                snprintf(what, sizeof what, "n=%zu row %d", n, r);
                record(s, t->type, CHECK_DOT, fabs(got - ref[r][v]) / mag[r][v], t->tol, what);
            }
            for (int k = 0; k < N_NVS * N_ROW_RANGES; ++k) {
                const size_t nv = k_nvs[k % N_NVS], ldy = ROWS + 2;
                const size_t r0 = k_row_ranges[k / N_NVS][0], r1 = k_row_ranges[k / N_NVS][1];
                float y[MAX_NV * (ROWS + 2)];
                for (size_t i = 0; i < MAX_NV * ldy; ++i) y[i] = -12345.0f;
                ks->gemm[t->type](n, w, wrb, r0, r1, a, arb, nv, y, ldy);
                double worst = 0;
                for (size_t v = 0; v < MAX_NV; ++v)
                    for (size_t r = 0; r < ldy; ++r) {
                        const float got = y[v * ldy + r];
                        const int inside = v < nv && r >= r0 && r < r1;
                        double err = inside ? fabs(got - ref[r][v]) / mag[r][v] : (got == -12345.0f ? 0 : INFINITY);
                        if (err != err) err = INFINITY;
                        if (err > worst) worst = err;
                    }
                snprintf(what, sizeof what, "n=%zu nv=%zu rows [%zu,%zu)", n, nv, r0, r1);
                record(s, t->type, CHECK_GEMM, worst, t->tol, what);
            }
        }
        free(wbuf); free(abuf); free(x);
    }
}

// compare one quantized row from set s against scalar; returns error count, counts +-1 q diffs
static long compare_quant(int atype, const uint8_t *got, const uint8_t *want, size_t n, long *ulp1) {
    const size_t be = act_block_elems(atype), bb = act_block_bytes(atype);
    const size_t qoff = atype == BORA_TYPE_Q8_0 ? 2 : 4;
    long bad = 0;
    for (size_t b = 0; b < n / be; ++b) {
        const uint8_t *g = got + b * bb, *e = want + b * bb;
        const size_t dsize = atype == BORA_TYPE_Q8_K ? 4 : 2;
        if (memcmp(g, e, dsize) != 0) bad++;                          // d bit-exact
        int exact = 1, sum = 0;
        for (size_t j = 0; j < be; ++j) {
            const int dq = (int8_t)g[qoff + j] - (int8_t)e[qoff + j];
            if (dq) { exact = 0; if (dq == 1 || dq == -1) (*ulp1)++; else bad++; }
            sum += (int8_t)g[qoff + j];
        }
        if (atype == BORA_TYPE_Q8_1) {
            if (exact ? memcmp(g + 2, e + 2, 2) != 0 : bora_f32_to_f16((float)sum * bora_f16_to_f32((uint16_t)(g[0] | g[1] << 8))) != (uint16_t)(g[2] | g[3] << 8)) bad++;
        }
        if (atype == BORA_TYPE_Q8_K) {
            for (int k = 0; k < 16; ++k) {
                int s16 = 0;
                for (int l = 0; l < 16; ++l) s16 += (int8_t)g[4 + 16 * k + l];
                int16_t bs; memcpy(&bs, g + 260 + 2 * k, 2);
                if (bs != s16) bad++;
            }
        }
    }
    return bad;
}

static void check_quantize(int atype) {
    const size_t be = act_block_elems(atype), bb = act_block_bytes(atype);
    for (int li = 0; li < N_LENGTHS; ++li) {
        const size_t n = k_lengths[li] * be;
        float *xbuf = xmalloc((n + 1) * sizeof(float));
        float *x = (float *)(void *)((char *)xbuf + 4);   // offset (floats stay 4-aligned)
        fill_floats(x, n);
        // special blocks: all zero; exact ties under d = 1 (q8_0/q8_1) or iscale = 1 (q8_K);
        // +-amax both present so the "first max" rule decides the sign
        if (n / be >= 2) memset(x + be, 0, be * sizeof(float));
        if (n / be >= 3) {
            float *t = x + 2 * be;
            for (size_t j = 0; j < be; ++j) t[j] = (float)((int)(j % 250) - 125) + 0.5f;
            t[0] = atype == BORA_TYPE_Q8_K ? -127.0f : 127.0f;
            t[be - 1] = -t[0];
        }
        uint8_t *want = xmalloc(n / be * bb), *gotbuf = xmalloc(n / be * bb + 1), *got = gotbuf + 1;
        g_sets[0].quantize[atype](x, want, n);
        for (int s = 0; s < g_nsets; ++s) {
            memset(gotbuf, 0xAB, n / be * bb + 1);
            g_sets[s].quantize[atype](x, got, n);
            long ulp1 = 0;
            const long bad = compare_quant(atype, got, want, n, &ulp1);
            char what[64];
            snprintf(what, sizeof what, "n=%zu: %ld mismatching fields", n, bad);
            record(s, atype, CHECK_QUANT, (double)bad, 0, what);
            g_stats[s][atype][CHECK_QUANT].ulp1 += ulp1;
        }
        free(xbuf); free(want); free(gotbuf);
    }
}

static int check_f16(void) {
    // every f16 -> f32 -> f16 round trip (nan payloads quieted), and RNE at halfway points
    long bad = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = bora_f16_to_f32((uint16_t)h);
        const uint16_t back = bora_f32_to_f16(f);
        const int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan ? (back & 0x7e00) != 0x7e00 || (back & 0x8000) != (h & 0x8000) : back != h) bad++;
        if (!is_nan && (h & 0x7fff) < 0x7bff) {   // midpoint to the next f16 rounds to the even one
            const float next = bora_f16_to_f32((uint16_t)(h + 1));
            const double mid = ((double)f + (double)next) / 2;
            const uint16_t r = bora_f32_to_f16((float)mid);
            if ((float)mid == mid && r != ((h & 1) ? h + 1 : h)) bad++;
        }
    }
    if (bora_f32_to_f16(65520.0f) != 0x7c00 || bora_f32_to_f16(65519.0f) != 0x7bff || bora_f32_to_f16(1e-8f) != 0 ||
        bora_f32_to_f16(-INFINITY) != 0xfc00 || bora_f32_to_f16(5.9604644775390625e-08f) != 1)
        bad++;
    printf("%-10s %-5s %-15s %s\n", "-", "f16", "convert", bad ? "FAIL" : "ok (all 65536 values, ties to even)");
    return bad ? 1 : 0;
}

// ---------------------------------------------------------------- bench

typedef struct { bora_gemm_fn fn; size_t n, rows, wrb, r0, r1; const uint8_t *w, *a; float *y; int reps; } bench_job;
static void *bench_worker(void *p) {
    bench_job *j = p;
    for (int k = 0; k < j->reps; ++k) j->fn(j->n, j->w, j->wrb, j->r0, j->r1, j->a, 0, 1, j->y, j->rows);
    return NULL;
}
static double now_s(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }

static double bench_gemv(bora_gemm_fn fn, const type_info *t, size_t n, size_t rows, int threads, const uint8_t *w, const uint8_t *a, float *y) {
    const size_t wrb = n / t->block_elems * t->block_bytes;
    const double bytes = (double)wrb * rows;
    int reps = (int)(2e9 / bytes) + 1;   // ~2 GB of weights per measurement
    double best = 0;
    for (int trial = 0; trial < 3; ++trial) {
        bench_job jobs[2];
        pthread_t th[2];
        const double t0 = now_s();
        for (int k = 0; k < threads; ++k) {
            jobs[k] = (bench_job){fn, n, rows, wrb, rows * k / threads, rows * (k + 1) / threads, w, a, y, reps};
            if (k) pthread_create(&th[k], NULL, bench_worker, &jobs[k]);
        }
        bench_worker(&jobs[0]);
        for (int k = 1; k < threads; ++k) pthread_join(th[k], NULL);
        const double gbs = bytes * reps / (now_s() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    return best;
}

typedef struct { const uint64_t *p; size_t n; int reps; uint64_t out; } read_job;
static void *read_worker(void *pp) {
    read_job *j = pp;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int r = 0; r < j->reps; ++r)
        for (size_t i = 0; i + 4 <= j->n; i += 4) { s0 += j->p[i]; s1 ^= j->p[i + 1]; s2 += j->p[i + 2]; s3 ^= j->p[i + 3]; }
    j->out = s0 + s1 + s2 + s3;
    return NULL;
}
static double bench_read(const uint8_t *buf, size_t bytes, int threads) {
    double best = 0;
    for (int trial = 0; trial < 3; ++trial) {
        read_job jobs[2];
        pthread_t th[2];
        const int reps = (int)(2e9 / bytes) + 1;
        const double t0 = now_s();
        for (int k = 0; k < threads; ++k) {
            jobs[k] = (read_job){(const uint64_t *)(const void *)(buf + bytes * k / threads), bytes / threads / 8, reps, 0};
            if (k) pthread_create(&th[k], NULL, read_worker, &jobs[k]);
        }
        read_worker(&jobs[0]);
        for (int k = 1; k < threads; ++k) pthread_join(th[k], NULL);
        const double gbs = (double)bytes * reps / (now_s() - t0) / 1e9;
        if (gbs > best) best = gbs;
        if (jobs[0].out == 42) printf(" ");
    }
    return best;
}

static void bench(void) {
    const struct { size_t n, rows; } shapes[] = {{576, 1536}, {4096, 16384}};
    const size_t max_bytes = 4096 / 32 * 34 * (size_t)16384;
    uint8_t *w = xmalloc(max_bytes);
    for (size_t i = 0; i < max_bytes; ++i) w[i] = (uint8_t)xorshift();
    uint8_t *a = xmalloc(16384 * 4);
    float *x = xmalloc(4096 * sizeof(float)), *y = xmalloc(16384 * sizeof(float));
    fill_floats(x, 4096);
    printf("read bandwidth (plain C loop over 38 MB): 1 thread %.1f GB/s, 2 threads %.1f GB/s\n",
           bench_read(w, 4096 / 32 * 18 * (size_t)16384, 1), bench_read(w, 4096 / 32 * 18 * (size_t)16384, 2));
    for (int s = 0; s < g_nsets; ++s) {
        const bora_kernel_set *ks = &g_sets[s];
        for (int ti = 0; ti < N_WTYPES; ++ti) {
            const type_info *t = &k_weight_types[ti];
            if (t->type != BORA_TYPE_Q4_0 && t->type != BORA_TYPE_Q4_1 && t->type != BORA_TYPE_Q8_0 && t->type != BORA_TYPE_Q4_K) continue;
            const int atype = bora_activation_type(t->type);
            ks->quantize[atype](x, a, 4096);
            for (int k = 0; k < 2; ++k) {
                // random bytes are valid quants; keep the f16 scales finite
                const size_t rb = shapes[k].n / t->block_elems * t->block_bytes;
                for (size_t r = 0; r < shapes[k].rows; ++r)
                    for (size_t b = 0; b < rb / t->block_bytes; ++b) {
                        uint8_t *blk = w + r * rb + b * t->block_bytes + (t->type == BORA_TYPE_Q6_K ? 208 : 0);
                        put_f16(blk, 0.01f);
                        if (t->type == BORA_TYPE_Q4_1 || t->type == BORA_TYPE_Q4_K) put_f16(blk + 2, 0.01f);
                    }
                printf("bench %-10s %-5s GEMV %5zux%-5zu (%6.2f MB): 1 thread %6.1f GB/s, 2 threads %6.1f GB/s\n", ks->name, t->name,
                       shapes[k].rows, shapes[k].n, rb * shapes[k].rows / 1e6,
                       bench_gemv(ks->gemm[t->type], t, shapes[k].n, shapes[k].rows, 1, w, a, y),
                       bench_gemv(ks->gemm[t->type], t, shapes[k].n, shapes[k].rows, 2, w, a, y));
            }
        }
    }
}

// ---------------------------------------------------------------- F32 sgemm and math kernels
// sgemm of every set vs a double-precision product (shapes with row/column tails and the
// attention shapes); GELU/erf/exp/softmax/layer norm/logsumexp vs libm in double.
static int check_sgemm_and_math(void) {
    int fail = 0;
    static const size_t shapes[][3] = {{1, 1, 1}, {3, 17, 5}, {4, 16, 64}, {5, 33, 7}, {64, 100, 64}, {7, 64, 150}, {1, 1500, 64}};
    for (int s = 0; s < g_nsets; ++s) {
        double worst = 0;
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; ++k) {
            const size_t M = shapes[k][0], N = shapes[k][1], K = shapes[k][2];
            const size_t lda = K + 3, ldb = N + 5, ldc = N + 2;
            float *A = xmalloc(M * lda * 4), *B = xmalloc(K * ldb * 4), *C = xmalloc(M * ldc * 4);
            fill_floats(A, M * lda); fill_floats(B, K * ldb);
            for (size_t i = 0; i < M * ldc; ++i) C[i] = 12345.0f;
            g_sets[s].sgemm(M, N, K, A, lda, B, ldb, C, ldc);
            for (size_t m = 0; m < M; ++m)
                for (size_t n = 0; n < ldc; ++n) {
                    if (n >= N) { if (C[m * ldc + n] != 12345.0f) worst = 1e9; continue; }  // wrote outside C
                    double ref = 0, mag = 0;
                    for (size_t q = 0; q < K; ++q) { ref += (double)A[m * lda + q] * B[q * ldb + n]; mag += fabs((double)A[m * lda + q] * B[q * ldb + n]); }
                    const double err = fabs(C[m * ldc + n] - ref) / (mag + 1e-30);
                    if (err > worst) worst = err;
                }
            free(A); free(B); free(C);
        }
        const int ok = worst < 1e-5;
        fail += !ok;
        printf("%-10s %-5s %-15s %s (7 shapes, max rel err %.2e)\n", g_sets[s].name, "f32", "sgemm", ok ? "ok" : "FAIL", worst);
    }
    double e_erf = 0, e_exp = 0, e_gelu = 0;
    for (int i = -60000; i <= 60000; ++i) {
        const float x = (float)i / 10000.0f;
        e_erf = fmax(e_erf, fabs(bora_erf_f32(x) - erf((double)x)));
        const double ex = exp((double)x * 10);
        e_exp = fmax(e_exp, fabs(bora_exp_f32(x * 10) - ex) / ex);
        float g = x;
        bora_gelu_f32(&g, 1);
        e_gelu = fmax(e_gelu, fabs(g - 0.5 * x * (1 + erf(x / sqrt(2.0)))));
    }
    float v[301], w[301], b[301], out[301];
    fill_floats(v, 301); fill_floats(w, 301); fill_floats(b, 301);
    double lse = 0, m = -1e30;
    for (int i = 0; i < 301; ++i) m = fmax(m, v[i]);
    for (int i = 0; i < 301; ++i) lse += exp(v[i] - m);
    lse = m + log(lse);
    const double e_lse = fabs(bora_logsumexp_f32(v, 301) - lse);
    double mean = 0, var = 0;
    for (int i = 0; i < 301; ++i) mean += v[i];
    mean /= 301;
    for (int i = 0; i < 301; ++i) var += (v[i] - mean) * (v[i] - mean);
    var /= 301;
    bora_layer_norm_f32(out, v, w, b, 301, 1e-5f);
    double e_ln = 0;
    for (int i = 0; i < 301; ++i) e_ln = fmax(e_ln, fabs(out[i] - ((v[i] - mean) / sqrt(var + 1e-5) * w[i] + b[i])));
    float sm[301];
    memcpy(sm, v, sizeof sm);
    bora_softmax_f32(sm, 301, 0.5f);
    double e_sm = 0, z = 0;
    for (int i = 0; i < 301; ++i) z += exp(0.5 * (v[i] - m));
    for (int i = 0; i < 301; ++i) e_sm = fmax(e_sm, fabs(sm[i] - exp(0.5 * (v[i] - m)) / z));
    const int ok = e_erf < 5e-7 && e_exp < 5e-6 && e_gelu < 5e-6 && e_lse < 1e-5 && e_ln < 2e-5 && e_sm < 1e-6;
    fail += !ok;
    printf("%-10s %-5s %-15s %s (erf %.1e, exp rel %.1e, gelu %.1e, logsumexp %.1e, layer norm %.1e, softmax %.1e)\n",
           "-", "f32", "math", ok ? "ok" : "FAIL", e_erf, e_exp, e_gelu, e_lse, e_ln, e_sm);
    return fail;
}

// ---------------------------------------------------------------- main

int main(int argc, char **argv) {
    const char *expect_best = NULL, *expect_missing = NULL;
    int do_bench = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--bench")) do_bench = 1;
        else if (!strcmp(argv[i], "--expect-best") && i + 1 < argc) expect_best = argv[++i];
        else if (!strcmp(argv[i], "--expect-missing") && i + 1 < argc) expect_missing = argv[++i];
        else { fprintf(stderr, "usage: %s [--bench] [--expect-best NAME] [--expect-missing A,B]\n", argv[0]); return 2; }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fail = 0;
    // available sets, scalar first
    for (const char *const *nm = bora_kernel_set_names(); *nm; ++nm) {
        bora_kernel_set ks;
        const int rc = bora_kernel_set_get(*nm, &ks);
        if (rc == 0) g_sets[g_nsets++] = ks;
        else printf("%-10s skipped: bora_kernel_set_get returned %d (CPU lacks the features)\n", *nm, rc);
    }
    if (g_nsets == 0 || strcmp(g_sets[0].name, "scalar") != 0) { printf("FAIL: no scalar set\n"); return 1; }
    bora_kernel_set best;
    if (bora_kernel_set_get(NULL, &best) != 0) { printf("FAIL: no best set\n"); return 1; }
    printf("sets available:");
    for (int s = 0; s < g_nsets; ++s) printf(" %s", g_sets[s].name);
    printf("; best: %s\n", best.name);
    if (bora_kernel_set_get("no-such-set", &best) != -1) { printf("FAIL: unknown name not -1\n"); fail++; }
    if (expect_best) {
        bora_kernel_set_get(NULL, &best);
        const int ok = !strcmp(best.name, expect_best);
        printf("%-10s %-5s %-15s %s (want %s)\n", "-", "-", "best-set", ok ? "ok" : "FAIL", expect_best);
        fail += !ok;
    }
    if (expect_missing) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", expect_missing);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            const int rc = bora_kernel_set_get(tok, &best);
            printf("%-10s %-5s %-15s %s (get returned %d, want -2)\n", tok, "-", "refused", rc == -2 ? "ok" : "FAIL", rc);
            fail += rc != -2;
        }
    }
    if (do_bench) { bench(); return 0; }

    fail += check_f16();
    fail += check_sgemm_and_math();
    for (int ti = 0; ti < N_WTYPES; ++ti) check_weight_type(&k_weight_types[ti]);
    const int atypes[] = {BORA_TYPE_Q8_0, BORA_TYPE_Q8_1, BORA_TYPE_Q8_K};
    for (int k = 0; k < 3; ++k) check_quantize(atypes[k]);

    static const char *type_names[BORA_TYPE_COUNT];
    for (int ti = 0; ti < N_WTYPES; ++ti) type_names[k_weight_types[ti].type] = k_weight_types[ti].name;
    type_names[BORA_TYPE_Q8_1] = "q8_1";
    type_names[BORA_TYPE_Q8_K] = "q8_K";
    for (int s = 0; s < g_nsets; ++s)
        for (int t = 0; t < BORA_TYPE_COUNT; ++t)
            for (int c = 0; c < N_CHECKS; ++c) {
                const stat *st = &g_stats[s][t][c];
                if (!st->used) continue;
                if (st->failures) g_total_fail++; else g_total_pass++;
                if (c == CHECK_QUANT)
                    printf("%-10s %-5s %-15s %s (%ld lengths, %ld q off by 1)\n", g_sets[s].name, type_names[t], k_check_names[c],
                           st->failures ? "FAIL" : "ok", st->cases, st->ulp1);
                else
                    printf("%-10s %-5s %-15s %s (%ld cases, max rel err %.2e)\n", g_sets[s].name, type_names[t], k_check_names[c],
                           st->failures ? "FAIL" : "ok", st->cases, st->max_err);
            }
    g_total_fail += fail;
    printf("kernel_test: %ld passed, %ld failed\n", g_total_pass, g_total_fail);
    return g_total_fail ? 1 : 0;
}
