// The "scalar" set: portable C, the ground truth on the C side. Same semantics as the Swift
// ReferenceKernels: an exact integer dot per block, then times the float scales, summed in
// block order in f32.
#include "kernels_internal.h"

#include <math.h>

// ---- dot ----

static float dot_q4_0_scalar(size_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0.0f;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += Q4_0_BYTES, y += Q8_0_BYTES)
        sum += bora_rd_f16(x) * bora_rd_f16(y) * (float)bora_blk_q4_0_q8_0(x, y);
    return sum;
}

static float dot_q4_1_scalar(size_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0.0f;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += Q4_1_BYTES, y += Q8_1_BYTES) {
        // x = d*q + m, and y.s = dy*sum(qy): sum(x*y) = d*dy*sum(q*qy) + m*s
        sum += bora_rd_f16(x) * bora_rd_f16(y) * (float)bora_blk_q4_1_q8_1(x, y)
             + bora_rd_f16(x + OFF_Q4_1_M) * bora_rd_f16(y + OFF_Q8_1_S);
    }
    return sum;
}

static float dot_q5_0_scalar(size_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0.0f;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += Q5_0_BYTES, y += Q8_0_BYTES)
        sum += bora_rd_f16(x) * bora_rd_f16(y) * (float)bora_blk_q5_0_q8_0(x, y);
    return sum;
}

static float dot_q8_0_scalar(size_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0.0f;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += Q8_0_BYTES, y += Q8_0_BYTES)
        sum += bora_rd_f16(x) * bora_rd_f16(y) * (float)bora_blk_q8_0_q8_0(x, y);
    return sum;
}

static float dot_q4_K_scalar(size_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0.0f;
    for (size_t i = 0; i < n / BORA_QK_K; ++i, x += Q4_K_BYTES, y += Q8_K_BYTES)
        sum += bora_blk_q4_K_q8_K(x, y);
    return sum;
}

static float dot_q6_K_scalar(size_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0.0f;
    for (size_t i = 0; i < n / BORA_QK_K; ++i, x += Q6_K_BYTES, y += Q8_K_BYTES)
        sum += bora_blk_q6_K_q8_K(x, y);
    return sum;
}

static float dot_f16_scalar(size_t n, const void *w, const void *a) {
    const uint8_t *x = w;
    const uint8_t *y = a;
    float sum = 0.0f;
    for (size_t i = 0; i < n; ++i) sum += bora_rd_f16(x + 2 * i) * bora_rd_f32(y + 4 * i);
    return sum;
}

static float dot_bf16_scalar(size_t n, const void *w, const void *a) {
    const uint8_t *x = w;
    const uint8_t *y = a;
    float sum = 0.0f;
    for (size_t i = 0; i < n; ++i) sum += bora_bf16_to_float(bora_rd_u16(x + 2 * i)) * bora_rd_f32(y + 4 * i);
    return sum;
}

static float dot_f32_scalar(size_t n, const void *w, const void *a) {
    const uint8_t *x = w;
    const uint8_t *y = a;
    float sum = 0.0f;
    for (size_t i = 0; i < n; ++i) sum += bora_rd_f32(x + 4 * i) * bora_rd_f32(y + 4 * i);
    return sum;
}

// ---- gemm: the contract spelled out as loops over dot (the scalar set is the reference) ----

static BORA_ALWAYS_INLINE void gemm_by_dot(bora_dot_fn dot, size_t n, const void *w, size_t w_row_bytes,
                                           size_t r0, size_t r1, const void *a, size_t a_row_bytes,
                                           size_t nv, float *y, size_t ldy) {
    for (size_t r = r0; r < r1; ++r)
        for (size_t v = 0; v < nv; ++v)
            y[v * ldy + r] = dot(n, (const uint8_t *)w + r * w_row_bytes, (const uint8_t *)a + v * a_row_bytes);
}

#define GEMM_SCALAR_ARGS size_t n, const void *w, size_t wrb, size_t r0, size_t r1, const void *a, size_t arb, size_t nv, float *y, size_t ldy
static void gemm_q4_0_scalar(GEMM_SCALAR_ARGS) { gemm_by_dot(dot_q4_0_scalar, n, w, wrb, r0, r1, a, arb, nv, y, ldy); }
static void gemm_q4_1_scalar(GEMM_SCALAR_ARGS) { gemm_by_dot(dot_q4_1_scalar, n, w, wrb, r0, r1, a, arb, nv, y, ldy); }
static void gemm_q5_0_scalar(GEMM_SCALAR_ARGS) { gemm_by_dot(dot_q5_0_scalar, n, w, wrb, r0, r1, a, arb, nv, y, ldy); }
static void gemm_q8_0_scalar(GEMM_SCALAR_ARGS) { gemm_by_dot(dot_q8_0_scalar, n, w, wrb, r0, r1, a, arb, nv, y, ldy); }
static void gemm_q4_K_scalar(GEMM_SCALAR_ARGS) { gemm_by_dot(dot_q4_K_scalar, n, w, wrb, r0, r1, a, arb, nv, y, ldy); }
static void gemm_q6_K_scalar(GEMM_SCALAR_ARGS) { gemm_by_dot(dot_q6_K_scalar, n, w, wrb, r0, r1, a, arb, nv, y, ldy); }
static void gemm_f16_scalar(GEMM_SCALAR_ARGS) { gemm_by_dot(dot_f16_scalar, n, w, wrb, r0, r1, a, arb, nv, y, ldy); }
static void gemm_bf16_scalar(GEMM_SCALAR_ARGS) { gemm_by_dot(dot_bf16_scalar, n, w, wrb, r0, r1, a, arb, nv, y, ldy); }
static void gemm_f32_scalar(GEMM_SCALAR_ARGS) { gemm_by_dot(dot_f32_scalar, n, w, wrb, r0, r1, a, arb, nv, y, ldy); }

// ---- quantize ----

// Activation blocks as llama.cpp's SIMD quantize_row_q8_0 / quantize_row_q8_1 (x86 AVX/AVX2 and
// ARM NEON paths alike): d = amax/127 (stored as f16), q = round-half-even(x * (127/amax)).
// (The generic *_ref quantizers use roundf(x * (1/d)); the SIMD ones are what llama.cpp runs, and
// an activation quantized one way differs from the other in about one element per token.)
// nearbyintf rounds half to even in the default rounding mode. Returns d; *sum = sum(q).
static float quantize_act_block32(const float *x, int8_t *q, int *sum) {
    float amax = 0.0f;
    for (int j = 0; j < BORA_QK; ++j) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int s = 0;
    for (int j = 0; j < BORA_QK; ++j) {
        q[j] = (int8_t)nearbyintf(x[j] * id);
        s += q[j];
    }
    *sum = s;
    return d;
}

static void quantize_q8_0_scalar(const float *x, void *out, size_t n) {
    uint8_t *y = out;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += BORA_QK, y += Q8_0_BYTES) {
        int sum;
        const uint16_t dh = bora_f32_to_f16(quantize_act_block32(x, (int8_t *)(y + OFF_Q8_0_QS), &sum));
        memcpy(y, &dh, 2);
    }
}

// Q8_1: as Q8_0, plus s = f16(d * sum(q)) with the f32 d.
static void quantize_q8_1_scalar(const float *x, void *out, size_t n) {
    uint8_t *y = out;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += BORA_QK, y += Q8_1_BYTES) {
        int sum;
        const float d = quantize_act_block32(x, (int8_t *)(y + OFF_Q8_1_QS), &sum);
        const uint16_t dh = bora_f32_to_f16(d), sh = bora_f32_to_f16(d * (float)sum);
        memcpy(y, &dh, 2);
        memcpy(y + OFF_Q8_1_S, &sh, 2);
    }
}

// ggml's nearest_int: round half to even through the 1.5*2^23 trick (|v| < 2^22).
static inline int nearest_int(float v) {
    const float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

// quantize_row_q8_K_ref as of current ggml: `max` is the first element with the largest |x|
// (its sign kept), iscale = -127/max, q = min(127, nearest_int(iscale*x)) (ties to even),
// d = 1/iscale (f32). Note -127, not the older -128: the q range is symmetric [-127, 127],
// which the sign trick in the SIMD dots relies on. An all-zero block gets d = 0, q = 0 and
// (unlike ggml, which leaves them stale) bsums = 0.
static void quantize_q8_K_scalar(const float *x, void *out, size_t n) {
    uint8_t *y = out;
    for (size_t i = 0; i < n / BORA_QK_K; ++i, x += BORA_QK_K, y += Q8_K_BYTES) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < BORA_QK_K; ++j) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0.0f) {
            memset(y, 0, Q8_K_BYTES);
            continue;
        }
        const float iscale = -127.0f / max;
        int8_t *q = (int8_t *)(y + OFF_Q8_K_QS);
        for (int j = 0; j < BORA_QK_K; ++j) {
            const int v = nearest_int(iscale * x[j]);
            q[j] = (int8_t)(v < 127 ? v : 127);
        }
        bora_q8_K_finish(y, q, iscale);
    }
}

// Portable F32 GEMM: vector extensions lowered to the baseline ISA (SSE2 on x86-64, NEON on AArch64).
#define SGEMM_NAME sgemm_portable
#define SGEMM_TARGET
#include "kernels_sgemm_body.h"
#undef SGEMM_NAME
#undef SGEMM_TARGET

void bora_fill_scalar(bora_kernel_set *s) {
    memset(s, 0, sizeof *s);
    s->name = "scalar";
    s->sgemm = sgemm_portable;
    s->swiglu = bora_llm_swiglu_portable;
    s->softmax = bora_llm_softmax_portable;
    s->rope = bora_llm_rope_portable;
    s->gemv_f16 = bora_llm_gemv_f16_portable;
    s->gemv_f32 = bora_llm_gemv_f32_portable;
    s->dot[BORA_TYPE_Q4_0] = dot_q4_0_scalar;   s->gemm[BORA_TYPE_Q4_0] = gemm_q4_0_scalar;
    s->dot[BORA_TYPE_Q4_1] = dot_q4_1_scalar;   s->gemm[BORA_TYPE_Q4_1] = gemm_q4_1_scalar;
    s->dot[BORA_TYPE_Q5_0] = dot_q5_0_scalar;   s->gemm[BORA_TYPE_Q5_0] = gemm_q5_0_scalar;
    s->dot[BORA_TYPE_Q8_0] = dot_q8_0_scalar;   s->gemm[BORA_TYPE_Q8_0] = gemm_q8_0_scalar;
    s->dot[BORA_TYPE_Q4_K] = dot_q4_K_scalar;   s->gemm[BORA_TYPE_Q4_K] = gemm_q4_K_scalar;
    s->dot[BORA_TYPE_Q6_K] = dot_q6_K_scalar;   s->gemm[BORA_TYPE_Q6_K] = gemm_q6_K_scalar;
    s->dot[BORA_TYPE_F16] = dot_f16_scalar;     s->gemm[BORA_TYPE_F16] = gemm_f16_scalar;
    s->dot[BORA_TYPE_BF16] = dot_bf16_scalar;   s->gemm[BORA_TYPE_BF16] = gemm_bf16_scalar;
    s->dot[BORA_TYPE_F32] = dot_f32_scalar;     s->gemm[BORA_TYPE_F32] = gemm_f32_scalar;
    s->quantize[BORA_TYPE_Q8_0] = quantize_q8_0_scalar;
    s->quantize[BORA_TYPE_Q8_1] = quantize_q8_1_scalar;
    s->quantize[BORA_TYPE_Q8_K] = quantize_q8_K_scalar;
}
