// Transformer operations of the LLM runtime in llama.cpp's floating-point order (the order of its
// x86 AVX2 CPU backend), so that with the same quantized matmuls Bora's logits are the same bits:
//
//   swiglu    gate[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + exp(0 - x)), 8 lanes at a time
//             (ggml_vec_swiglu_f32); a tail of n % 8 uses libm expf (ggml_silu_f32).
//   softmax   x -= max, exp, Σ in double of the 8-lane chunk sums, x *= (float)(1 / Σ)
//             (ggml_vec_soft_max_f32 + ggml_compute_forward_soft_max_f32). A partial last chunk
//             sums as a full one whose missing lanes are 0, as llama.cpp's masked lanes are.
//   gemv_f16  y[r] = Σ_k w[r][k]·x[k] against the f16 KV cache (gemv_f32: f32 weights such as a
//             MoE router), in one of llama.cpp's two orders:
//             batch (several query tokens evaluated together: llamafile's tinyBLAS) — one 8-lane
//             accumulator, fma over k in steps of 8, then a horizontal sum;
//             single (one query token: tinyBLAS declines n < 2, ggml_vec_dot_f16/_f32 runs) — four
//             8-lane accumulators over k in steps of 32, reduced (0+2)+(1+3), then low+high
//             halves and two horizontal adds.
//             Elements past n count as 0 (llama.cpp's masked probabilities; its KV length is a
//             multiple of 256, so it never has a scalar leftover).
//
// exp is the approximation ggml_v_expf computes (not libm's): n = round(x·log2 e) through the
// 1.5·2^23 trick, b = x − n·ln2 with ln2 in two parts, 2^n from the exponent bits, and a degree-5
// polynomial p(b) with exp(x) = 2^n·(1 + p(b)); |n| > 126 takes a two-factor scale so the result
// neither overflows early nor flushes too soon. Every step below is one IEEE operation (fma where
// it is fused), so the portable lane version and the AVX2 version give identical bits; every
// kernel set uses one of the two.
#include "kernels_internal.h"

#include <math.h>
#include <string.h>

#define EXP_SHIFTER 0x1.8p23f
#define EXP_LOG2E 0x1.715476p+0f
#define EXP_LN2_HI 0x1.62e4p-1f
#define EXP_LN2_LO 0x1.7f7d1cp-20f
#define EXP_C0 0x1.ffffecp-1f
#define EXP_C1 0x1.fffdb6p-2f
#define EXP_C2 0x1.555e66p-3f
#define EXP_C3 0x1.573e2ep-5f
#define EXP_C4 0x1.0e4020p-7f

static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float bora_llm_expf(float x) {
    const float z = fmaf(x, EXP_LOG2E, EXP_SHIFTER);
    const float n = z - EXP_SHIFTER;
    const float b = fmaf(-n, EXP_LN2_LO, fmaf(-n, EXP_LN2_HI, x));
    const uint32_t e = f2u(z) << 23;
    const float k = u2f(e + f2u(1.0f));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(EXP_C4, b, EXP_C3), u, fmaf(EXP_C2, b, EXP_C1)), u, EXP_C0 * b);
    if (!(fabsf(n) > 126.0f)) return fmaf(k, j, k);
    const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
    const float s1 = u2f(g + 0x7f000000u);
    const float s2 = u2f(e - g);
    if (fabsf(n) > 192.0f) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

// the horizontal sum of 8 lanes in the order of ggml's and tinyBLAS's AVX reductions:
// t[i] = l[i+4] + l[i]; (t0 + t2) + (t1 + t3)
static inline float hsum8(const float *l) {
    const float t0 = l[4] + l[0], t1 = l[5] + l[1], t2 = l[6] + l[2], t3 = l[7] + l[3];
    return (t0 + t2) + (t1 + t3);
}

void bora_llm_swiglu_portable(float *gate, const float *up, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; ++l) {
            const float x = gate[i + l];
            gate[i + l] = (x / (1.0f + bora_llm_expf(0.0f - x))) * up[i + l];
        }
    for (; i < n; ++i) gate[i] = (gate[i] / (1.0f + expf(-gate[i]))) * up[i];
}

void bora_llm_softmax_portable(float *x, size_t n) {
    if (n == 0) return;
    float max = -INFINITY;
    for (size_t i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
    double sum = 0.0;
    for (size_t i = 0; i < n; i += 8) {
        float lanes[8];
        for (int l = 0; l < 8; ++l) lanes[l] = i + l < n ? bora_llm_expf(x[i + l] - max) : 0.0f;
        for (int l = 0; l < 8 && i + l < n; ++l) x[i + l] = lanes[l];
        sum += (double)hsum8(lanes);
    }
    const float scale = (float)(1.0 / sum);
    for (size_t i = 0; i < n; ++i) x[i] *= scale;
}

// ggml_vec_dot_f16's reduction of its four accumulators: s = (a0 + a2) + (a1 + a3) lane-wise,
// t[i] = s[i] + s[i+4], then (t0 + t1) + (t2 + t3)
// one rotary pair (2i, 2i+1) = (i, i + 1) of p, as llama.cpp rotates it
static inline void rope_pair(float *p, size_t i, const float *angles) {
    const float c = angles[i], s = angles[i + 1], a = p[i], b = p[i + 1];
    p[i] = fmaf(a, c, -(b * s));
    p[i + 1] = fmaf(a, s, b * c);
}

void bora_llm_rope_portable(float *x, size_t heads, size_t head_dim, size_t rotary_dim, const float *angles) {
    for (size_t h = 0; h < heads; ++h) {
        float *p = x + h * head_dim;
        for (size_t i = 0; i + 1 < rotary_dim; i += 2) rope_pair(p, i, angles);
    }
}

static inline float reduce4x8(const float acc[4][8]) {
    float s[8];
    for (int l = 0; l < 8; ++l) s[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
    const float t0 = s[0] + s[4], t1 = s[1] + s[5], t2 = s[2] + s[6], t3 = s[3] + s[7];
    return (t0 + t1) + (t2 + t3);
}

// gemv in both orders for nv vectors; one body for both weight types: f16 = 1 for bora_f16
// elements, 0 for float. w is the weights' first byte; strides and element indices count elements.
// p advanced by i elements (bora_f16 if f16, else float)
static BORA_ALWAYS_INLINE const uint8_t *gemv_at(const uint8_t *p, size_t i, const int f16) {
    return f16 ? (const uint8_t *)((const bora_f16 *)(const void *)p + i) : (const uint8_t *)((const float *)(const void *)p + i);
}

static BORA_ALWAYS_INLINE float gemv_elem(const uint8_t *row, size_t e, const int f16) {
    return f16 ? bora_f16_to_f32(((const bora_f16 *)(const void *)row)[e]) : ((const float *)(const void *)row)[e];
}

static BORA_ALWAYS_INLINE void gemv_portable(size_t rows, size_t n, const uint8_t *w, size_t w_stride, size_t seg,
                                             size_t seg_stride, const float *xs, size_t x_stride, size_t nv, float *ys,
                                             size_t y_stride, int single, const int f16) {
    if (seg == 0 || seg > n) seg = n ? n : 1;
    for (size_t v = 0; v < nv; ++v) {
        const float *x = xs + v * x_stride;
        float *y = ys + v * y_stride;
        for (size_t r = 0; r < rows; ++r) {
            float acc[4][8] = {{0}};
            // segment by segment; a segment is a whole number of steps, so the chains run on
            const uint8_t *row = gemv_at(w, r * w_stride, f16);
            for (size_t s0 = 0; s0 < n; s0 += seg, row = gemv_at(row, seg_stride, f16)) {
                const float *xk = x + s0;
                const size_t len = n - s0 < seg ? n - s0 : seg;
                if (single) {   // ggml_vec_dot_*: four accumulators over 32-element steps
                    for (size_t k = 0; k < len; k += 32)
                        for (int j = 0; j < 4; ++j)
                            for (int l = 0; l < 8; ++l) {
                                const size_t e = k + 8 * (size_t)j + (size_t)l;
                                if (e < len) acc[j][l] = fmaf(gemv_elem(row, e, f16), xk[e], acc[j][l]);
                            }
                } else {        // tinyBLAS: one accumulator over 8-element steps
                    for (size_t k = 0; k < len; k += 8)
                        for (int l = 0; l < 8 && k + (size_t)l < len; ++l)
                            acc[0][l] = fmaf(gemv_elem(row, k + l, f16), xk[k + l], acc[0][l]);
                }
            }
            y[r] = single ? reduce4x8((const float (*)[8])acc) : hsum8(acc[0]);
        }
    }
}

void bora_llm_gemv_f16_portable(size_t rows, size_t n, const bora_f16 *w, size_t w_stride, size_t seg, size_t seg_stride,
                                const float *xs, size_t x_stride, size_t nv, float *ys, size_t y_stride, int single) {
    gemv_portable(rows, n, (const uint8_t *)(const void *)w, w_stride, seg, seg_stride, xs, x_stride, nv, ys, y_stride, single, 1);
}

void bora_llm_gemv_f32_portable(size_t rows, size_t n, const float *w, size_t w_stride, size_t seg, size_t seg_stride,
                                const float *xs, size_t x_stride, size_t nv, float *ys, size_t y_stride, int single) {
    gemv_portable(rows, n, (const uint8_t *)(const void *)w, w_stride, seg, seg_stride, xs, x_stride, nv, ys, y_stride, single, 0);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma,f16c")))

static inline TGT __m256 expf8(__m256 x) {
    const __m256 r = _mm256_set1_ps(EXP_SHIFTER);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(EXP_LOG2E), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    const __m256 absn = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 big = _mm256_cmp_ps(absn, _mm256_set1_ps(126.0f), _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(EXP_C4), b, _mm256_set1_ps(EXP_C3)), u,
                                                     _mm256_fmadd_ps(_mm256_set1_ps(EXP_C2), b, _mm256_set1_ps(EXP_C1))),
                                     u, _mm256_mul_ps(_mm256_set1_ps(EXP_C0), b));
    if (!_mm256_movemask_ps(big)) return _mm256_fmadd_ps(k, j, k);
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 huge = _mm256_cmp_ps(absn, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    const __m256 scaled = _mm256_blendv_ps(_mm256_fmadd_ps(k, j, k), _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1), big);
    return _mm256_blendv_ps(scaled, _mm256_mul_ps(s1, s1), huge);
}

static inline TGT float hsum8_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// 4 pairs per vector: even lanes a' = fma(a, c, -(b·s)), odd lanes b' = fma(a, s, b·c), from the
// pair-swapped x and the duplicated cos / sin: the portable operations lane by lane
TGT void bora_llm_rope_avx2(float *x, size_t heads, size_t head_dim, size_t rotary_dim, const float *angles) {
    for (size_t h = 0; h < heads; ++h) {
        float *p = x + h * head_dim;
        size_t i = 0;
        for (; i + 8 <= rotary_dim; i += 8) {
            const __m256 v = _mm256_loadu_ps(p + i), sw = _mm256_permute_ps(v, 0xB1);
            const __m256 cs = _mm256_loadu_ps(angles + i);
            const __m256 c = _mm256_moveldup_ps(cs), s = _mm256_movehdup_ps(cs);
            const __m256 even = _mm256_fmadd_ps(v, c, _mm256_xor_ps(_mm256_mul_ps(sw, s), _mm256_set1_ps(-0.0f)));  // exact negation
            const __m256 odd = _mm256_fmadd_ps(sw, s, _mm256_mul_ps(v, c));
            _mm256_storeu_ps(p + i, _mm256_blend_ps(even, odd, 0xAA));
        }
        for (; i + 1 < rotary_dim; i += 2) rope_pair(p, i, angles);
    }
}

TGT void bora_llm_swiglu_avx2(float *gate, const float *up, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 silu = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), expf8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; ++i) gate[i] = (gate[i] / (1.0f + expf(-gate[i]))) * up[i];
}

TGT void bora_llm_softmax_avx2(float *x, size_t n) {
    if (n == 0) return;
    float max = -INFINITY;
    for (size_t i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
    const __m256 vmax = _mm256_set1_ps(max);
    double sum = 0.0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = expf8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        _mm256_storeu_ps(x + i, v);
        sum += (double)hsum8_ps(v);
    }
    if (i < n) {   // the partial chunk: missing lanes are 0
        float lanes[8] = {0};
        memcpy(lanes, x + i, (n - i) * sizeof(float));
        const __m256 live = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)),
                                                                   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
        const __m256 v = _mm256_and_ps(live, expf8(_mm256_sub_ps(_mm256_loadu_ps(lanes), vmax)));
        _mm256_storeu_ps(lanes, v);
        memcpy(x + i, lanes, (n - i) * sizeof(float));
        sum += (double)hsum8_ps(v);
    }
    const __m256 scale = _mm256_set1_ps((float)(1.0 / sum));
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), scale));
    for (; i < n; ++i) x[i] *= (float)(1.0 / sum);
}

static inline TGT __m256 load_f16x8(const bora_f16 *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p)); }

// 8 elements from p as floats; lanes at or past `count` are 0
static inline TGT __m256 load_f16x8_upto(const bora_f16 *p, size_t count) {
    if (count >= 8) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
    bora_f16 t[8] = {0};
    memcpy(t, p, count * sizeof(bora_f16));
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)t));
}

static inline TGT __m256 load_f32x8_upto(const float *p, size_t count) {
    if (count >= 8) return _mm256_loadu_ps(p);
    float t[8] = {0};
    memcpy(t, p, count * sizeof(float));
    return _mm256_loadu_ps(t);
}

// The single order's last steps for 8 rows at once: row i's t0 = low + high half of s[i], then
// ((t0[0] + t0[1]) + (t0[2] + t0[3])), which is what hadd(hadd(t0, t0), ...) leaves in lane 0.
// Pairs of rows share a 256-bit add (row i in the low half, i+1 in the high), and two rounds of
// hadd across 4 pairs leave every row's total: the same additions on the same operands.
static inline TGT __m256 reduce8_single(const __m256 s[8]) {
    __m256 p[4];
    for (int k = 0; k < 4; ++k)
        p[k] = _mm256_add_ps(_mm256_permute2f128_ps(s[2 * k], s[2 * k + 1], 0x20),
                             _mm256_permute2f128_ps(s[2 * k], s[2 * k + 1], 0x31));
    // h0 low: rows 0, 2 pair sums; high: rows 1, 3. h1: rows 4, 6 / 5, 7.
    const __m256 h0 = _mm256_hadd_ps(p[0], p[1]), h1 = _mm256_hadd_ps(p[2], p[3]);
    // lanes: rows 0, 2, 4, 6 | 1, 3, 5, 7
    const __m256 f = _mm256_hadd_ps(h0, h1);
    return _mm256_permutevar8x32_ps(f, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// up to NVT vectors per pass: each weight chunk is converted once and used by every vector of
// the pass; every (row, vector) output keeps exactly its own accumulator(s) in k order. One body
// for both weight types: f16 = 1 for the f16 KV cache (bora_f16 elements), 0 for f32 weights; w
// is the weights' first byte, strides and element indices count elements.

// 8 elements k..k+7 of row as floats
static BORA_ALWAYS_INLINE TGT __m256 gemv_load8(const uint8_t *row, size_t k, const int f16) {
    return f16 ? load_f16x8((const bora_f16 *)(const void *)row + k) : _mm256_loadu_ps((const float *)(const void *)row + k);
}
// the same for the last, partial chunk: lanes at or past `count` are 0
static BORA_ALWAYS_INLINE TGT __m256 gemv_load8_upto(const uint8_t *row, size_t k, size_t count, const int f16) {
    return f16 ? load_f16x8_upto((const bora_f16 *)(const void *)row + k, count)
               : load_f32x8_upto((const float *)(const void *)row + k, count);
}

static BORA_ALWAYS_INLINE TGT void gemv_batch(size_t rows, size_t n, const uint8_t *w, size_t w_stride,
        size_t seg, size_t seg_stride, const float *xs, size_t x_stride, float *ys, size_t y_stride,
        const int NVT, const int f16) {
    size_t r = 0;
    // two rows at a time: twice the independent chains (each output's chain is unchanged) and
    // every x chunk loaded once for both rows; segment by segment (a whole number of steps each)
    for (; r + 2 <= rows; r += 2) {
        __m256 a0[4], a1[4];
        for (int v = 0; v < NVT; ++v) { a0[v] = _mm256_setzero_ps(); a1[v] = _mm256_setzero_ps(); }
        const uint8_t *seg0 = gemv_at(w, r * w_stride, f16);
        for (size_t s0 = 0; s0 < n; s0 += seg, seg0 = gemv_at(seg0, seg_stride, f16)) {
            const uint8_t *row0 = seg0, *row1 = gemv_at(row0, w_stride, f16);
            const float *x = xs + s0;
            const size_t len = n - s0 < seg ? n - s0 : seg;
            size_t k = 0;
            for (; k + 8 <= len; k += 8) {
                const __m256 w0 = gemv_load8(row0, k, f16), w1 = gemv_load8(row1, k, f16);
                for (int v = 0; v < NVT; ++v) {
                    const __m256 xv = _mm256_loadu_ps(x + (size_t)v * x_stride + k);
                    a0[v] = _mm256_fmadd_ps(w0, xv, a0[v]);
                    a1[v] = _mm256_fmadd_ps(w1, xv, a1[v]);
                }
            }
            if (k < len) {
                const __m256 w0 = gemv_load8_upto(row0, k, len - k, f16), w1 = gemv_load8_upto(row1, k, len - k, f16);
                for (int v = 0; v < NVT; ++v) {
                    const __m256 xv = load_f32x8_upto(x + (size_t)v * x_stride + k, len - k);
                    a0[v] = _mm256_fmadd_ps(w0, xv, a0[v]);
                    a1[v] = _mm256_fmadd_ps(w1, xv, a1[v]);
                }
            }
        }
        for (int v = 0; v < NVT; ++v) {
            ys[(size_t)v * y_stride + r] = hsum8_ps(a0[v]);
            ys[(size_t)v * y_stride + r + 1] = hsum8_ps(a1[v]);
        }
    }
    for (; r < rows; ++r) {
        __m256 acc[4];
        for (int v = 0; v < NVT; ++v) acc[v] = _mm256_setzero_ps();
        const uint8_t *row = gemv_at(w, r * w_stride, f16);
        for (size_t s0 = 0; s0 < n; s0 += seg, row = gemv_at(row, seg_stride, f16)) {
            const float *x = xs + s0;
            const size_t len = n - s0 < seg ? n - s0 : seg;
            size_t k = 0;
            for (; k + 8 <= len; k += 8) {
                const __m256 wk = gemv_load8(row, k, f16);
                for (int v = 0; v < NVT; ++v)
                    acc[v] = _mm256_fmadd_ps(wk, _mm256_loadu_ps(x + (size_t)v * x_stride + k), acc[v]);
            }
            if (k < len) {   // the partial last chunk: lanes past n are 0
                const __m256 wk = gemv_load8_upto(row, k, len - k, f16);
                for (int v = 0; v < NVT; ++v)
                    acc[v] = _mm256_fmadd_ps(wk, load_f32x8_upto(x + (size_t)v * x_stride + k, len - k), acc[v]);
            }
        }
        for (int v = 0; v < NVT; ++v) ys[(size_t)v * y_stride + r] = hsum8_ps(acc[v]);
    }
}

static BORA_ALWAYS_INLINE TGT void gemv_single(size_t rows, size_t n, const uint8_t *w, size_t w_stride,
        size_t seg, size_t seg_stride, const float *xs, size_t x_stride, float *ys, size_t y_stride,
        const int NVT, const int f16) {
    for (size_t r = 0; r < rows; ++r) {
        __m256 acc[3][4];
        for (int v = 0; v < NVT; ++v)
            for (int j = 0; j < 4; ++j) acc[v][j] = _mm256_setzero_ps();
        // chunk e (8 elements) goes to accumulator (e/8) mod 4, in increasing e; lanes past n are 0;
        // segments start at multiples of 32, so local and global chunk numbers agree mod 4
        const uint8_t *row = gemv_at(w, r * w_stride, f16);
        for (size_t s0 = 0; s0 < n; s0 += seg, row = gemv_at(row, seg_stride, f16)) {
            const float *x = xs + s0;
            const size_t len = n - s0 < seg ? n - s0 : seg;
            size_t e = 0;
            for (; e + 32 <= len; e += 32)
                for (int j = 0; j < 4; ++j) {
                    const __m256 wk = gemv_load8(row, e + 8 * (size_t)j, f16);
                    for (int v = 0; v < NVT; ++v)
                        acc[v][j] = _mm256_fmadd_ps(wk, _mm256_loadu_ps(x + (size_t)v * x_stride + e + 8 * (size_t)j), acc[v][j]);
                }
            for (int j = 0; e < len; e += 8, ++j) {
                const __m256 wk = gemv_load8_upto(row, e, len - e, f16);
                for (int v = 0; v < NVT; ++v)
                    acc[v][j] = _mm256_fmadd_ps(wk, load_f32x8_upto(x + (size_t)v * x_stride + e, len - e), acc[v][j]);
            }
        }
        for (int v = 0; v < NVT; ++v) {
            const __m256 s = _mm256_add_ps(_mm256_add_ps(acc[v][0], acc[v][2]), _mm256_add_ps(acc[v][1], acc[v][3]));
            const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
            const __m128 t1 = _mm_hadd_ps(t0, t0);
            ys[(size_t)v * y_stride + r] = _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
        }
    }
}

// The same order for short rows (n = 8·CH ≤ 64, e.g. one head's keys): a row is converted once
// into CH registers and serves every vector in turn (four accumulators each: nothing spills), and
// 8 rows' last additions run together (reduce8_single).
static BORA_ALWAYS_INLINE TGT void gemv_single_short(size_t rows, const uint8_t *w, size_t w_stride,
        const float *xs, size_t x_stride, float *ys, size_t y_stride, const int NVT, const int CH, const int f16) {
    for (size_t r = 0; r < rows; r += 8) {
        const size_t count = rows - r < 8 ? rows - r : 8;
        __m256 s[3][8];
        for (size_t i = 0; i < count; ++i) {
            const uint8_t *row = gemv_at(w, (r + i) * w_stride, f16);
            __m256 wk[8];
            for (int c = 0; c < CH; ++c) wk[c] = gemv_load8(row, 8 * c, f16);
            for (int v = 0; v < NVT; ++v) {
                __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
                for (int c = 0; c < CH; ++c)
                    acc[c & 3] = _mm256_fmadd_ps(wk[c], _mm256_loadu_ps(xs + (size_t)v * x_stride + 8 * c), acc[c & 3]);
                s[v][i] = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
            }
        }
        for (int v = 0; v < NVT; ++v) {
            float *y = ys + (size_t)v * y_stride + r;
            if (count == 8) { _mm256_storeu_ps(y, reduce8_single(s[v])); continue; }
            for (size_t i = 0; i < count; ++i) {
                const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(s[v][i]), _mm256_extractf128_ps(s[v][i], 1));
                const __m128 t1 = _mm_hadd_ps(t0, t0);
                y[i] = _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
            }
        }
    }
}

static BORA_ALWAYS_INLINE TGT void gemv_single_any(size_t rows, size_t n, const uint8_t *w, size_t w_stride,
        size_t seg, size_t seg_stride, const float *xs, size_t x_stride, float *ys, size_t y_stride,
        const int NVT, const int f16) {
    switch (n % 8 == 0 && seg >= n ? n : 0) {
    case 64: gemv_single_short(rows, w, w_stride, xs, x_stride, ys, y_stride, NVT, 8, f16); break;
    case 32: gemv_single_short(rows, w, w_stride, xs, x_stride, ys, y_stride, NVT, 4, f16); break;
    default: gemv_single(rows, n, w, w_stride, seg, seg_stride, xs, x_stride, ys, y_stride, NVT, f16); break;
    }
}

static BORA_ALWAYS_INLINE TGT void gemv_avx2(size_t rows, size_t n, const uint8_t *w, size_t w_stride, size_t seg,
        size_t seg_stride, const float *xs, size_t x_stride, size_t nv, float *ys, size_t y_stride, int single,
        const int f16) {
    if (seg == 0 || seg > n) seg = n ? n : 1;
    const size_t per = single ? 3 : 4;
    for (size_t v0 = 0; v0 < nv; v0 += per) {
        const size_t c = nv - v0 < per ? nv - v0 : per;
        const float *x = xs + v0 * x_stride;
        float *y = ys + v0 * y_stride;
        if (single) {
            if (c == 3) gemv_single_any(rows, n, w, w_stride, seg, seg_stride, x, x_stride, y, y_stride, 3, f16);
            else if (c == 2) gemv_single_any(rows, n, w, w_stride, seg, seg_stride, x, x_stride, y, y_stride, 2, f16);
            else gemv_single_any(rows, n, w, w_stride, seg, seg_stride, x, x_stride, y, y_stride, 1, f16);
        } else {
            if (c == 4) gemv_batch(rows, n, w, w_stride, seg, seg_stride, x, x_stride, y, y_stride, 4, f16);
            else if (c == 3) gemv_batch(rows, n, w, w_stride, seg, seg_stride, x, x_stride, y, y_stride, 3, f16);
            else if (c == 2) gemv_batch(rows, n, w, w_stride, seg, seg_stride, x, x_stride, y, y_stride, 2, f16);
            else gemv_batch(rows, n, w, w_stride, seg, seg_stride, x, x_stride, y, y_stride, 1, f16);
        }
    }
}

TGT void bora_llm_gemv_f16_avx2(size_t rows, size_t n, const bora_f16 *w, size_t w_stride, size_t seg, size_t seg_stride,
                                const float *xs, size_t x_stride, size_t nv, float *ys, size_t y_stride, int single) {
    gemv_avx2(rows, n, (const uint8_t *)(const void *)w, w_stride, seg, seg_stride, xs, x_stride, nv, ys, y_stride, single, 1);
}

TGT void bora_llm_gemv_f32_avx2(size_t rows, size_t n, const float *w, size_t w_stride, size_t seg, size_t seg_stride,
                                const float *xs, size_t x_stride, size_t nv, float *ys, size_t y_stride, int single) {
    gemv_avx2(rows, n, (const uint8_t *)(const void *)w, w_stride, seg, seg_stride, xs, x_stride, nv, ys, y_stride, single, 0);
}
#endif
