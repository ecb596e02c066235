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

// ---- "neon" and "dotprod": one body per kernel, two int8 dot primitives ----
// Each body is a static always-inline function without a target attribute (the neon baseline,
// which gcc and clang inline into any aarch64 function) taking a constant `dotprod` (0 / 1); the
// kernels dot_q4_0_neon, dot_q4_0_dotprod, ... are real functions that call it, the dotprod ones
// carrying BORA_TARGET_DOTPROD. Inlined, a body takes its caller's target features and the
// constant folds the set's branch away. The only source difference is dot_s8, the 16-byte int8
// dot-accumulate: vmull + vpadal on neon, SDOT on dotprod.

// SDOT: the dotprod set's only instruction of its own. Called by the bodies only under
// `if (dotprod)`, it is inlined into the dotprod (and i8mm) kernels; it cannot be inlined into a
// baseline function, and no neon kernel calls it.
static inline BORA_TARGET_DOTPROD int32x4_t sdot_dotprod(int32x4_t acc, int8x16_t a, int8x16_t b) {
    return vdotq_s32(acc, a, b);
}

// acc (4 x i32) += products of 16 int8 pairs; only the total of the 4 lanes is meaningful
static BORA_ALWAYS_INLINE int32x4_t dot_s8(int32x4_t acc, int8x16_t a, int8x16_t b, const int dotprod) {
    if (dotprod) return sdot_dotprod(acc, a, b);
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
}

// one 32-element block: x (lo 16, hi 16) . y (32 bytes)
static BORA_ALWAYS_INLINE int32x4_t dot_block(int8x16_t xl, int8x16_t xh, const uint8_t *y, const int dotprod) {
    const int32x4_t p = dot_s8(vdupq_n_s32(0), xl, vld1q_s8((const int8_t *)y), dotprod);
    return dot_s8(p, xh, vld1q_s8((const int8_t *)y + 16), dotprod);
}

// ---- register-tiled kernels (BORA_GEMM_RV): RR rows x NV vectors per tile ----
// Each weight block is decoded once per tile and each activation block loaded once per tile.

// ---- Q4_0 x Q8_0 ----
static BORA_ALWAYS_INLINE void rv_q4_0(size_t nb, const uint8_t *w, size_t wrb, const uint8_t *a,
                                       size_t arb, float *out, const int RR, const int NV, const int dotprod) {
    float32x4_t acc[4][4];
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_f32(0.0f);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t s8 = vdupq_n_s8(8);
    size_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        int8x16_t xl[4][2], xh[4][2];
        float dw[4][2];
        for (int r = 0; r < RR; ++r)
            for (int k = 0; k < 2; ++k) {
                const uint8_t *x = w + r * wrb + (i + k) * Q4_0_BYTES;
                const uint8x16_t b = vld1q_u8(x + OFF_Q4_0_QS);
                // 4-bit -> 8-bit, sub 8
                xl[r][k] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, m4)), s8);
                xh[r][k] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), s8);
                dw[r][k] = arm_f16(x);
            }
        for (int v = 0; v < NV; ++v)
            for (int k = 0; k < 2; ++k) {
                const uint8_t *y = a + v * arb + (i + k) * Q8_0_BYTES;
                const int8x16_t yl = vld1q_s8((const int8_t *)(y + OFF_Q8_0_QS)), yh = vld1q_s8((const int8_t *)(y + OFF_Q8_0_QS) + 16);
                const float dy = arm_f16(y);
                for (int r = 0; r < RR; ++r) {
                    const int32x4_t p = dot_s8(dot_s8(vdupq_n_s32(0), xl[r][k], yl, dotprod), xh[r][k], yh, dotprod);
                    // int -> float, times dw*dy
                    acc[r][v] = vmlaq_n_f32(acc[r][v], vcvtq_f32_s32(p), dw[r][k] * dy);
                }
            }
    }
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) out[r * 4 + v] = vaddvq_f32(acc[r][v]);
    for (; i < nb; ++i)   // scalar tail: the odd last block
        for (int r = 0; r < RR; ++r) {
            const uint8_t *x = w + r * wrb + i * Q4_0_BYTES;
            for (int v = 0; v < NV; ++v) {
                const uint8_t *y = a + v * arb + i * Q8_0_BYTES;
                out[r * 4 + v] += bora_rd_f16(x) * bora_rd_f16(y) * (float)bora_blk_q4_0_q8_0(x, y);
            }
        }
}

// ---- Q4_1 x Q8_1 ----
static BORA_ALWAYS_INLINE void rv_q4_1(size_t nb, const uint8_t *w, size_t wrb, const uint8_t *a,
                                       size_t arb, float *out, const int RR, const int NV, const int dotprod) {
    float32x4_t acc[4][4];
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_f32(0.0f);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    size_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        int8x16_t xl[4][2], xh[4][2];
        float dw[4][2], mw[4][2];
        for (int r = 0; r < RR; ++r)
            for (int k = 0; k < 2; ++k) {
                const uint8_t *x = w + r * wrb + (i + k) * Q4_1_BYTES;
                const uint8x16_t b = vld1q_u8(x + OFF_Q4_1_QS);
                // 4-bit -> 8-bit, q in [0, 15] (fits int8 as is)
                xl[r][k] = vreinterpretq_s8_u8(vandq_u8(b, m4));
                xh[r][k] = vreinterpretq_s8_u8(vshrq_n_u8(b, 4));
                dw[r][k] = arm_f16(x);
                mw[r][k] = arm_f16(x + OFF_Q4_1_M);
            }
        for (int v = 0; v < NV; ++v)
            for (int k = 0; k < 2; ++k) {
                const uint8_t *y = a + v * arb + (i + k) * Q8_1_BYTES;
                const int8x16_t yl = vld1q_s8((const int8_t *)(y + OFF_Q8_1_QS)), yh = vld1q_s8((const int8_t *)(y + OFF_Q8_1_QS) + 16);
                const float dy = arm_f16(y), sy = arm_f16(y + OFF_Q8_1_S);
                for (int r = 0; r < RR; ++r) {
                    const int32x4_t p = dot_s8(dot_s8(vdupq_n_s32(0), xl[r][k], yl, dotprod), xh[r][k], yh, dotprod);
                    acc[r][v] = vmlaq_n_f32(acc[r][v], vcvtq_f32_s32(p), dw[r][k] * dy);
                    // min term m*s (s = dy*sum(qy)) rides in lane 0
                    acc[r][v] = vsetq_lane_f32(vgetq_lane_f32(acc[r][v], 0) + mw[r][k] * sy, acc[r][v], 0);
                }
            }
    }
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) out[r * 4 + v] = vaddvq_f32(acc[r][v]);
    for (; i < nb; ++i)
        for (int r = 0; r < RR; ++r) {
            const uint8_t *x = w + r * wrb + i * Q4_1_BYTES;
            for (int v = 0; v < NV; ++v) {
                const uint8_t *y = a + v * arb + i * Q8_1_BYTES;
                out[r * 4 + v] += bora_rd_f16(x) * bora_rd_f16(y) * (float)bora_blk_q4_1_q8_1(x, y)
                                + bora_rd_f16(x + OFF_Q4_1_M) * bora_rd_f16(y + OFF_Q8_1_S);
            }
        }
}

// ---- Q8_0 x Q8_0 ----
static BORA_ALWAYS_INLINE void rv_q8_0(size_t nb, const uint8_t *w, size_t wrb, const uint8_t *a,
                                       size_t arb, float *out, const int RR, const int NV, const int dotprod) {
    float32x4_t acc[4][4];
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        int8x16_t xl[4][2], xh[4][2];
        float dw[4][2];
        for (int r = 0; r < RR; ++r)
            for (int k = 0; k < 2; ++k) {
                const uint8_t *x = w + r * wrb + (i + k) * Q8_0_BYTES;
                xl[r][k] = vld1q_s8((const int8_t *)(x + OFF_Q8_0_QS));
                xh[r][k] = vld1q_s8((const int8_t *)(x + OFF_Q8_0_QS) + 16);
                dw[r][k] = arm_f16(x);
            }
        for (int v = 0; v < NV; ++v)
            for (int k = 0; k < 2; ++k) {
                const uint8_t *y = a + v * arb + (i + k) * Q8_0_BYTES;
                const int8x16_t yl = vld1q_s8((const int8_t *)(y + OFF_Q8_0_QS)), yh = vld1q_s8((const int8_t *)(y + OFF_Q8_0_QS) + 16);
                const float dy = arm_f16(y);
                for (int r = 0; r < RR; ++r) {
                    const int32x4_t p = dot_s8(dot_s8(vdupq_n_s32(0), xl[r][k], yl, dotprod), xh[r][k], yh, dotprod);
                    acc[r][v] = vmlaq_n_f32(acc[r][v], vcvtq_f32_s32(p), dw[r][k] * dy);
                }
            }
    }
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) out[r * 4 + v] = vaddvq_f32(acc[r][v]);
    for (; i < nb; ++i)
        for (int r = 0; r < RR; ++r) {
            const uint8_t *x = w + r * wrb + i * Q8_0_BYTES;
            for (int v = 0; v < NV; ++v) {
                const uint8_t *y = a + v * arb + i * Q8_0_BYTES;
                out[r * 4 + v] += bora_rd_f16(x) * bora_rd_f16(y) * (float)bora_blk_q8_0_q8_0(x, y);
            }
        }
}

// ---- Q4_K x Q8_K ----
static BORA_ALWAYS_INLINE void rv_q4_K(size_t nb, const uint8_t *w, size_t wrb, const uint8_t *a,
                                       size_t arb, float *out, const int RR, const int NV, const int dotprod) {
    float sum[4][4];
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) sum[r][v] = 0.0f;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    for (size_t i = 0; i < nb; ++i) {
        uint8_t sm[4][16];
        int16x8_t mins[4];
        for (int r = 0; r < RR; ++r) {
            // 12 bytes of packed 6-bit scales/mins -> bytes 0..7 scales, 8..15 mins
            uint32_t utmp[4];
            memcpy(utmp, w + r * wrb + i * Q4_K_BYTES + OFF_Q4_K_SCALES, 12);
            utmp[3] = ((utmp[2] >> 4) & 0x0f0f0f0fu) | (((utmp[1] >> 6) & 0x03030303u) << 4);
            const uint32_t uaux = utmp[1] & 0x3f3f3f3fu;
            utmp[1] = (utmp[2] & 0x0f0f0f0fu) | (((utmp[0] >> 6) & 0x03030303u) << 4);
            utmp[2] = uaux;
            utmp[0] &= 0x3f3f3f3fu;
            memcpy(sm[r], utmp, 16);
            mins[r] = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(sm[r] + 8)));
        }
        int32x4_t sumi[4][4];
        for (int r = 0; r < RR; ++r)
            for (int v = 0; v < NV; ++v) sumi[r][v] = vdupq_n_s32(0);
        for (int j = 0; j < 4; ++j) {   // 64 elements: sub-blocks 2j (low nibbles), 2j+1 (high)
            int8x16_t l0[4], l1[4], h0[4], h1[4];
            for (int r = 0; r < RR; ++r) {
                const uint8_t *q = w + r * wrb + i * Q4_K_BYTES + OFF_Q4_K_QS + 32 * j;
                const uint8x16_t b0 = vld1q_u8(q), b1 = vld1q_u8(q + 16);
                // 4-bit -> 8-bit
                l0[r] = vreinterpretq_s8_u8(vandq_u8(b0, m4));
                l1[r] = vreinterpretq_s8_u8(vandq_u8(b1, m4));
                h0[r] = vreinterpretq_s8_u8(vshrq_n_u8(b0, 4));
                h1[r] = vreinterpretq_s8_u8(vshrq_n_u8(b1, 4));
            }
            for (int v = 0; v < NV; ++v) {
                const int8_t *q8 = (const int8_t *)(a + v * arb + i * Q8_K_BYTES + OFF_Q8_K_QS + 64 * j);
                const int8x16_t y0 = vld1q_s8(q8), y1 = vld1q_s8(q8 + 16), y2 = vld1q_s8(q8 + 32), y3 = vld1q_s8(q8 + 48);
                for (int r = 0; r < RR; ++r) {
                    // sub-block dots, times the 6-bit sub-block scales
                    const int32x4_t pl = dot_s8(dot_s8(vdupq_n_s32(0), l0[r], y0, dotprod), l1[r], y1, dotprod);
                    const int32x4_t ph = dot_s8(dot_s8(vdupq_n_s32(0), h0[r], y2, dotprod), h1[r], y3, dotprod);
                    sumi[r][v] = vmlaq_n_s32(vmlaq_n_s32(sumi[r][v], pl, sm[r][2 * j]), ph, sm[r][2 * j + 1]);
                }
            }
        }
        for (int v = 0; v < NV; ++v) {
            const uint8_t *y = a + v * arb + i * Q8_K_BYTES;
            // mins: sum_s m[s] * (bsums[2s] + bsums[2s+1])
            const int16x8_t b0 = vld1q_s16((const int16_t *)(const void *)(y + OFF_Q8_K_BSUMS));
            const int16x8_t b1 = vld1q_s16((const int16_t *)(const void *)(y + OFF_Q8_K_BSUMS + 16));
            const int16x8_t pairs = vpaddq_s16(b0, b1);
            const float dy = bora_rd_f32(y);
            for (int r = 0; r < RR; ++r) {
                const uint8_t *x = w + r * wrb + i * Q4_K_BYTES;
                const int32_t summ = vaddvq_s32(vmull_s16(vget_low_s16(mins[r]), vget_low_s16(pairs))) +
                                     vaddvq_s32(vmull_high_s16(mins[r], pairs));
                sum[r][v] += arm_f16(x) * dy * (float)vaddvq_s32(sumi[r][v]) - arm_f16(x + OFF_Q4_K_DMIN) * dy * (float)summ;
            }
        }
    }
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) out[r * 4 + v] = sum[r][v];
}

// ---- Q5_0 x Q8_0 ----
// the 5th bits of one block as two 16-byte masks (0x10 where set)
static BORA_ALWAYS_INLINE void q5_high(const uint8_t *qh, uint8x16_t *hl, uint8x16_t *hh) {
    static const uint8_t idx_l[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t idx_h[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(bora_rd_u32(qh)));
    const uint8x16_t sel = vld1q_u8(bit), b10 = vdupq_n_u8(0x10);
    // 32 bits -> 32 bytes: pick byte j/8, test bit j%8
    *hl = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(idx_l)), sel), b10);
    *hh = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(idx_h)), sel), b10);
}

static BORA_ALWAYS_INLINE void tile_q5_0(size_t nb, const uint8_t *w, const uint8_t *a,
                                         size_t arb, float *out, const int NV, const int dotprod) {
    float32x4_t acc[4];
    for (int v = 0; v < NV; ++v) acc[v] = vdupq_n_f32(0.0f);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t s16 = vdupq_n_s8(16);
    for (size_t i = 0; i < nb; ++i) {
        const uint8_t *x = w + i * Q5_0_BYTES;
        uint8x16_t hl, hh;
        q5_high(x + OFF_Q5_0_QH, &hl, &hh);
        const uint8x16_t b = vld1q_u8(x + OFF_Q5_0_QS);
        // 4-bit | 5th bit -> 8-bit, sub 16
        const int8x16_t xl = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(b, m4), hl)), s16);
        const int8x16_t xh = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(b, 4), hh)), s16);
        const float d = arm_f16(x);
        for (int v = 0; v < NV; ++v) {
            const uint8_t *y = a + v * arb + i * Q8_0_BYTES;
            acc[v] = vmlaq_n_f32(acc[v], vcvtq_f32_s32(dot_block(xl, xh, y + OFF_Q8_0_QS, dotprod)), d * arm_f16(y));
        }
    }
    for (int v = 0; v < NV; ++v) out[v] = vaddvq_f32(acc[v]);
}

// ---- Q6_K x Q8_K ----
static BORA_ALWAYS_INLINE void tile_q6_K(size_t nb, const uint8_t *w, const uint8_t *a,
                                         size_t arb, float *out, const int NV, const int dotprod) {
    float sum[4];
    for (int v = 0; v < NV; ++v) sum[v] = 0.0f;
    const uint8x16_t m4 = vdupq_n_u8(0x0F), m3 = vdupq_n_u8(0x03);
    const int8x16_t s32 = vdupq_n_s8(32);
    for (size_t i = 0; i < nb; ++i) {
        const uint8_t *x = w + i * Q6_K_BYTES;
        const int8_t *sc = (const int8_t *)(x + OFF_Q6_K_SCALES);
        int32_t isum[4] = {0, 0, 0, 0};
        for (int h = 0; h < 2; ++h) {   // two halves of 128 elements
            const uint8_t *ql = x + OFF_Q6_K_QL + 64 * h, *qh = x + OFF_Q6_K_QH + 32 * h;
            uint8x16_t l[4], hb[2];
            for (int k = 0; k < 4; ++k) l[k] = vld1q_u8(ql + 16 * k);
            hb[0] = vld1q_u8(qh);
            hb[1] = vld1q_u8(qh + 16);
            // 16-element group g = 2k + half: 4 low bits | 2 high bits << 4, sub 32
            int8x16_t q[8];
            for (int k = 0; k < 4; ++k)
                for (int g = 0; g < 2; ++g) {
                    const uint8x16_t lo = l[(k & 1) * 2 + g];
                    const uint8x16_t nib = (k >= 2) ? vshrq_n_u8(lo, 4) : vandq_u8(lo, m4);
                    uint8x16_t hi2;
                    switch (k) {
                    case 0: hi2 = vandq_u8(hb[g], m3); break;
                    case 1: hi2 = vandq_u8(vshrq_n_u8(hb[g], 2), m3); break;
                    case 2: hi2 = vandq_u8(vshrq_n_u8(hb[g], 4), m3); break;
                    default: hi2 = vshrq_n_u8(hb[g], 6); break;
                    }
                    q[2 * k + g] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(nib, vshlq_n_u8(hi2, 4))), s32);
                }
            for (int v = 0; v < NV; ++v) {
                const int8_t *q8 = (const int8_t *)(a + v * arb + i * Q8_K_BYTES + OFF_Q8_K_QS) + 128 * h;
                for (int g = 0; g < 8; ++g)
                    isum[v] += sc[8 * h + g] * vaddvq_s32(dot_s8(vdupq_n_s32(0), q[g], vld1q_s8(q8 + 16 * g), dotprod));
            }
        }
        const float d = arm_f16(x + OFF_Q6_K_D);
        for (int v = 0; v < NV; ++v) sum[v] += d * bora_rd_f32(a + v * arb + i * Q8_K_BYTES) * (float)isum[v];
    }
    for (int v = 0; v < NV; ++v) out[v] = sum[v];
}

// ---- F16 / BF16 / F32 x F32 (8 elements per step, scalar tail) ----
static BORA_ALWAYS_INLINE float32x4_t ld_f32(const uint8_t *p) { return vreinterpretq_f32_u8(vld1q_u8(p)); }
static BORA_ALWAYS_INLINE void ld_f16x8(const uint8_t *p, float32x4_t *lo, float32x4_t *hi) {
    const float16x8_t h = vreinterpretq_f16_u8(vld1q_u8(p));
    *lo = vcvt_f32_f16(vget_low_f16(h));
    *hi = vcvt_high_f32_f16(h);
}
static BORA_ALWAYS_INLINE void ld_bf16x8(const uint8_t *p, float32x4_t *lo, float32x4_t *hi) {
    const uint16x8_t h = vreinterpretq_u16_u8(vld1q_u8(p));
    *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
}
static BORA_ALWAYS_INLINE void ld_f32x8(const uint8_t *p, float32x4_t *lo, float32x4_t *hi) {
    *lo = ld_f32(p);
    *hi = ld_f32(p + 16);
}
static inline float scalar_bf16(const uint8_t *p) { return bora_bf16_to_float(bora_rd_u16(p)); }

// one tile body for the three float weight types; kind: FLOAT_F16, FLOAT_BF16, FLOAT_F32
enum { FLOAT_F16, FLOAT_BF16, FLOAT_F32 };
static BORA_ALWAYS_INLINE void float_load8(const uint8_t *p, float32x4_t *lo, float32x4_t *hi, const int kind) {
    if (kind == FLOAT_F16) ld_f16x8(p, lo, hi);
    else if (kind == FLOAT_BF16) ld_bf16x8(p, lo, hi);
    else ld_f32x8(p, lo, hi);
}
static BORA_ALWAYS_INLINE float float_scalar(const uint8_t *p, const int kind) {
    return kind == FLOAT_F16 ? bora_rd_f16(p) : kind == FLOAT_BF16 ? scalar_bf16(p) : bora_rd_f32(p);
}
static BORA_ALWAYS_INLINE void tile_float(size_t n, const uint8_t *w, const uint8_t *a,
                                          size_t arb, float *out, const int NV, const int kind) {
    const int wbytes = kind == FLOAT_F32 ? 4 : 2;
    float32x4_t acc0[4], acc1[4];
    for (int v = 0; v < NV; ++v) acc0[v] = acc1[v] = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t w0, w1;
        float_load8(w + wbytes * i, &w0, &w1, kind);
        for (int v = 0; v < NV; ++v) {
            const uint8_t *y = a + v * arb + 4 * i;
            acc0[v] = vfmaq_f32(acc0[v], w0, ld_f32(y));
            acc1[v] = vfmaq_f32(acc1[v], w1, ld_f32(y + 16));
        }
    }
    for (int v = 0; v < NV; ++v) out[v] = vaddvq_f32(vaddq_f32(acc0[v], acc1[v]));
    for (; i < n; ++i)
        for (int v = 0; v < NV; ++v) out[v] += float_scalar(w + wbytes * i, kind) * bora_rd_f32(a + v * arb + 4 * i);
}

// ---- dot (the NV == 1 tile) and gemm per weight type ----
// BORA_GEMM_TILED / BORA_GEMM_RV (kernels_internal.h) are the shared loops over tiles; their last
// argument is the tile's constant (dotprod, or the float kind). Register-tiled types: GEMV runs
// GRR rows at once (one activation load feeds every row); GEMM runs 2 x 4 tiles (accumulators
// and decoded blocks stay in the 32 vector registers).
static BORA_ALWAYS_INLINE float dot_q4_0(size_t n, const void *w, const void *a, const int dotprod) {
    float o[16];
    rv_q4_0(n / BORA_QK, (const uint8_t *)w, 0, (const uint8_t *)a, 0, o, 1, 1, dotprod);
    return o[0];
}
static BORA_ALWAYS_INLINE void gemm_q4_0(BORA_GEMM_ARGS, const int dotprod) {
    if (nv == 1) BORA_GEMM_RV(rv_q4_0, n / BORA_QK, 4, 1, dotprod);
    else BORA_GEMM_RV(rv_q4_0, n / BORA_QK, 2, 4, dotprod);
}

static BORA_ALWAYS_INLINE float dot_q4_1(size_t n, const void *w, const void *a, const int dotprod) {
    float o[16];
    rv_q4_1(n / BORA_QK, (const uint8_t *)w, 0, (const uint8_t *)a, 0, o, 1, 1, dotprod);
    return o[0];
}
static BORA_ALWAYS_INLINE void gemm_q4_1(BORA_GEMM_ARGS, const int dotprod) {
    if (nv == 1) BORA_GEMM_RV(rv_q4_1, n / BORA_QK, 4, 1, dotprod);
    else BORA_GEMM_RV(rv_q4_1, n / BORA_QK, 2, 4, dotprod);
}

static BORA_ALWAYS_INLINE float dot_q8_0(size_t n, const void *w, const void *a, const int dotprod) {
    float o[16];
    rv_q8_0(n / BORA_QK, (const uint8_t *)w, 0, (const uint8_t *)a, 0, o, 1, 1, dotprod);
    return o[0];
}
static BORA_ALWAYS_INLINE void gemm_q8_0(BORA_GEMM_ARGS, const int dotprod) {
    if (nv == 1) BORA_GEMM_RV(rv_q8_0, n / BORA_QK, 4, 1, dotprod);
    else BORA_GEMM_RV(rv_q8_0, n / BORA_QK, 2, 4, dotprod);
}

static BORA_ALWAYS_INLINE float dot_q4_K(size_t n, const void *w, const void *a, const int dotprod) {
    float o[16];
    rv_q4_K(n / BORA_QK_K, (const uint8_t *)w, 0, (const uint8_t *)a, 0, o, 1, 1, dotprod);
    return o[0];
}
static BORA_ALWAYS_INLINE void gemm_q4_K(BORA_GEMM_ARGS, const int dotprod) {
    if (nv == 1) BORA_GEMM_RV(rv_q4_K, n / BORA_QK_K, 2, 1, dotprod);
    else BORA_GEMM_RV(rv_q4_K, n / BORA_QK_K, 2, 4, dotprod);
}

// the kernels of each set: the bodies with dotprod = 0 (neon: baseline, no target attribute) or 1
static float dot_q4_0_neon(size_t n, const void *w, const void *a) { return dot_q4_0(n, w, a, 0); }
static void gemm_q4_0_neon(BORA_GEMM_ARGS) { gemm_q4_0(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 0); }

static float dot_q4_1_neon(size_t n, const void *w, const void *a) { return dot_q4_1(n, w, a, 0); }
static void gemm_q4_1_neon(BORA_GEMM_ARGS) { gemm_q4_1(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 0); }

static float dot_q5_0_neon(size_t n, const void *w, const void *a) {
    float o;
    tile_q5_0(n / BORA_QK, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, 0);
    return o;
}
static void gemm_q5_0_neon(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_q5_0, n / BORA_QK, 0); }

static float dot_q8_0_neon(size_t n, const void *w, const void *a) { return dot_q8_0(n, w, a, 0); }
static void gemm_q8_0_neon(BORA_GEMM_ARGS) { gemm_q8_0(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 0); }

static float dot_q4_K_neon(size_t n, const void *w, const void *a) { return dot_q4_K(n, w, a, 0); }
static void gemm_q4_K_neon(BORA_GEMM_ARGS) { gemm_q4_K(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 0); }

static float dot_q6_K_neon(size_t n, const void *w, const void *a) {
    float o;
    tile_q6_K(n / BORA_QK_K, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, 0);
    return o;
}
static void gemm_q6_K_neon(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_q6_K, n / BORA_QK_K, 0); }

static float dot_f16_neon(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_F16);
    return o;
}
static void gemm_f16_neon(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_F16); }

static float dot_bf16_neon(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_BF16);
    return o;
}
static void gemm_bf16_neon(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_BF16); }

static float dot_f32_neon(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_F32);
    return o;
}
static void gemm_f32_neon(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_F32); }

static BORA_TARGET_DOTPROD float dot_q4_0_dotprod(size_t n, const void *w, const void *a) { return dot_q4_0(n, w, a, 1); }
static BORA_TARGET_DOTPROD void gemm_q4_0_dotprod(BORA_GEMM_ARGS) { gemm_q4_0(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 1); }

static BORA_TARGET_DOTPROD float dot_q4_1_dotprod(size_t n, const void *w, const void *a) { return dot_q4_1(n, w, a, 1); }
static BORA_TARGET_DOTPROD void gemm_q4_1_dotprod(BORA_GEMM_ARGS) { gemm_q4_1(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 1); }

static BORA_TARGET_DOTPROD float dot_q5_0_dotprod(size_t n, const void *w, const void *a) {
    float o;
    tile_q5_0(n / BORA_QK, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, 1);
    return o;
}
static BORA_TARGET_DOTPROD void gemm_q5_0_dotprod(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_q5_0, n / BORA_QK, 1); }

static BORA_TARGET_DOTPROD float dot_q8_0_dotprod(size_t n, const void *w, const void *a) { return dot_q8_0(n, w, a, 1); }
static BORA_TARGET_DOTPROD void gemm_q8_0_dotprod(BORA_GEMM_ARGS) { gemm_q8_0(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 1); }

static BORA_TARGET_DOTPROD float dot_q4_K_dotprod(size_t n, const void *w, const void *a) { return dot_q4_K(n, w, a, 1); }
static BORA_TARGET_DOTPROD void gemm_q4_K_dotprod(BORA_GEMM_ARGS) { gemm_q4_K(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 1); }

static BORA_TARGET_DOTPROD float dot_q6_K_dotprod(size_t n, const void *w, const void *a) {
    float o;
    tile_q6_K(n / BORA_QK_K, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, 1);
    return o;
}
static BORA_TARGET_DOTPROD void gemm_q6_K_dotprod(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_q6_K, n / BORA_QK_K, 1); }

static BORA_TARGET_DOTPROD float dot_f16_dotprod(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_F16);
    return o;
}
static BORA_TARGET_DOTPROD void gemm_f16_dotprod(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_F16); }

static BORA_TARGET_DOTPROD float dot_bf16_dotprod(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_BF16);
    return o;
}
static BORA_TARGET_DOTPROD void gemm_bf16_dotprod(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_BF16); }

static BORA_TARGET_DOTPROD float dot_f32_dotprod(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_F32);
    return o;
}
static BORA_TARGET_DOTPROD void gemm_f32_dotprod(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_F32); }

void bora_fill_neon(bora_kernel_set *s) {
    bora_fill_scalar(s);
    s->name = "neon";
    s->dot[BORA_TYPE_Q4_0] = dot_q4_0_neon;   s->gemm[BORA_TYPE_Q4_0] = gemm_q4_0_neon;
    s->dot[BORA_TYPE_Q4_1] = dot_q4_1_neon;   s->gemm[BORA_TYPE_Q4_1] = gemm_q4_1_neon;
    s->dot[BORA_TYPE_Q5_0] = dot_q5_0_neon;   s->gemm[BORA_TYPE_Q5_0] = gemm_q5_0_neon;
    s->dot[BORA_TYPE_Q8_0] = dot_q8_0_neon;   s->gemm[BORA_TYPE_Q8_0] = gemm_q8_0_neon;
    s->dot[BORA_TYPE_Q4_K] = dot_q4_K_neon;   s->gemm[BORA_TYPE_Q4_K] = gemm_q4_K_neon;
    s->dot[BORA_TYPE_Q6_K] = dot_q6_K_neon;   s->gemm[BORA_TYPE_Q6_K] = gemm_q6_K_neon;
    s->dot[BORA_TYPE_F16] = dot_f16_neon;    s->gemm[BORA_TYPE_F16] = gemm_f16_neon;
    s->dot[BORA_TYPE_BF16] = dot_bf16_neon;   s->gemm[BORA_TYPE_BF16] = gemm_bf16_neon;
    s->dot[BORA_TYPE_F32] = dot_f32_neon;    s->gemm[BORA_TYPE_F32] = gemm_f32_neon;
    s->quantize[BORA_TYPE_Q8_0] = arm_quantize_q8_0;
    s->quantize[BORA_TYPE_Q8_1] = arm_quantize_q8_1;
    s->quantize[BORA_TYPE_Q8_K] = arm_quantize_q8_K;
}

void bora_fill_dotprod(bora_kernel_set *s) {
    bora_fill_scalar(s);
    s->name = "dotprod";
    s->dot[BORA_TYPE_Q4_0] = dot_q4_0_dotprod;   s->gemm[BORA_TYPE_Q4_0] = gemm_q4_0_dotprod;
    s->dot[BORA_TYPE_Q4_1] = dot_q4_1_dotprod;   s->gemm[BORA_TYPE_Q4_1] = gemm_q4_1_dotprod;
    s->dot[BORA_TYPE_Q5_0] = dot_q5_0_dotprod;   s->gemm[BORA_TYPE_Q5_0] = gemm_q5_0_dotprod;
    s->dot[BORA_TYPE_Q8_0] = dot_q8_0_dotprod;   s->gemm[BORA_TYPE_Q8_0] = gemm_q8_0_dotprod;
    s->dot[BORA_TYPE_Q4_K] = dot_q4_K_dotprod;   s->gemm[BORA_TYPE_Q4_K] = gemm_q4_K_dotprod;
    s->dot[BORA_TYPE_Q6_K] = dot_q6_K_dotprod;   s->gemm[BORA_TYPE_Q6_K] = gemm_q6_K_dotprod;
    s->dot[BORA_TYPE_F16] = dot_f16_dotprod;    s->gemm[BORA_TYPE_F16] = gemm_f16_dotprod;
    s->dot[BORA_TYPE_BF16] = dot_bf16_dotprod;   s->gemm[BORA_TYPE_BF16] = gemm_bf16_dotprod;
    s->dot[BORA_TYPE_F32] = dot_f32_dotprod;    s->gemm[BORA_TYPE_F32] = gemm_f32_dotprod;
    s->quantize[BORA_TYPE_Q8_0] = arm_quantize_q8_0;
    s->quantize[BORA_TYPE_Q8_1] = arm_quantize_q8_1;
    s->quantize[BORA_TYPE_Q8_K] = arm_quantize_q8_K;
}

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
