// Private to CBoraKernels: byte-level block accessors, the per-block integer dots that
// every set uses for its scalar tail, and the per-set table fillers used by dispatch.c.
//
// Blocks are addressed through `const uint8_t *` plus field offsets and read with memcpy,
// never through a `bora_block_*` pointer: the contract allows unaligned rows, and a
// misaligned struct pointer is undefined behaviour even where the hardware copes.
#ifndef BORA_KERNELS_INTERNAL_H
#define BORA_KERNELS_INTERNAL_H

#include "bora_kernels.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BORA_ALWAYS_INLINE inline __attribute__((always_inline))

// Bytes per block / elements per block of every type with a kernel.
enum {
    Q4_0_BYTES = sizeof(bora_block_q4_0),
    Q4_1_BYTES = sizeof(bora_block_q4_1),
    Q5_0_BYTES = sizeof(bora_block_q5_0),
    Q8_0_BYTES = sizeof(bora_block_q8_0),
    Q8_1_BYTES = sizeof(bora_block_q8_1),
    Q4_K_BYTES = sizeof(bora_block_q4_K),
    Q6_K_BYTES = sizeof(bora_block_q6_K),
    Q8_K_BYTES = sizeof(bora_block_q8_K),
};

// Field offsets, spelled once.
#define OFF_Q8_0_QS offsetof(bora_block_q8_0, qs)
#define OFF_Q8_1_S offsetof(bora_block_q8_1, s)
#define OFF_Q8_1_QS offsetof(bora_block_q8_1, qs)
#define OFF_Q4_0_QS offsetof(bora_block_q4_0, qs)
#define OFF_Q4_1_M offsetof(bora_block_q4_1, m)
#define OFF_Q4_1_QS offsetof(bora_block_q4_1, qs)
#define OFF_Q5_0_QH offsetof(bora_block_q5_0, qh)
#define OFF_Q5_0_QS offsetof(bora_block_q5_0, qs)
#define OFF_Q4_K_DMIN offsetof(bora_block_q4_K, dmin)
#define OFF_Q4_K_SCALES offsetof(bora_block_q4_K, scales)
#define OFF_Q4_K_QS offsetof(bora_block_q4_K, qs)
#define OFF_Q6_K_QL offsetof(bora_block_q6_K, ql)
#define OFF_Q6_K_QH offsetof(bora_block_q6_K, qh)
#define OFF_Q6_K_SCALES offsetof(bora_block_q6_K, scales)
#define OFF_Q6_K_D offsetof(bora_block_q6_K, d)
#define OFF_Q8_K_QS offsetof(bora_block_q8_K, qs)
#define OFF_Q8_K_BSUMS offsetof(bora_block_q8_K, bsums)

static inline uint16_t bora_rd_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t bora_rd_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline float bora_rd_f32(const uint8_t *p) { float v; memcpy(&v, p, 4); return v; }
static inline int16_t bora_rd_i16(const uint8_t *p) { int16_t v; memcpy(&v, p, 2); return v; }

// IEEE binary16 -> binary32, exact for every input (subnormals via an exact int->float
// multiply). Portable; SIMD sets use the hardware conversion, which is also exact.
static inline float bora_half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t em = h & 0x7fffu;
    uint32_t bits;
    if (em >= 0x7c00u) {                      // inf / nan: keep the payload
        bits = sign | 0x7f800000u | ((em & 0x3ffu) << 13);
    } else if (em >= 0x0400u) {               // normal: rebias exponent 15 -> 127
        bits = sign | ((em << 13) + 0x38000000u);
    } else {                                  // zero / subnormal: em * 2^-24
        const float f = (float)em * 5.9604644775390625e-08f;
        memcpy(&bits, &f, 4);
        bits |= sign;
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

static inline float bora_rd_f16(const uint8_t *p) { return bora_half_to_float(bora_rd_u16(p)); }

// ---- per-block integer dots (the scalar ground truth, and every set's tail) ----

static inline int32_t bora_blk_q4_0_q8_0(const uint8_t *x, const uint8_t *y) {
    const uint8_t *qx = x + OFF_Q4_0_QS;
    const int8_t *qy = (const int8_t *)(y + OFF_Q8_0_QS);
    int32_t s = 0;
    for (int j = 0; j < 16; ++j) {
        s += ((qx[j] & 0x0F) - 8) * qy[j];
        s += ((qx[j] >> 4) - 8) * qy[j + 16];
    }
    return s;
}

static inline int32_t bora_blk_q4_1_q8_1(const uint8_t *x, const uint8_t *y) {
    const uint8_t *qx = x + OFF_Q4_1_QS;
    const int8_t *qy = (const int8_t *)(y + OFF_Q8_1_QS);
    int32_t s = 0;
    for (int j = 0; j < 16; ++j) {
        s += (qx[j] & 0x0F) * qy[j];
        s += (qx[j] >> 4) * qy[j + 16];
    }
    return s;
}

static inline int32_t bora_blk_q5_0_q8_0(const uint8_t *x, const uint8_t *y) {
    const uint32_t qh = bora_rd_u32(x + OFF_Q5_0_QH);
    const uint8_t *qx = x + OFF_Q5_0_QS;
    const int8_t *qy = (const int8_t *)(y + OFF_Q8_0_QS);
    int32_t s = 0;
    for (int j = 0; j < 16; ++j) {
        const int h0 = (int)((qh >> j) & 1u) << 4;          // bit j    -> element j
        const int h1 = (int)((qh >> (j + 16)) & 1u) << 4;   // bit j+16 -> element j+16
        s += (((qx[j] & 0x0F) | h0) - 16) * qy[j];
        s += (((qx[j] >> 4) | h1) - 16) * qy[j + 16];
    }
    return s;
}

static inline int32_t bora_blk_q8_0_q8_0(const uint8_t *x, const uint8_t *y) {
    const int8_t *qx = (const int8_t *)(x + OFF_Q8_0_QS);
    const int8_t *qy = (const int8_t *)(y + OFF_Q8_0_QS);
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += qx[j] * qy[j];
    return s;
}

// ggml's get_scale_min_k4: 6-bit scale and min of sub-block j (0..7) of a Q4_K block.
static inline void bora_q4_K_scale_min(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// One Q4_K x Q8_K super-block as float: d*sum(sc*q*a) - dmin*sum(m*bsums).
static inline float bora_blk_q4_K_q8_K(const uint8_t *x, const uint8_t *y) {
    const uint8_t *scales = x + OFF_Q4_K_SCALES;
    const uint8_t *qs = x + OFF_Q4_K_QS;
    const int8_t *q8 = (const int8_t *)(y + OFF_Q8_K_QS);
    int32_t sumi = 0, summ = 0;
    for (int s = 0; s < 8; ++s) {
        int sc, m;
        bora_q4_K_scale_min(s, scales, &sc, &m);
        const uint8_t *q = qs + 32 * (s / 2);
        const int shift = (s & 1) * 4;
        int32_t t = 0;
        for (int l = 0; l < 32; ++l) t += ((q[l] >> shift) & 0x0F) * q8[32 * s + l];
        sumi += sc * t;
        summ += m * (bora_rd_i16(y + OFF_Q8_K_BSUMS + 4 * s) + bora_rd_i16(y + OFF_Q8_K_BSUMS + 4 * s + 2));
    }
    const float dy = bora_rd_f32(y);
    return bora_rd_f16(x) * dy * (float)sumi - bora_rd_f16(x + OFF_Q4_K_DMIN) * dy * (float)summ;
}

// One Q6_K x Q8_K super-block as float: d * sum over 16-element groups of sc[g]*sum((q-32)*a).
static inline float bora_blk_q6_K_q8_K(const uint8_t *x, const uint8_t *y) {
    const int8_t *q8 = (const int8_t *)(y + OFF_Q8_K_QS);
    const int8_t *sc = (const int8_t *)(x + OFF_Q6_K_SCALES);
    int32_t isum = 0;
    for (int h = 0; h < 2; ++h) {                       // two halves of 128 elements
        const uint8_t *ql = x + OFF_Q6_K_QL + 64 * h;
        const uint8_t *qh = x + OFF_Q6_K_QH + 32 * h;
        for (int k = 0; k < 4; ++k) {                   // four runs of 32 elements
            for (int g = 0; g < 2; ++g) {               // two scale groups of 16
                int32_t t = 0;
                for (int l = 16 * g; l < 16 * g + 16; ++l) {
                    const uint8_t lo = (k & 1) ? ql[l + 32] : ql[l];
                    const int nib = (k >= 2) ? (lo >> 4) : (lo & 0x0F);
                    const int q = (nib | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
                    t += q * q8[128 * h + 32 * k + l];
                }
                isum += sc[8 * h + 2 * k + g] * t;
            }
        }
    }
    return bora_rd_f16(x + OFF_Q6_K_D) * bora_rd_f32(y) * (float)isum;
}

static inline float bora_bf16_to_float(uint16_t h) {
    const uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// ---- shared gemm driver for the SIMD sets ----
// Rows outer, tiles of up to 4 activation vectors inner, so each weight block is loaded and
// decoded once per tile. TILE(nb, w_row, a_tile, a_row_bytes, out, NV, K) is an always-inline
// function; every NV in 1..4 is a constant here, so each gets its own unrolled copy, and
// NV == 1 is exactly the set's dot. K is the tile's own constant, passed through (the
// instruction-set variant, or the float element kind). Expects the bora_gemm_fn parameters to
// be named n, w, wrb, r0, r1, a, arb, nv, y, ldy.
#define BORA_GEMM_ARGS size_t n, const void *w, size_t wrb, size_t r0, size_t r1, \
                       const void *a, size_t arb, size_t nv, float *y, size_t ldy
#define BORA_GEMM_TILED(TILE, nb, K)                                                       \
    do {                                                                                  \
        for (size_t r = r0; r < r1; ++r) {                                                \
            const uint8_t *w_row = (const uint8_t *)w + r * wrb;                          \
            float o[4];                                                                   \
            size_t v = 0;                                                                 \
            for (; v + 4 <= nv; v += 4) {                                                 \
                TILE((nb), w_row, (const uint8_t *)a + v * arb, arb, o, 4, (K));          \
                for (int t = 0; t < 4; ++t) y[(v + t) * ldy + r] = o[t];                  \
            }                                                                             \
            const uint8_t *a_tile = (const uint8_t *)a + v * arb;                         \
            switch (nv - v) {                                                             \
            case 3: TILE((nb), w_row, a_tile, arb, o, 3, (K)); break;                     \
            case 2: TILE((nb), w_row, a_tile, arb, o, 2, (K)); break;                     \
            case 1: TILE((nb), w_row, a_tile, arb, o, 1, (K)); break;                     \
            default: break;                                                               \
            }                                                                             \
            for (size_t t = 0; t < nv - v; ++t) y[(v + t) * ldy + r] = o[t];              \
        }                                                                                 \
    } while (0)

// ---- register-tiled gemm driver: RR weight rows x NV activation vectors per tile ----
// TILE(nb, w_rows, wrb, a_tile, arb, out, RR, NV, K) computes out[rr*4 + v] for rr < RR, v < NV
// (RR, NV <= 4): each weight block is decoded once per tile and reused across NV vectors, each
// activation block once per tile and reused across RR rows. Leftover rows use RR = 1, leftover
// vectors NV = 1..3. K and the parameter naming as in BORA_GEMM_TILED.
#define BORA_GEMM_RV_STORE_(RR_, cnt)                                                      \
    for (int rr = 0; rr < (RR_); ++rr)                                                    \
        for (size_t t = 0; t < (cnt); ++t) y[(v + t) * ldy + r + rr] = o[rr * 4 + t]
#define BORA_GEMM_RV_ROWS_(TILE, nb, RR_, NV_, K)                                         \
    do {                                                                                  \
        const uint8_t *w_rows = (const uint8_t *)w + r * wrb;                             \
        float o[16];                                                                      \
        size_t v = 0;                                                                     \
        for (; v + (NV_) <= nv; v += (NV_)) {                                             \
            TILE((nb), w_rows, wrb, (const uint8_t *)a + v * arb, arb, o, (RR_), (NV_), (K)); \
            BORA_GEMM_RV_STORE_(RR_, (size_t)(NV_));                                      \
        }                                                                                 \
        const uint8_t *a_tile = (const uint8_t *)a + v * arb;                             \
        const size_t rem = nv - v;                                                        \
        if ((NV_) > 3 && rem == 3) TILE((nb), w_rows, wrb, a_tile, arb, o, (RR_), 3, (K)); \
        else if ((NV_) > 2 && rem == 2) TILE((nb), w_rows, wrb, a_tile, arb, o, (RR_), 2, (K)); \
        else if ((NV_) > 1 && rem == 1) TILE((nb), w_rows, wrb, a_tile, arb, o, (RR_), 1, (K)); \
        BORA_GEMM_RV_STORE_(RR_, rem);                                                    \
    } while (0)
#define BORA_GEMM_RV(TILE, nb, RR_, NV_, K)                                               \
    do {                                                                                  \
        size_t r = r0;                                                                    \
        for (; r + (RR_) <= r1; r += (RR_)) BORA_GEMM_RV_ROWS_(TILE, nb, RR_, NV_, K);    \
        for (; r < r1; ++r) BORA_GEMM_RV_ROWS_(TILE, nb, 1, NV_, K);                      \
    } while (0)

// Q8_K block epilogue shared by every quantizer: bsums[g] = sum of q[16g..16g+15], d = 1/iscale.
static inline void bora_q8_K_finish(uint8_t *y, const int8_t *q, float iscale) {
    for (int g = 0; g < BORA_QK_K / 16; ++g) {
        int16_t s = 0;
        for (int l = 0; l < 16; ++l) s = (int16_t)(s + q[16 * g + l]);
        memcpy(y + OFF_Q8_K_BSUMS + 2 * g, &s, 2);
    }
    const float d = 1.0f / iscale;
    memcpy(y, &d, 4);
}

// ---- LLM transformer ops (kernels_llm.c) ----
void bora_llm_swiglu_portable(float *gate, const float *up, size_t n);
void bora_llm_rope_portable(float *x, size_t heads, size_t head_dim, size_t rotary_dim, const float *angles);
void bora_llm_softmax_portable(float *x, size_t n);
void bora_llm_gemv_f16_portable(size_t rows, size_t n, const bora_f16 *w, size_t w_stride, size_t seg, size_t seg_stride, const float *x, size_t x_stride, size_t nv, float *y, size_t y_stride, int single);
void bora_llm_gemv_f32_portable(size_t rows, size_t n, const float *w, size_t w_stride, size_t seg, size_t seg_stride, const float *x, size_t x_stride, size_t nv, float *y, size_t y_stride, int single);
#if defined(__x86_64__)
void bora_llm_swiglu_avx2(float *gate, const float *up, size_t n);
void bora_llm_rope_avx2(float *x, size_t heads, size_t head_dim, size_t rotary_dim, const float *angles);
void bora_llm_softmax_avx2(float *x, size_t n);
void bora_llm_gemv_f16_avx2(size_t rows, size_t n, const bora_f16 *w, size_t w_stride, size_t seg, size_t seg_stride, const float *x, size_t x_stride, size_t nv, float *y, size_t y_stride, int single);
void bora_llm_gemv_f32_avx2(size_t rows, size_t n, const float *w, size_t w_stride, size_t seg, size_t seg_stride, const float *x, size_t x_stride, size_t nv, float *y, size_t y_stride, int single);
#endif

// ---- set fillers (dispatch.c) ----
// Each fills every entry it has a kernel for; SIMD fillers start from the scalar set so a
// type without a SIMD body keeps the scalar kernel.
void bora_fill_scalar(bora_kernel_set *s);
#if defined(__x86_64__)
void bora_fill_avx2(bora_kernel_set *s);
void bora_fill_avx512vnni(bora_kernel_set *s);
#endif
#if defined(__aarch64__)
void bora_fill_neon(bora_kernel_set *s);
void bora_fill_dotprod(bora_kernel_set *s);
void bora_fill_i8mm(bora_kernel_set *s);
#endif

#endif
