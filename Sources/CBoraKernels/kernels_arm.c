// AArch64 sets "neon" (ARMv8.0), "dotprod" (ARMv8.2 SDOT) and "i8mm" (SMMLA gemm for Q8_0 and
// Q4_0, dotprod for everything else). Per-function target attributes keep the file buildable
// with baseline flags by both gcc 12 and clang; dispatch.c picks the set from HWCAP/HWCAP2.
#if defined(__aarch64__)

#include "kernels_internal.h"

#include <arm_neon.h>

// gcc's arm_neon.h guards vdotq_s32 with arch=armv8.2-a+dotprod, so "+dotprod" alone on an
// armv8-a function fails to inline it; clang spells features without "arch=".
#if defined(__clang__)
#define BORA_TARGET_DOTPROD __attribute__((target("dotprod")))
#define BORA_TARGET_I8MM __attribute__((target("dotprod,i8mm")))
#else
#define BORA_TARGET_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define BORA_TARGET_I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))
#endif

// f16 -> f32 with the ARMv8 fcvt (exact, like bora_half_to_float)
static inline float arm_f16(const uint8_t *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

// ---- quantize (baseline NEON, shared by all three sets) ----

// one 32-float block -> 32 int8: q = round-half-even(x * (127/amax)) via vcvtnq, as llama.cpp's
// SIMD quantize_row_q8_0/q8_1 (see kernels_scalar.c)
static float arm_quantize_block32(const float *x, uint8_t *q, int *sum) {
    float32x4_t v[8];
    float32x4_t amax = vdupq_n_f32(0.0f);
    for (int k = 0; k < 8; ++k) {
        v[k] = vld1q_f32(x + 4 * k);
        amax = vmaxq_f32(amax, vabsq_f32(v[k]));
    }
    const float max = vmaxvq_f32(amax);
    const float d = max / 127.0f;
    const float id = max != 0.0f ? 127.0f / max : 0.0f;
    int32x4_t r[8];
    int32x4_t s = vdupq_n_s32(0);
    for (int k = 0; k < 8; ++k) {
        r[k] = vcvtnq_s32_f32(vmulq_n_f32(v[k], id));
        s = vaddq_s32(s, r[k]);
    }
    for (int k = 0; k < 8; k += 4) {   // i32 -> i16 -> i8
        const int16x8_t a = vcombine_s16(vmovn_s32(r[k]), vmovn_s32(r[k + 1]));
        const int16x8_t b = vcombine_s16(vmovn_s32(r[k + 2]), vmovn_s32(r[k + 3]));
        vst1q_u8(q + 4 * k, vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(a), vmovn_s16(b))));
    }
    *sum = vaddvq_s32(s);
    return d;
}

static void arm_quantize_q8_0(const float *x, void *out, size_t n) {
    uint8_t *y = out;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += BORA_QK, y += Q8_0_BYTES) {
        int sum;
        const uint16_t dh = bora_f32_to_f16(arm_quantize_block32(x, y + OFF_Q8_0_QS, &sum));
        memcpy(y, &dh, 2);
    }
}

static void arm_quantize_q8_1(const float *x, void *out, size_t n) {
    uint8_t *y = out;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += BORA_QK, y += Q8_1_BYTES) {
        int sum;
        const float d = arm_quantize_block32(x, y + OFF_Q8_1_QS, &sum);
        const uint16_t dh = bora_f32_to_f16(d), sh = bora_f32_to_f16((float)sum * d);
        memcpy(y, &dh, 2);
        memcpy(y + OFF_Q8_1_S, &sh, 2);
    }
}

// quantize_row_q8_K_ref (see kernels_scalar.c); vcvtnq rounds ties to even like nearest_int
static void arm_quantize_q8_K(const float *x, void *out, size_t n) {
    uint8_t *y = out;
    for (size_t i = 0; i < n / BORA_QK_K; ++i, x += BORA_QK_K, y += Q8_K_BYTES) {
        float32x4_t amaxv = vdupq_n_f32(0.0f);
        for (int k = 0; k < BORA_QK_K; k += 4) amaxv = vmaxq_f32(amaxv, vabsq_f32(vld1q_f32(x + k)));
        const float amax = vmaxvq_f32(amaxv);
        if (amax == 0.0f) {
            memset(y, 0, Q8_K_BYTES);
            continue;
        }
        int first = 0;   // first element with |x| == amax keeps its sign
        while (x[first] != amax && x[first] != -amax) ++first;
        const float iscale = -127.0f / x[first];
        const int32x4_t q127 = vdupq_n_s32(127);
        int8_t *q = (int8_t *)(y + OFF_Q8_K_QS);
        for (int k = 0; k < BORA_QK_K; k += 16) {
            int32x4_t r[4];
            for (int j = 0; j < 4; ++j) r[j] = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + k + 4 * j), iscale)), q127);
            const int16x8_t a = vcombine_s16(vmovn_s32(r[0]), vmovn_s32(r[1]));
            const int16x8_t b = vcombine_s16(vmovn_s32(r[2]), vmovn_s32(r[3]));
            const int8x16_t q16 = vcombine_s8(vmovn_s16(a), vmovn_s16(b));
            vst1q_s8(q + k, q16);
            const int16_t bs = (int16_t)vaddlvq_s8(q16);   // bsums[k/16]
            memcpy(y + OFF_Q8_K_BSUMS + 2 * (k / 16), &bs, 2);
        }
        const float d = 1.0f / iscale;
        memcpy(y, &d, 4);
    }
}

// ---- "neon" and "dotprod": one body, two int8 dot primitives ----

#define ARM_CAT_(a, b) a##_##b
#define ARM_CAT(a, b) ARM_CAT_(a, b)

#define ARM_TARGET
#define ARM_FN(name) ARM_CAT(name, neon)
#define ARM_DOTPROD 0
#define ARM_SET_NAME "neon"
#define ARM_FILL bora_fill_neon
#include "kernels_arm_body.h"
#undef ARM_TARGET
#undef ARM_FN
#undef ARM_DOTPROD
#undef ARM_SET_NAME
#undef ARM_FILL

#define ARM_TARGET BORA_TARGET_DOTPROD
#define ARM_FN(name) ARM_CAT(name, dotprod)
#define ARM_DOTPROD 1
#define ARM_SET_NAME "dotprod"
#define ARM_FILL bora_fill_dotprod
#include "kernels_arm_body.h"

// ---- "i8mm": 2 weight rows x 2 vectors per SMMLA ----
// vmmlaq_s32(acc, A, B) with A = 2x8 int8 (two rows' 8-element chunks), B = 2x8 (two
// vectors' chunks) adds [r0.v0, r0.v1, r1.v0, r1.v1]: one instruction per output per 8 elements.

static BORA_ALWAYS_INLINE BORA_TARGET_I8MM int32x4_t i8mm_block(int8x16_t x0a, int8x16_t x0b, int8x16_t x1a, int8x16_t x1b,
                                                                const uint8_t *y0, const uint8_t *y1) {
    const int64x2_t y0a = vreinterpretq_s64_u8(vld1q_u8(y0)), y0b = vreinterpretq_s64_u8(vld1q_u8(y0 + 16));
    const int64x2_t y1a = vreinterpretq_s64_u8(vld1q_u8(y1)), y1b = vreinterpretq_s64_u8(vld1q_u8(y1 + 16));
    const int64x2_t w0a = vreinterpretq_s64_s8(x0a), w0b = vreinterpretq_s64_s8(x0b);
    const int64x2_t w1a = vreinterpretq_s64_s8(x1a), w1b = vreinterpretq_s64_s8(x1b);
    // interleave 8-byte chunks: (row0 | row1) and (vec0 | vec1) as 2x8 matrices
    int32x4_t s0 = vmmlaq_s32(vdupq_n_s32(0), vreinterpretq_s8_s64(vzip1q_s64(w0a, w1a)), vreinterpretq_s8_s64(vzip1q_s64(y0a, y1a)));
    int32x4_t s1 = vmmlaq_s32(vdupq_n_s32(0), vreinterpretq_s8_s64(vzip2q_s64(w0a, w1a)), vreinterpretq_s8_s64(vzip2q_s64(y0a, y1a)));
    s0 = vmmlaq_s32(s0, vreinterpretq_s8_s64(vzip1q_s64(w0b, w1b)), vreinterpretq_s8_s64(vzip1q_s64(y0b, y1b)));
    s1 = vmmlaq_s32(s1, vreinterpretq_s8_s64(vzip2q_s64(w0b, w1b)), vreinterpretq_s8_s64(vzip2q_s64(y0b, y1b)));
    return vaddq_s32(s0, s1);
}

// [dw0*dy0, dw0*dy1, dw1*dy0, dw1*dy1]
static inline float32x4_t i8mm_scales(float dw0, float dw1, float dy0, float dy1) {
    const float ws[4] = {dw0, dw0, dw1, dw1}, ys[4] = {dy0, dy1, dy0, dy1};
    return vmulq_f32(vld1q_f32(ws), vld1q_f32(ys));
}

static BORA_TARGET_I8MM void i8mm_2x2_q8_0(size_t nb, const uint8_t *w0, const uint8_t *w1,
                                           const uint8_t *y0, const uint8_t *y1, float out[4]) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (size_t i = 0; i < nb; ++i) {
        const uint8_t *x0 = w0 + i * Q8_0_BYTES, *x1 = w1 + i * Q8_0_BYTES;
        const uint8_t *b0 = y0 + i * Q8_0_BYTES, *b1 = y1 + i * Q8_0_BYTES;
        const int8x16_t x0a = vld1q_s8((const int8_t *)(x0 + OFF_Q8_0_QS)), x0b = vld1q_s8((const int8_t *)(x0 + OFF_Q8_0_QS) + 16);
        const int8x16_t x1a = vld1q_s8((const int8_t *)(x1 + OFF_Q8_0_QS)), x1b = vld1q_s8((const int8_t *)(x1 + OFF_Q8_0_QS) + 16);
        const int32x4_t p = i8mm_block(x0a, x0b, x1a, x1b, b0 + OFF_Q8_0_QS, b1 + OFF_Q8_0_QS);
        acc = vfmaq_f32(acc, vcvtq_f32_s32(p), i8mm_scales(arm_f16(x0), arm_f16(x1), arm_f16(b0), arm_f16(b1)));
    }
    vst1q_f32(out, acc);
}

static BORA_TARGET_I8MM void i8mm_2x2_q4_0(size_t nb, const uint8_t *w0, const uint8_t *w1,
                                           const uint8_t *y0, const uint8_t *y1, float out[4]) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t s8 = vdupq_n_s8(8);
    for (size_t i = 0; i < nb; ++i) {
        const uint8_t *x0 = w0 + i * Q4_0_BYTES, *x1 = w1 + i * Q4_0_BYTES;
        const uint8_t *b0 = y0 + i * Q8_0_BYTES, *b1 = y1 + i * Q8_0_BYTES;
        const uint8x16_t q0 = vld1q_u8(x0 + OFF_Q4_0_QS), q1 = vld1q_u8(x1 + OFF_Q4_0_QS);
        // 4-bit -> 8-bit, sub 8
        const int8x16_t x0a = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q0, m4)), s8), x0b = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), s8);
        const int8x16_t x1a = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q1, m4)), s8), x1b = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), s8);
        const int32x4_t p = i8mm_block(x0a, x0b, x1a, x1b, b0 + OFF_Q8_0_QS, b1 + OFF_Q8_0_QS);
        acc = vfmaq_f32(acc, vcvtq_f32_s32(p), i8mm_scales(arm_f16(x0), arm_f16(x1), arm_f16(b0), arm_f16(b1)));
    }
    vst1q_f32(out, acc);
}

// Row pairs x vector pairs through SMMLA; an odd last vector or row goes to the dotprod kernels.
static BORA_ALWAYS_INLINE BORA_TARGET_I8MM void i8mm_gemm(void (*kernel2x2)(size_t, const uint8_t *, const uint8_t *, const uint8_t *, const uint8_t *, float *),
                                                          bora_dot_fn dot, bora_gemm_fn gemm, BORA_GEMM_ARGS) {
    if (nv < 2) {
        gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy);
        return;
    }
    const uint8_t *wb = w, *ab = a;
    size_t r = r0;
    for (; r + 2 <= r1; r += 2) {
        const uint8_t *w0 = wb + r * wrb, *w1 = w0 + wrb;
        size_t v = 0;
        for (; v + 2 <= nv; v += 2) {
            float o[4];
            kernel2x2(n / BORA_QK, w0, w1, ab + v * arb, ab + (v + 1) * arb, o);
            y[v * ldy + r] = o[0];
            y[(v + 1) * ldy + r] = o[1];
            y[v * ldy + r + 1] = o[2];
            y[(v + 1) * ldy + r + 1] = o[3];
        }
        if (v < nv) {
            y[v * ldy + r] = dot(n, w0, ab + v * arb);
            y[v * ldy + r + 1] = dot(n, w1, ab + v * arb);
        }
    }
    if (r < r1) gemm(n, w, wrb, r, r1, a, arb, nv, y, ldy);
}

static BORA_TARGET_I8MM void gemm_q8_0_i8mm(BORA_GEMM_ARGS) {
    i8mm_gemm(i8mm_2x2_q8_0, dot_q8_0_dotprod, gemm_q8_0_dotprod, n, w, wrb, r0, r1, a, arb, nv, y, ldy);
}

static BORA_TARGET_I8MM void gemm_q4_0_i8mm(BORA_GEMM_ARGS) {
    i8mm_gemm(i8mm_2x2_q4_0, dot_q4_0_dotprod, gemm_q4_0_dotprod, n, w, wrb, r0, r1, a, arb, nv, y, ldy);
}

void bora_fill_i8mm(bora_kernel_set *s) {
    bora_fill_dotprod(s);
    s->name = "i8mm";
    s->gemm[BORA_TYPE_Q8_0] = gemm_q8_0_i8mm;
    s->gemm[BORA_TYPE_Q4_0] = gemm_q4_0_i8mm;
}

#endif
