// AArch64 kernel bodies, compiled twice by kernels_arm.c: as the "neon" set (ARMv8.0
// Advanced SIMD: vmull + vpadal) and as the "dotprod" set (vdotq_s32). The only source
// difference is ARM_FN(dot_s8): the 16-byte int8 dot-accumulate. Inputs from the includer:
// ARM_TARGET, ARM_FN(name), ARM_DOTPROD (0/1), ARM_SET_NAME, ARM_FILL.

#define TGT ARM_TARGET

// acc (4 x i32) += products of 16 int8 pairs; only the total of the 4 lanes is meaningful
static BORA_ALWAYS_INLINE TGT int32x4_t ARM_FN(dot_s8)(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if ARM_DOTPROD
    return vdotq_s32(acc, a, b);
#else
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}

// one 32-element block: x (lo 16, hi 16) . y (32 bytes)
static BORA_ALWAYS_INLINE TGT int32x4_t ARM_FN(dot_block)(int8x16_t xl, int8x16_t xh, const uint8_t *y) {
    const int32x4_t p = ARM_FN(dot_s8)(vdupq_n_s32(0), xl, vld1q_s8((const int8_t *)y));
    return ARM_FN(dot_s8)(p, xh, vld1q_s8((const int8_t *)y + 16));
}

// ---- register-tiled kernels (BORA_GEMM_RV): RR rows x NV vectors per tile ----
// Each weight block is decoded once per tile and each activation block loaded once per tile.

// ---- Q4_0 x Q8_0 ----
static BORA_ALWAYS_INLINE TGT void ARM_FN(rv_q4_0)(size_t nb, const uint8_t *w, size_t wrb, const uint8_t *a,
                                                   size_t arb, float *out, const int RR, const int NV) {
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
                    const int32x4_t p = ARM_FN(dot_s8)(ARM_FN(dot_s8)(vdupq_n_s32(0), xl[r][k], yl), xh[r][k], yh);
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
static BORA_ALWAYS_INLINE TGT void ARM_FN(rv_q4_1)(size_t nb, const uint8_t *w, size_t wrb, const uint8_t *a,
                                                   size_t arb, float *out, const int RR, const int NV) {
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
                    const int32x4_t p = ARM_FN(dot_s8)(ARM_FN(dot_s8)(vdupq_n_s32(0), xl[r][k], yl), xh[r][k], yh);
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
static BORA_ALWAYS_INLINE TGT void ARM_FN(rv_q8_0)(size_t nb, const uint8_t *w, size_t wrb, const uint8_t *a,
                                                   size_t arb, float *out, const int RR, const int NV) {
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
                    const int32x4_t p = ARM_FN(dot_s8)(ARM_FN(dot_s8)(vdupq_n_s32(0), xl[r][k], yl), xh[r][k], yh);
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
static BORA_ALWAYS_INLINE TGT void ARM_FN(rv_q4_K)(size_t nb, const uint8_t *w, size_t wrb, const uint8_t *a,
                                                   size_t arb, float *out, const int RR, const int NV) {
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
                    const int32x4_t pl = ARM_FN(dot_s8)(ARM_FN(dot_s8)(vdupq_n_s32(0), l0[r], y0), l1[r], y1);
                    const int32x4_t ph = ARM_FN(dot_s8)(ARM_FN(dot_s8)(vdupq_n_s32(0), h0[r], y2), h1[r], y3);
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
static BORA_ALWAYS_INLINE TGT void ARM_FN(q5_high)(const uint8_t *qh, uint8x16_t *hl, uint8x16_t *hh) {
    static const uint8_t idx_l[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t idx_h[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(bora_rd_u32(qh)));
    const uint8x16_t sel = vld1q_u8(bit), b10 = vdupq_n_u8(0x10);
    // 32 bits -> 32 bytes: pick byte j/8, test bit j%8
    *hl = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(idx_l)), sel), b10);
    *hh = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(idx_h)), sel), b10);
}

static BORA_ALWAYS_INLINE TGT void ARM_FN(tile_q5_0)(size_t nb, const uint8_t *w, const uint8_t *a,
                                                     size_t arb, float *out, const int NV) {
    float32x4_t acc[4];
    for (int v = 0; v < NV; ++v) acc[v] = vdupq_n_f32(0.0f);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t s16 = vdupq_n_s8(16);
    for (size_t i = 0; i < nb; ++i) {
        const uint8_t *x = w + i * Q5_0_BYTES;
        uint8x16_t hl, hh;
        ARM_FN(q5_high)(x + OFF_Q5_0_QH, &hl, &hh);
        const uint8x16_t b = vld1q_u8(x + OFF_Q5_0_QS);
        // 4-bit | 5th bit -> 8-bit, sub 16
        const int8x16_t xl = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(b, m4), hl)), s16);
        const int8x16_t xh = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(b, 4), hh)), s16);
        const float d = arm_f16(x);
        for (int v = 0; v < NV; ++v) {
            const uint8_t *y = a + v * arb + i * Q8_0_BYTES;
            acc[v] = vmlaq_n_f32(acc[v], vcvtq_f32_s32(ARM_FN(dot_block)(xl, xh, y + OFF_Q8_0_QS)), d * arm_f16(y));
        }
    }
    for (int v = 0; v < NV; ++v) out[v] = vaddvq_f32(acc[v]);
}

// ---- Q6_K x Q8_K ----
static BORA_ALWAYS_INLINE TGT void ARM_FN(tile_q6_K)(size_t nb, const uint8_t *w, const uint8_t *a,
                                                     size_t arb, float *out, const int NV) {
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
                    isum[v] += sc[8 * h + g] * vaddvq_s32(ARM_FN(dot_s8)(vdupq_n_s32(0), q[g], vld1q_s8(q8 + 16 * g)));
            }
        }
        const float d = arm_f16(x + OFF_Q6_K_D);
        for (int v = 0; v < NV; ++v) sum[v] += d * bora_rd_f32(a + v * arb + i * Q8_K_BYTES) * (float)isum[v];
    }
    for (int v = 0; v < NV; ++v) out[v] = sum[v];
}

// ---- F16 / BF16 / F32 x F32 (8 elements per step, scalar tail) ----
static BORA_ALWAYS_INLINE TGT float32x4_t ARM_FN(ld_f32)(const uint8_t *p) { return vreinterpretq_f32_u8(vld1q_u8(p)); }
static BORA_ALWAYS_INLINE TGT void ARM_FN(ld_f16x8)(const uint8_t *p, float32x4_t *lo, float32x4_t *hi) {
    const float16x8_t h = vreinterpretq_f16_u8(vld1q_u8(p));
    *lo = vcvt_f32_f16(vget_low_f16(h));
    *hi = vcvt_high_f32_f16(h);
}
static BORA_ALWAYS_INLINE TGT void ARM_FN(ld_bf16x8)(const uint8_t *p, float32x4_t *lo, float32x4_t *hi) {
    const uint16x8_t h = vreinterpretq_u16_u8(vld1q_u8(p));
    *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
}
static BORA_ALWAYS_INLINE TGT void ARM_FN(ld_f32x8)(const uint8_t *p, float32x4_t *lo, float32x4_t *hi) {
    *lo = ARM_FN(ld_f32)(p);
    *hi = ARM_FN(ld_f32)(p + 16);
}
static inline float ARM_FN(scalar_bf16)(const uint8_t *p) { return bora_bf16_to_float(bora_rd_u16(p)); }

#define ARM_FLOAT_TILE(NAME, WBYTES, LOAD8, SCALAR_W)                                                       \
    static BORA_ALWAYS_INLINE TGT void ARM_FN(NAME)(size_t n, const uint8_t *w, const uint8_t *a,           \
                                                    size_t arb, float *out, const int NV) {                 \
        float32x4_t acc0[4], acc1[4];                                                                       \
        for (int v = 0; v < NV; ++v) acc0[v] = acc1[v] = vdupq_n_f32(0.0f);                                 \
        size_t i = 0;                                                                                       \
        for (; i + 8 <= n; i += 8) {                                                                        \
            float32x4_t w0, w1;                                                                             \
            LOAD8(w + (WBYTES) * i, &w0, &w1);                                                              \
            for (int v = 0; v < NV; ++v) {                                                                  \
                const uint8_t *y = a + v * arb + 4 * i;                                                     \
                acc0[v] = vfmaq_f32(acc0[v], w0, ARM_FN(ld_f32)(y));                                        \
                acc1[v] = vfmaq_f32(acc1[v], w1, ARM_FN(ld_f32)(y + 16));                                   \
            }                                                                                               \
        }                                                                                                   \
        for (int v = 0; v < NV; ++v) out[v] = vaddvq_f32(vaddq_f32(acc0[v], acc1[v]));                      \
        for (; i < n; ++i)                                                                                  \
            for (int v = 0; v < NV; ++v) out[v] += SCALAR_W(w + (WBYTES) * i) * bora_rd_f32(a + v * arb + 4 * i); \
    }
ARM_FLOAT_TILE(tile_f16, 2, ARM_FN(ld_f16x8), bora_rd_f16)
ARM_FLOAT_TILE(tile_bf16, 2, ARM_FN(ld_bf16x8), ARM_FN(scalar_bf16))
ARM_FLOAT_TILE(tile_f32, 4, ARM_FN(ld_f32x8), bora_rd_f32)

// ---- dot (the NV == 1 tile) and gemm per weight type ----
#define ARM_DOT_GEMM(TYPE, BLOCK)                                                          \
    static TGT float ARM_FN(dot_##TYPE)(size_t n, const void *w, const void *a) {          \
        float o;                                                                           \
        ARM_FN(tile_##TYPE)(n / (BLOCK), (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1); \
        return o;                                                                          \
    }                                                                                      \
    static TGT void ARM_FN(gemm_##TYPE)(BORA_GEMM_ARGS) { BORA_GEMM_TILED(ARM_FN(tile_##TYPE), n / (BLOCK)); }

// register-tiled types: GEMV runs GRR rows at once (one activation load feeds every row);
// GEMM runs RR x NV tiles (2 x 4 keeps accumulators and decoded blocks in the 32 vector registers)
#define ARM_DOT_GEMM_RV(TYPE, BLOCK, GRR, RR, NV)                                             \
    static TGT float ARM_FN(dot_##TYPE)(size_t n, const void *w, const void *a) {             \
        float o[16];                                                                          \
        ARM_FN(rv_##TYPE)(n / (BLOCK), (const uint8_t *)w, 0, (const uint8_t *)a, 0, o, 1, 1); \
        return o[0];                                                                          \
    }                                                                                         \
    static TGT void ARM_FN(gemm_##TYPE)(BORA_GEMM_ARGS) {                                     \
        if (nv == 1) BORA_GEMM_RV(ARM_FN(rv_##TYPE), n / (BLOCK), GRR, 1);                    \
        else BORA_GEMM_RV(ARM_FN(rv_##TYPE), n / (BLOCK), RR, NV);                            \
    }

ARM_DOT_GEMM_RV(q4_0, BORA_QK, 4, 2, 4)
ARM_DOT_GEMM_RV(q4_1, BORA_QK, 4, 2, 4)
ARM_DOT_GEMM(q5_0, BORA_QK)
ARM_DOT_GEMM_RV(q8_0, BORA_QK, 4, 2, 4)
ARM_DOT_GEMM_RV(q4_K, BORA_QK_K, 2, 2, 4)
ARM_DOT_GEMM(q6_K, BORA_QK_K)
ARM_DOT_GEMM(f16, 1)
ARM_DOT_GEMM(bf16, 1)
ARM_DOT_GEMM(f32, 1)

void ARM_FILL(bora_kernel_set *s) {
    bora_fill_scalar(s);
    s->name = ARM_SET_NAME;
    s->dot[BORA_TYPE_Q4_0] = ARM_FN(dot_q4_0);   s->gemm[BORA_TYPE_Q4_0] = ARM_FN(gemm_q4_0);
    s->dot[BORA_TYPE_Q4_1] = ARM_FN(dot_q4_1);   s->gemm[BORA_TYPE_Q4_1] = ARM_FN(gemm_q4_1);
    s->dot[BORA_TYPE_Q5_0] = ARM_FN(dot_q5_0);   s->gemm[BORA_TYPE_Q5_0] = ARM_FN(gemm_q5_0);
    s->dot[BORA_TYPE_Q8_0] = ARM_FN(dot_q8_0);   s->gemm[BORA_TYPE_Q8_0] = ARM_FN(gemm_q8_0);
    s->dot[BORA_TYPE_Q4_K] = ARM_FN(dot_q4_K);   s->gemm[BORA_TYPE_Q4_K] = ARM_FN(gemm_q4_K);
    s->dot[BORA_TYPE_Q6_K] = ARM_FN(dot_q6_K);   s->gemm[BORA_TYPE_Q6_K] = ARM_FN(gemm_q6_K);
    s->dot[BORA_TYPE_F16] = ARM_FN(dot_f16);     s->gemm[BORA_TYPE_F16] = ARM_FN(gemm_f16);
    s->dot[BORA_TYPE_BF16] = ARM_FN(dot_bf16);   s->gemm[BORA_TYPE_BF16] = ARM_FN(gemm_bf16);
    s->dot[BORA_TYPE_F32] = ARM_FN(dot_f32);     s->gemm[BORA_TYPE_F32] = ARM_FN(gemm_f32);
    s->quantize[BORA_TYPE_Q8_0] = arm_quantize_q8_0;
    s->quantize[BORA_TYPE_Q8_1] = arm_quantize_q8_1;
    s->quantize[BORA_TYPE_Q8_K] = arm_quantize_q8_K;
}

#undef TGT
#undef ARM_FLOAT_TILE
#undef ARM_DOT_GEMM
#undef ARM_DOT_GEMM_RV
