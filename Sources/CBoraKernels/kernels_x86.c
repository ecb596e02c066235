// x86-64 sets "avx2" (AVX2 + FMA + F16C: Haswell / Zen and later) and "avx512vnni" (the same
// code with AVX-512F/BW/VL + VNNI enabled; the int8 dots become vpdpbusd on 256-bit registers: a
// GEMV is memory-bound, and 512-bit lanes would not read DRAM any faster). dispatch.c picks the
// set at run time; the file builds with baseline flags.
//
// Every kernel of each set is a real function under its real name (dot_q4_1_avx2,
// gemm_q4_1_avx512vnni, ...), carrying its set's target attribute (TGT_AVX2 / TGT_AVX512VNNI). Each
// calls a body written once below: a static always-inline function with the avx2 target (the
// lower set's features, which are a subset of the higher's, so clang and gcc inline it into
// either) and a constant `vnni` parameter (0 / 1). Inlined, the body takes its caller's target
// features, as if it had been written in the kernel, and the constant folds the set's branch away.
// Keeping one body means the VNNI set runs exactly the logic the AVX2 tests exercise.
//
// The only source difference between the sets is mul_sum_us8 / dp_us8: maddubs + madd on AVX2, one
// vpdpbusd on VNNI (the same exact int32 lanes). The VNNI intrinsic cannot appear in an
// avx2-target body (the compiler rejects it there), so it lives in dpbusd_avx512vnni, a tiny
// function with the VNNI target that the bodies call under `if (vnni)`: it is inlined once the
// body is inside an avx512vnni kernel, the one place that call survives. (Q4_0's chains reduce
// maddubs' int16 sums directly and use no mul_sum_us8.)
//
// The helpers are always-inline too, so no code compiled for the lower set runs inside the higher
// one (gcc would otherwise keep some out of line, and vpdpbusd out of reach). The one helper kept
// out of line, q80_prep, has a copy per set (q80_prep_avx2, q80_prep_avx512vnni), and a kernel
// that falls back on another (gemm on dot for long rows, gemm_x8 on gemm) calls its own set's.
//
// Activation quants are assumed in [-127, 127] (what every quantizer here produces): the
// sign trick (|w| as unsigned, sign(w) moved onto a) cannot negate -128.
#if defined(__x86_64__)

#include "kernels_internal.h"

#include <immintrin.h>
#include <math.h>

#define TGT_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TGT_AVX512VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
// the bodies' and helpers' target: the lower set's
#define TGT TGT_AVX2

// acc + Σ of u[4i..4i+3]·s[4i..4i+3] per int32 lane in one vpdpbusd: the avx512vnni set's only
// instruction of its own. Called by the bodies only under `if (vnni)`, it is inlined into the
// avx512vnni kernels (it cannot be inlined into an avx2 function, and no avx2 kernel calls it).
// Not always-inline: the compiler must accept the call inside an avx2-target body.
static inline TGT_AVX512VNNI __m256i dpbusd_avx512vnni(__m256i acc, __m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(acc, u, s);
}

// sum of u[4i..4i+3]*s[4i..4i+3] into 8 int32 lanes; u unsigned bytes, s signed bytes
static BORA_ALWAYS_INLINE TGT __m256i mul_sum_us8(__m256i u, __m256i s, const int vnni) {
    if (vnni) return dpbusd_avx512vnni(_mm256_setzero_si256(), u, s);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

static BORA_ALWAYS_INLINE TGT float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// f16 -> f32 through vmovd + vcvtph2ps: _cvtsh_ss lets clang merge into a live register
// (vpinsrw into the accumulator), which chains every block onto the previous FMA.
static BORA_ALWAYS_INLINE TGT float f16(const uint8_t *p) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128((int)bora_rd_u16(p))));
}

static BORA_ALWAYS_INLINE TGT __m256i loadu256(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }

// 16 bytes of nibbles -> 32 bytes: low nibbles (elements 0..15) then high (16..31)
static BORA_ALWAYS_INLINE TGT __m256i nibbles32(const uint8_t *p) {
    // same 16 bytes in both lanes, high lane shifted right by 4
    const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)p));
    const __m256i sh = _mm256_srlv_epi64(b, _mm256_set_epi64x(4, 4, 0, 0));
    return _mm256_and_si256(sh, _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, 0xFF where the bit is set
static BORA_ALWAYS_INLINE TGT __m256i bits32(const uint8_t *p) {
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                           0x0101010101010101, 0x0000000000000000);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bora_rd_u32(p)), shuf);
    b = _mm256_or_si256(b, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(b, _mm256_set1_epi64x(-1));
}

// ---- Q4_0 x Q8_0, in llama.cpp's order for repacked Q4_0 ----
// On x86 with AVX2, llama.cpp repacks every Q4_0 matrix it multiplies (8 rows interleaved,
// ggml_gemv/gemm_q4_0_8x8_q8_0) and computes each output as a chain over blocks of
//   acc = fma(float(Σ_32 w·a), d_w·d_a, acc)
// with the block's integer dot exact. Bora computes the same chain: 8 (row, vector) outputs at a
// time (8 rows of one vector for a GEMV, 2 rows × 4 vectors for a GEMM) are the 8 lanes; each
// lane's 8 partial int32 sums (maddubs + madd, the unsigned nibble q against the activation, then
// − 8·Σa) are reduced with a transpose of horizontal adds, converted, scaled and fma'd per block.
// GEMV software prefetch distance: LL_PF_ROWS rows ahead (Q4_1), X8_PF_BYTES bytes (x8 layouts).
// Out of the last-level cache the hardware streamer alone leaves a thread well short of the read
// bandwidth; with two rows in flight it falls further behind (bora bench kernels, > LLC).
#define LL_PF_ROWS 4
#ifndef LL_GEMV_ROWS
#define LL_GEMV_ROWS 2   // Q4_1/Q8_0 GEMV rows computed side by side
#endif
#define Q40_PREP_BLOCKS 256  // rows up to 8192 elements: activation blocks prepared on the stack
#define X8_Q4_0_BYTES 144    // one block of 8 x8-repacked rows (bora_repack_x8)
#define X8_Q8_0_BYTES 272
#define X8_PF_BYTES 2304     // x8 GEMV software prefetch distance (Q8_0 decode: 1.1 ≈ 2.2 KB > 3.3 KB > 4.4 KB)

// the 8 lanes' block sums from their maddubs outputs: lane k = Σ of the 16 int16 in p[k]. Three
// levels of 16-bit horizontal adds keep each 128-bit half's 16 products (|Σ| ≤ 16·15·127 = 30480)
// in int16; the two halves are then widened and added.
static BORA_ALWAYS_INLINE TGT __m256i hsum8x8_epi16(const __m256i p[8]) {
    const __m256i t0 = _mm256_hadd_epi16(p[0], p[1]), t1 = _mm256_hadd_epi16(p[2], p[3]);
    const __m256i t2 = _mm256_hadd_epi16(p[4], p[5]), t3 = _mm256_hadd_epi16(p[6], p[7]);
    const __m256i w = _mm256_hadd_epi16(_mm256_hadd_epi16(t0, t1), _mm256_hadd_epi16(t2, t3));
    return _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(w)), _mm256_cvtepi16_epi32(_mm256_extracti128_si256(w, 1)));
}

// The activation side of one block for up to 4 vectors, prepared once per call.
typedef struct { __m256i q[4]; __m128 d; __m128i s; } q80_act;

// pa[b] for `chunk` ≤ 4 activation rows starting at a (lanes beyond chunk zero). Kept out of line
// by the compiler, so each set has its own copy: q80_prep_avx2, q80_prep_avx512vnni.
static BORA_ALWAYS_INLINE TGT void q80_prep(const uint8_t *a, size_t arb, size_t chunk, size_t nb, q80_act *pa) {
    for (size_t b = 0; b < nb; ++b) {
        float d[4] = {0};
        int32_t sum[4] = {0};
        for (size_t v = 0; v < 4; ++v) {
            if (v >= chunk) { pa[b].q[v] = _mm256_setzero_si256(); continue; }
            const uint8_t *yb = a + v * arb + b * Q8_0_BYTES;
            pa[b].q[v] = loadu256(yb + OFF_Q8_0_QS);
            d[v] = f16(yb);
            for (int j = 0; j < BORA_QK; ++j) sum[v] += (int8_t)yb[OFF_Q8_0_QS + j];
        }
        pa[b].d = _mm_loadu_ps(d);
        pa[b].s = _mm_loadu_si128((const __m128i *)(const void *)sum);
    }
}
static inline TGT_AVX2 void q80_prep_avx2(const uint8_t *a, size_t arb, size_t chunk, size_t nb, q80_act *pa) {
    q80_prep(a, arb, chunk, nb, pa);
}
static inline TGT_AVX512VNNI void q80_prep_avx512vnni(const uint8_t *a, size_t arb, size_t chunk, size_t nb, q80_act *pa) {
    q80_prep(a, arb, chunk, nb, pa);
}

// the 8 rows' f16 scales at x, x + wrb, ..., x + 7·wrb as floats, lane = row
static BORA_ALWAYS_INLINE TGT __m256 f16_rows8(const uint8_t *x, size_t wrb) {
    return _mm256_cvtph_ps(_mm_setr_epi16((short)bora_rd_u16(x), (short)bora_rd_u16(x + wrb), (short)bora_rd_u16(x + 2 * wrb),
                                          (short)bora_rd_u16(x + 3 * wrb), (short)bora_rd_u16(x + 4 * wrb), (short)bora_rd_u16(x + 5 * wrb),
                                          (short)bora_rd_u16(x + 6 * wrb), (short)bora_rd_u16(x + 7 * wrb)));
}

// a chain's 8 lanes (lane k = rr·NV + v, k < RR·NV) to y[v·ldy + r + rr]
static BORA_ALWAYS_INLINE TGT void store_lanes(__m256 acc, float *y, size_t ldy, size_t r, const int RR, const int NV) {
    float out[8];
    _mm256_storeu_ps(out, acc);
    for (int rr = 0; rr < RR; ++rr)
        for (int v = 0; v < NV; ++v) y[(size_t)v * ldy + r + (size_t)rr] = out[rr * NV + v];
}

// generic: RR rows x NV vectors (RR·NV ≤ 8 lanes, lane k = r·NV + v), for the leftovers
static BORA_ALWAYS_INLINE TGT void q4_0_chain(const uint8_t *w, size_t wrb, size_t r, size_t nb,
                                              const q80_act *pa, float *y, size_t ldy,
                                              const int RR, const int NV) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; ++b) {
        __m256i p[8];
        float dwl[8] = {0}, dal[8] = {0};
        int32_t sal[8] = {0};
        float dv[4];
        int32_t sv[4];
        _mm_storeu_ps(dv, pa[b].d);
        _mm_storeu_si128((__m128i *)(void *)sv, pa[b].s);
        for (int rr = 0; rr < RR; ++rr) {
            const uint8_t *x = w + (r + (size_t)rr) * wrb + b * Q4_0_BYTES;
            const __m256i q = nibbles32(x + OFF_Q4_0_QS);
            const float dw = f16(x);
            for (int v = 0; v < NV; ++v) {
                const int k = rr * NV + v;
                p[k] = _mm256_maddubs_epi16(q, pa[b].q[v]);
                dwl[k] = dw; dal[k] = dv[v]; sal[k] = sv[v];
            }
        }
        for (int k = RR * NV; k < 8; ++k) p[k] = _mm256_setzero_si256();
        // Σ (q − 8)·a = Σ q·a − 8·Σ a, exact in int32
        const __m256i isum = _mm256_sub_epi32(hsum8x8_epi16(p), _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(const void *)sal), 3));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(_mm256_loadu_ps(dwl), _mm256_loadu_ps(dal)), acc);
    }
    store_lanes(acc, y, ldy, r, RR, NV);
}

// GEMV: 8 rows of one vector, lane = row; the 8 row scales gathered into one f16 conversion
static BORA_ALWAYS_INLINE TGT void q4_0_chain8x1(const uint8_t *w, size_t wrb, size_t r, size_t nb, const q80_act *pa, float *y) {
    __m256 acc = _mm256_setzero_ps();
    const uint8_t *x = w + r * wrb;
    for (size_t b = 0; b < nb; ++b, x += Q4_0_BYTES) {
        __m256i p[8];
        for (int k = 0; k < 8; ++k)
            p[k] = _mm256_maddubs_epi16(nibbles32(x + (size_t)k * wrb + OFF_Q4_0_QS), pa[b].q[0]);
        const __m256i isum = _mm256_sub_epi32(hsum8x8_epi16(p), _mm256_slli_epi32(_mm256_broadcastd_epi32(pa[b].s), 3));
        const __m256 scale = _mm256_mul_ps(f16_rows8(x, wrb), _mm256_broadcastss_ps(pa[b].d));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc);
    }
    _mm256_storeu_ps(y + r, acc);
}

// the scales of 2 rows x 4 vectors, lane = row·4 + vector: d_w(row)·d_a(vector), rows' blocks at x0, x1
static BORA_ALWAYS_INLINE TGT __m256 scale2x4(const uint8_t *x0, const uint8_t *x1, const __m128 *da) {
    const __m128 dw = _mm_cvtph_ps(_mm_cvtsi32_si128((int)(bora_rd_u16(x0) | ((uint32_t)bora_rd_u16(x1) << 16))));
    const __m256 dws = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(dw), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
    return _mm256_mul_ps(dws, _mm256_broadcast_ps(da));
}

// GEMM: 2 rows x 4 vectors, lane = row·4 + vector
static BORA_ALWAYS_INLINE TGT void q4_0_chain2x4(const uint8_t *w, size_t wrb, size_t r, size_t nb, const q80_act *pa,
                                                 float *y, size_t ldy) {
    __m256 acc = _mm256_setzero_ps();
    const uint8_t *x0 = w + r * wrb, *x1 = x0 + wrb;
    for (size_t b = 0; b < nb; ++b, x0 += Q4_0_BYTES, x1 += Q4_0_BYTES) {
        const __m256i q0 = nibbles32(x0 + OFF_Q4_0_QS), q1 = nibbles32(x1 + OFF_Q4_0_QS);
        __m256i p[8];
        for (int v = 0; v < 4; ++v) {
            p[v] = _mm256_maddubs_epi16(q0, pa[b].q[v]);
            p[4 + v] = _mm256_maddubs_epi16(q1, pa[b].q[v]);
        }
        const __m256i s8 = _mm256_slli_epi32(_mm256_broadcastsi128_si256(pa[b].s), 3);
        const __m256i isum = _mm256_sub_epi32(hsum8x8_epi16(p), s8);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale2x4(x0, x1, &pa[b].d), acc);
    }
    store_lanes(acc, y, ldy, r, 2, 4);
}

// ---- Q4_0 on x8-repacked weights (bora_repack_q4_0_x8): the same chain without horizontal sums ----
// One 144-byte block holds 8 rows' scales and 4 chunks of 32 bytes; chunk k's 4-byte lane i holds
// row i's bytes qs[4k..4k+3]. The low nibbles against the activation's elements 4k..4k+3 (one
// broadcast) and the high nibbles against 16+4k..16+4k+3 give, after maddubs, each row's products
// in its own 32-bit lane: 8 maddubs summed in int16 (|Σ| ≤ 16·15·127 = 30480) and one madd leave
// lane i = Σ_32 q·a of row i — the integer q4_0_chain8x1 computes with hsum8x8_epi16 — so each
// output gets the same fma chain, bit for bit. Up to 4 vectors share each unpacked block.
static BORA_ALWAYS_INLINE TGT void q4_0_x8_group(const uint8_t *pk, size_t nb, const uint8_t *a, size_t arb,
                                                 const q80_act *pa, float *y, size_t ldy, const int NV) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (size_t b = 0; b < nb; ++b, pk += X8_Q4_0_BYTES) {
        if (NV == 1)   // GEMV: software prefetch X8_PF_BYTES ahead (the streamer alone falls short)
            for (int o = 0; o < X8_Q4_0_BYTES; o += 64) _mm_prefetch((const char *)(pk + X8_PF_BYTES + o), _MM_HINT_T0);
        __m256i p[4];
        for (int k = 0; k < 4; ++k) {
            const __m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)(pk + 16 + 32 * k));
            const __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            for (int v = 0; v < NV; ++v) {
                const uint8_t *qa = a + (size_t)v * arb + b * Q8_0_BYTES + OFF_Q8_0_QS;
                const __m256i t = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32((int)bora_rd_u32(qa + 4 * k))),
                                                   _mm256_maddubs_epi16(hi, _mm256_set1_epi32((int)bora_rd_u32(qa + 16 + 4 * k))));
                p[v] = k == 0 ? t : _mm256_add_epi16(p[v], t);
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)pk));
        const float *da = (const float *)(const void *)&pa[b].d;
        const int32_t *sa = (const int32_t *)(const void *)&pa[b].s;
        for (int v = 0; v < NV; ++v) {
            // Σ (q − 8)·a = Σ q·a − 8·Σ a, exact in int32
            const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(p[v], ones), _mm256_set1_epi32(sa[v] * 8));
            const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(da[v]));
            acc[v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc[v]);
        }
    }
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(y + (size_t)v * ldy, acc[v]);
}

// ---- Q8_0 x Q8_0, in the same chain as Q4_0 ----
// Per output, acc = fma(float(Σ_32 w·a), d_w·d_a, acc) over blocks, the block's integer dot exact
// (|w| against sign(w)·a: maddubs, then madd into int32, since two maddubs pairs of 127·127 would
// overflow int16). This is the order of Q4_0's chains, not llama.cpp's Q8_0 (8 float lanes per
// block, summed at the end): it is what lets the x8 repack below keep each row's integer sum in
// one lane, which is what makes it fast, and the GGUF-layout kernels here give the same bits.

// acc + Σ of u[4i..4i+3]·s[4i..4i+3] per int32 lane (u unsigned, s signed bytes)
static BORA_ALWAYS_INLINE TGT __m256i dp_us8(__m256i acc, __m256i u, __m256i s, const int vnni) {
    if (vnni) return dpbusd_avx512vnni(acc, u, s);
    return _mm256_add_epi32(acc, mul_sum_us8(u, s, 0));
}

// lane k = Σ of the 8 int32 in p[k] (exact)
static BORA_ALWAYS_INLINE TGT __m256i hsum8x8_epi32(const __m256i p[8]) {
    const __m256i t0 = _mm256_hadd_epi32(p[0], p[1]), t1 = _mm256_hadd_epi32(p[2], p[3]);
    const __m256i t2 = _mm256_hadd_epi32(p[4], p[5]), t3 = _mm256_hadd_epi32(p[6], p[7]);
    // u0: low half = p0..p3's low-half sums, high half = their high-half sums; u1: p4..p7
    const __m256i u0 = _mm256_hadd_epi32(t0, t1), u1 = _mm256_hadd_epi32(t2, t3);
    return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u0, u1, 0x31));
}

// one row's block against one prepared activation block: 8 int32 lanes, Σ lanes = Σ_32 w·a
static BORA_ALWAYS_INLINE TGT __m256i q8_0_lanes(const uint8_t *x, __m256i aq, const int vnni) {
    const __m256i q = loadu256(x + OFF_Q8_0_QS);
    return mul_sum_us8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(aq, q), vnni);
}

// generic: RR rows x NV vectors (RR·NV ≤ 8 lanes, lane k = r·NV + v), for the leftovers
static BORA_ALWAYS_INLINE TGT void q8_0_chain(const uint8_t *w, size_t wrb, size_t r, size_t nb,
                                              const q80_act *pa, float *y, size_t ldy,
                                              const int RR, const int NV, const int vnni) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; ++b) {
        __m256i p[8];
        float dwl[8] = {0}, dal[8] = {0};
        const float *dv = (const float *)(const void *)&pa[b].d;
        for (int rr = 0; rr < RR; ++rr) {
            const uint8_t *x = w + (r + (size_t)rr) * wrb + b * Q8_0_BYTES;
            const float dw = f16(x);
            for (int v = 0; v < NV; ++v) {
                const int k = rr * NV + v;
                p[k] = q8_0_lanes(x, pa[b].q[v], vnni);
                dwl[k] = dw; dal[k] = dv[v];
            }
        }
        for (int k = RR * NV; k < 8; ++k) p[k] = _mm256_setzero_si256();
        const __m256i isum = hsum8x8_epi32(p);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(_mm256_loadu_ps(dwl), _mm256_loadu_ps(dal)), acc);
    }
    store_lanes(acc, y, ldy, r, RR, NV);
}

// GEMV: 8 rows of one vector, lane = row; the next 8 rows prefetched as these are read
static BORA_ALWAYS_INLINE TGT void q8_0_chain8x1(const uint8_t *w, size_t wrb, size_t r, size_t nb, const q80_act *pa, float *y,
                                                 const int vnni) {
    __m256 acc = _mm256_setzero_ps();
    const uint8_t *x = w + r * wrb;
    for (size_t b = 0; b < nb; ++b, x += Q8_0_BYTES) {
        __m256i p[8];
        for (int k = 0; k < 8; ++k) {
            _mm_prefetch((const char *)(x + (size_t)(8 + k) * wrb), _MM_HINT_T0);
            p[k] = q8_0_lanes(x + (size_t)k * wrb, pa[b].q[0], vnni);
        }
        const __m256 scale = _mm256_mul_ps(f16_rows8(x, wrb), _mm256_broadcastss_ps(pa[b].d));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hsum8x8_epi32(p)), scale, acc);
    }
    _mm256_storeu_ps(y + r, acc);
}

// GEMM: 2 rows x 4 vectors, lane = row·4 + vector
static BORA_ALWAYS_INLINE TGT void q8_0_chain2x4(const uint8_t *w, size_t wrb, size_t r, size_t nb, const q80_act *pa,
                                                 float *y, size_t ldy, const int vnni) {
    __m256 acc = _mm256_setzero_ps();
    const uint8_t *x0 = w + r * wrb, *x1 = x0 + wrb;
    for (size_t b = 0; b < nb; ++b, x0 += Q8_0_BYTES, x1 += Q8_0_BYTES) {
        __m256i p[8];
        for (int v = 0; v < 4; ++v) {
            p[v] = q8_0_lanes(x0, pa[b].q[v], vnni);
            p[4 + v] = q8_0_lanes(x1, pa[b].q[v], vnni);
        }
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hsum8x8_epi32(p)), scale2x4(x0, x1, &pa[b].d), acc);
    }
    store_lanes(acc, y, ldy, r, 2, 4);
}

// On the x8 repack: chunk k's lane i holds row i's bytes 4k..4k+3, so one maddubs + madd against
// the activation's bytes 4k..4k+3 (broadcast) adds row i's 4 products to lane i: 8 chunks leave
// lane i = Σ_32 w·a of row i, the integer the chains above reduce with hsum8x8_epi32, and each
// output gets the same fma chain, bit for bit. Up to 4 vectors share each loaded chunk.
static BORA_ALWAYS_INLINE TGT void q8_0_x8_group(const uint8_t *pk, size_t nb, const uint8_t *a, size_t arb,
                                                 const q80_act *pa, float *y, size_t ldy, const int NV, const int vnni) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (size_t b = 0; b < nb; ++b, pk += X8_Q8_0_BYTES) {
        if (NV == 1)   // GEMV: software prefetch X8_PF_BYTES ahead (the streamer alone falls short)
            for (int o = 0; o < X8_Q8_0_BYTES; o += 64) _mm_prefetch((const char *)(pk + X8_PF_BYTES + o), _MM_HINT_T0);
        __m256i p[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int k = 0; k < 8; ++k) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(pk + 16 + 32 * k));
            const __m256i u = _mm256_sign_epi8(q, q);
            for (int v = 0; v < NV; ++v) {
                const uint8_t *qa = a + (size_t)v * arb + b * Q8_0_BYTES + OFF_Q8_0_QS + 4 * k;
                p[v] = dp_us8(p[v], u, _mm256_sign_epi8(_mm256_set1_epi32((int)bora_rd_u32(qa)), q), vnni);
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)pk));
        const float *da = (const float *)(const void *)&pa[b].d;
        for (int v = 0; v < NV; ++v)
            acc[v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p[v]), _mm256_mul_ps(dw, _mm256_set1_ps(da[v])), acc[v]);
    }
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(y + (size_t)v * ldy, acc[v]);
}

// the type's x8 group
static BORA_ALWAYS_INLINE TGT void x8_group(const uint8_t *pk, size_t nb, const uint8_t *a, size_t arb,
                                            const q80_act *pa, float *y, size_t ldy, const int NV, const int q8, const int vnni) {
    if (q8) q8_0_x8_group(pk, nb, a, arb, pa, y, ldy, NV, vnni);
    else q4_0_x8_group(pk, nb, a, arb, pa, y, ldy, NV);
}

// dot, gemm and gemm on the x8 repack for the chained types, Q4_0 (q8 = 0) and Q8_0 (q8 = 1, the
// kernels named "q8_0c"): per chunk of ≤ 4 vectors, the activation blocks prepared once
// (q80_prep), then rows through the type's chain8x1 (one vector), chain2x4 (four) or the generic
// chain. The dot is the scalar exact block dot in the same chain.
enum { CHAIN_Q4_0 = 0, CHAIN_Q8_0 = 1 };

static BORA_ALWAYS_INLINE TGT float chain_dot(size_t n, const void *w, const void *a, const int q8) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    float acc = 0.0f;
    for (size_t b = 0; b < n / BORA_QK; ++b, x += (q8 ? Q8_0_BYTES : Q4_0_BYTES), y += Q8_0_BYTES)
        acc = fmaf((float)(q8 ? bora_blk_q8_0_q8_0(x, y) : bora_blk_q4_0_q8_0(x, y)), f16(x) * f16(y), acc);
    return acc;
}

static TGT_AVX2 float dot_q4_0_avx2(size_t n, const void *w, const void *a) { return chain_dot(n, w, a, CHAIN_Q4_0); }
static TGT_AVX2 float dot_q8_0c_avx2(size_t n, const void *w, const void *a) { return chain_dot(n, w, a, CHAIN_Q8_0); }
static TGT_AVX512VNNI float dot_q4_0_avx512vnni(size_t n, const void *w, const void *a) { return chain_dot(n, w, a, CHAIN_Q4_0); }
static TGT_AVX512VNNI float dot_q8_0c_avx512vnni(size_t n, const void *w, const void *a) { return chain_dot(n, w, a, CHAIN_Q8_0); }

// the type's generic chain, chain8x1 and chain2x4
static BORA_ALWAYS_INLINE TGT void chain_rows(const uint8_t *w, size_t wrb, size_t r, size_t nb, const q80_act *pa, float *y,
                                              size_t ldy, const int RR, const int NV, const int q8, const int vnni) {
    if (q8) q8_0_chain(w, wrb, r, nb, pa, y, ldy, RR, NV, vnni);
    else q4_0_chain(w, wrb, r, nb, pa, y, ldy, RR, NV);
}
static BORA_ALWAYS_INLINE TGT void chain_8x1(const uint8_t *w, size_t wrb, size_t r, size_t nb, const q80_act *pa, float *y,
                                             const int q8, const int vnni) {
    if (q8) q8_0_chain8x1(w, wrb, r, nb, pa, y, vnni);
    else q4_0_chain8x1(w, wrb, r, nb, pa, y);
}
static BORA_ALWAYS_INLINE TGT void chain_2x4(const uint8_t *w, size_t wrb, size_t r, size_t nb, const q80_act *pa, float *y,
                                             size_t ldy, const int q8, const int vnni) {
    if (q8) q8_0_chain2x4(w, wrb, r, nb, pa, y, ldy, vnni);
    else q4_0_chain2x4(w, wrb, r, nb, pa, y, ldy);
}

static BORA_ALWAYS_INLINE TGT void chain_gemm(BORA_GEMM_ARGS, const int q8, const int vnni) {
    const size_t nb = n / BORA_QK;
    const uint8_t *wb = (const uint8_t *)w;
    if (nb > Q40_PREP_BLOCKS) {   // long rows: one dot per (row, vector), the set's own dot
        for (size_t v = 0; v < nv; ++v)
            for (size_t r = r0; r < r1; ++r) {
                const uint8_t *wr = wb + r * wrb, *av = (const uint8_t *)a + v * arb;
                y[v * ldy + r] = q8 ? (vnni ? dot_q8_0c_avx512vnni(n, wr, av) : dot_q8_0c_avx2(n, wr, av))
                                    : (vnni ? dot_q4_0_avx512vnni(n, wr, av) : dot_q4_0_avx2(n, wr, av));
            }
        return;
    }
    q80_act pa[Q40_PREP_BLOCKS];
    for (size_t v0 = 0; v0 < nv; v0 += 4) {
        const size_t chunk = nv - v0 < 4 ? nv - v0 : 4;
        if (vnni) q80_prep_avx512vnni((const uint8_t *)a + v0 * arb, arb, chunk, nb, pa);
        else q80_prep_avx2((const uint8_t *)a + v0 * arb, arb, chunk, nb, pa);
        float *out = y + v0 * ldy;
        size_t r = r0;
        switch (chunk) {
        case 1:
            for (; r + 8 <= r1; r += 8) chain_8x1(wb, wrb, r, nb, pa, out, q8, vnni);
            for (; r < r1; ++r) chain_rows(wb, wrb, r, nb, pa, out, ldy, 1, 1, q8, vnni);
            break;
        case 2:
            for (; r + 4 <= r1; r += 4) chain_rows(wb, wrb, r, nb, pa, out, ldy, 4, 2, q8, vnni);
            for (; r < r1; ++r) chain_rows(wb, wrb, r, nb, pa, out, ldy, 1, 2, q8, vnni);
            break;
        case 3:
            for (; r + 2 <= r1; r += 2) chain_rows(wb, wrb, r, nb, pa, out, ldy, 2, 3, q8, vnni);
            for (; r < r1; ++r) chain_rows(wb, wrb, r, nb, pa, out, ldy, 1, 3, q8, vnni);
            break;
        default:
            for (; r + 2 <= r1; r += 2) chain_2x4(wb, wrb, r, nb, pa, out, ldy, q8, vnni);
            for (; r < r1; ++r) chain_rows(wb, wrb, r, nb, pa, out, ldy, 1, 4, q8, vnni);
            break;
        }
    }
}

static TGT_AVX2 void gemm_q4_0_avx2(BORA_GEMM_ARGS) { chain_gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy, CHAIN_Q4_0, 0); }
static TGT_AVX2 void gemm_q8_0c_avx2(BORA_GEMM_ARGS) { chain_gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy, CHAIN_Q8_0, 0); }
static TGT_AVX512VNNI void gemm_q4_0_avx512vnni(BORA_GEMM_ARGS) { chain_gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy, CHAIN_Q4_0, 1); }
static TGT_AVX512VNNI void gemm_q8_0c_avx512vnni(BORA_GEMM_ARGS) { chain_gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy, CHAIN_Q8_0, 1); }

// the same chains on the x8 repack (bora_gemm_packed_fn; packed NULL: all rows through the set's gemm)
static BORA_ALWAYS_INLINE TGT void chain_gemm_x8(size_t n, const void *w, size_t wrb, const void *packed, size_t r0, size_t r1,
                                                 const void *a, size_t arb, size_t nv, float *y, size_t ldy, const int q8, const int vnni) {
    const size_t nb = n / BORA_QK, gbytes = nb * (q8 ? X8_Q8_0_BYTES : X8_Q4_0_BYTES);
    const size_t g0 = (r0 + 7) / 8, g1 = r1 / 8;
    // the set's gemm on the GGUF layout: every row when there is no repack, else the rows outside whole groups
    bora_gemm_fn gemm = q8 ? (vnni ? gemm_q8_0c_avx512vnni : gemm_q8_0c_avx2) : (vnni ? gemm_q4_0_avx512vnni : gemm_q4_0_avx2);
    if (!packed || g0 >= g1 || nb > Q40_PREP_BLOCKS) { gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy); return; }
    if (r0 < 8 * g0) gemm(n, w, wrb, r0, 8 * g0, a, arb, nv, y, ldy);
    if (8 * g1 < r1) gemm(n, w, wrb, 8 * g1, r1, a, arb, nv, y, ldy);
    q80_act pa[Q40_PREP_BLOCKS];
    const uint8_t *ab = (const uint8_t *)a, *pk = (const uint8_t *)packed;
    for (size_t v0 = 0; v0 < nv; v0 += 4) {
        const size_t chunk = nv - v0 < 4 ? nv - v0 : 4;
        const uint8_t *av = ab + v0 * arb;
        if (vnni) q80_prep_avx512vnni(av, arb, chunk, nb, pa);
        else q80_prep_avx2(av, arb, chunk, nb, pa);
        for (size_t g = g0; g < g1; ++g) {
            const uint8_t *pg = pk + g * gbytes;
            float *yg = y + v0 * ldy + 8 * g;
            switch (chunk) {
            case 1: x8_group(pg, nb, av, arb, pa, yg, ldy, 1, q8, vnni); break;
            case 2: x8_group(pg, nb, av, arb, pa, yg, ldy, 2, q8, vnni); break;
            case 3: x8_group(pg, nb, av, arb, pa, yg, ldy, 3, q8, vnni); break;
            default: x8_group(pg, nb, av, arb, pa, yg, ldy, 4, q8, vnni); break;
            }
        }
    }
}

static TGT_AVX2 void gemm_q4_0_x8_avx2(size_t n, const void *w, size_t wrb, const void *packed, size_t r0, size_t r1,
                                       const void *a, size_t arb, size_t nv, float *y, size_t ldy) {
    chain_gemm_x8(n, w, wrb, packed, r0, r1, a, arb, nv, y, ldy, CHAIN_Q4_0, 0);
}
static TGT_AVX2 void gemm_q8_0c_x8_avx2(size_t n, const void *w, size_t wrb, const void *packed, size_t r0, size_t r1,
                                        const void *a, size_t arb, size_t nv, float *y, size_t ldy) {
    chain_gemm_x8(n, w, wrb, packed, r0, r1, a, arb, nv, y, ldy, CHAIN_Q8_0, 0);
}
static TGT_AVX512VNNI void gemm_q4_0_x8_avx512vnni(size_t n, const void *w, size_t wrb, const void *packed, size_t r0, size_t r1,
                                                   const void *a, size_t arb, size_t nv, float *y, size_t ldy) {
    chain_gemm_x8(n, w, wrb, packed, r0, r1, a, arb, nv, y, ldy, CHAIN_Q4_0, 1);
}
static TGT_AVX512VNNI void gemm_q8_0c_x8_avx512vnni(size_t n, const void *w, size_t wrb, const void *packed, size_t r0, size_t r1,
                                                    const void *a, size_t arb, size_t nv, float *y, size_t ldy) {
    chain_gemm_x8(n, w, wrb, packed, r0, r1, a, arb, nv, y, ldy, CHAIN_Q8_0, 1);
}

// ---- Q4_1 x Q8_1 and Q8_0 x Q8_0 (GGUF layout), in llama.cpp's x86 order ----
// These dots perform the floating-point operations of llama.cpp's AVX2 ggml_vec_dot_q4_1_q8_1 and
// ggml_vec_dot_q8_0_q8_0 (and of llamafile's tinyBLAS for Q8_0, which is the same per output),
// in the same order, so Bora's Q4_1 and Q8_0 matmuls give llama.cpp's bits:
//   per block b: maddubs + madd give 8 int32 lanes of 4 consecutive products (exact) — Q4_1's
//     nibbles as [low 16 | high 16] bytes against the 32 activation bytes; Q8_0 through the sign
//     trick (|w| against sign(w)·a); acc = fma(d_w·d_a, float(lanes), acc);
//     Q4_1's offset term is a scalar chain: summs = fma(m_w, s_a, summs);
//   result = hsum(acc) (+ summs), hsum in hsum_ps's order.
// A model's logits then match llama.cpp's wherever its other operations match too (see
// LlamaCppAgreementTests). Integer work per block is as before; only the float order is fixed.
// (Q8_0 matrices a model repacks to x8 use the chained order above instead: gemm_x8.)
#define LL_PREP_BLOCKS 256  // rows up to 8192 elements: activation blocks prepared on the stack (≤ 140 KiB)
#define LL_GEMM_VECTORS 8   // GEMM: vectors sharing each decoded weight block (8 accumulators)

// one decoded weight block: u = the unsigned operand of maddubs, q = the signed weights (Q8_0),
// d = the scale in all lanes, m = Q4_1's min in all four lanes (one lane per prepared vector)
typedef struct { __m256i u, q; __m256 d; __m128 m; } ll_w;

static BORA_ALWAYS_INLINE TGT ll_w ll_w_q4_1(const uint8_t *x) {
    ll_w r;
    r.u = nibbles32(x + OFF_Q4_1_QS);
    r.q = r.u;
    const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)bora_rd_u32(x)));   // [d, m, 0, 0]
    r.d = _mm256_broadcastss_ps(dm);
    r.m = _mm_permute_ps(dm, 0x55);
    return r;
}
static BORA_ALWAYS_INLINE TGT __m256 ll_lanes_q4_1(const ll_w *w, __m256i a, const int vnni) {
    return _mm256_cvtepi32_ps(mul_sum_us8(w->u, a, vnni));
}
static BORA_ALWAYS_INLINE TGT ll_w ll_w_q8_0(const uint8_t *x) {
    ll_w r;
    r.q = loadu256(x + OFF_Q8_0_QS);
    r.u = _mm256_sign_epi8(r.q, r.q);
    r.d = _mm256_set1_ps(f16(x));
    r.m = _mm_setzero_ps();
    return r;
}
static BORA_ALWAYS_INLINE TGT __m256 ll_lanes_q8_0(const ll_w *w, __m256i a, const int vnni) {
    return _mm256_cvtepi32_ps(mul_sum_us8(w->u, _mm256_sign_epi8(a, w->q), vnni));
}

// the type's block decode and lanes: q41 = 1 for Q4_1 x Q8_1, 0 for Q8_0 x Q8_0
enum { LL_Q8_0 = 0, LL_Q4_1 = 1 };
static BORA_ALWAYS_INLINE TGT ll_w ll_w_dec(const uint8_t *x, const int q41) {
    if (q41) return ll_w_q4_1(x);
    return ll_w_q8_0(x);
}
static BORA_ALWAYS_INLINE TGT __m256 ll_lanes(const ll_w *w, __m256i a, const int q41, const int vnni) {
    if (q41) return ll_lanes_q4_1(w, a, vnni);
    return ll_lanes_q8_0(w, a, vnni);
}

// ll_dot, ll_rows (rows x ≤ LL_GEMM_VECTORS prepared vectors: each weight block decoded once per row,
// each vector keeps its own (acc, summs) chain in block order) and ll_gemm, for Q4_1 (q41 = 1: the
// m·s term, Q8_1 activations) or Q8_0 (q41 = 0).
static BORA_ALWAYS_INLINE TGT float ll_dot(size_t n, const void *w, const void *a, const int q41, const int vnni) {
    const int wbytes = q41 ? Q4_1_BYTES : Q8_0_BYTES, abytes = q41 ? Q8_1_BYTES : Q8_0_BYTES;
    const size_t aqs = q41 ? OFF_Q8_1_QS : OFF_Q8_0_QS;
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (size_t b = 0; b < n / BORA_QK; ++b, x += wbytes, y += abytes) {
        const ll_w wb = ll_w_dec(x, q41);
        if (q41) summs = fmaf(_mm_cvtss_f32(wb.m), f16(y + OFF_Q8_1_S), summs);
        acc = _mm256_fmadd_ps(_mm256_mul_ps(wb.d, _mm256_set1_ps(f16(y))),
                              ll_lanes(&wb, loadu256(y + aqs), q41, vnni), acc);
    }
    return q41 ? hsum_ps(acc) + summs : hsum_ps(acc);
}

static TGT_AVX2 float dot_q4_1_avx2(size_t n, const void *w, const void *a) { return ll_dot(n, w, a, LL_Q4_1, 0); }
static TGT_AVX2 float dot_q8_0_avx2(size_t n, const void *w, const void *a) { return ll_dot(n, w, a, LL_Q8_0, 0); }
static TGT_AVX512VNNI float dot_q4_1_avx512vnni(size_t n, const void *w, const void *a) { return ll_dot(n, w, a, LL_Q4_1, 1); }
static TGT_AVX512VNNI float dot_q8_0_avx512vnni(size_t n, const void *w, const void *a) { return ll_dot(n, w, a, LL_Q8_0, 1); }

static BORA_ALWAYS_INLINE TGT void ll_rows(const uint8_t *w, size_t wrb, size_t r0, size_t r1, size_t nb,
                                           const __m256i (*qy)[LL_PREP_BLOCKS + 3], const __m256 (*da)[LL_PREP_BLOCKS + 5], const __m256 *sa,
                                           float *y, size_t ldy, const int NV, const int q41, const int vnni) {
    const int wbytes = q41 ? Q4_1_BYTES : Q8_0_BYTES;
    size_t r = r0;
    if (NV == 1) {
        // GEMV: LL_GEMV_ROWS rows' chains interleaved (each row's fma chain is a block-long
        // dependency chain), the rows LL_PF_ROWS ahead prefetched as these are eaten
        for (; r + LL_GEMV_ROWS <= r1; r += LL_GEMV_ROWS) {
            const uint8_t *x0 = w + r * wrb, *pf = x0 + LL_PF_ROWS * wrb;
            __m256 acc[LL_GEMV_ROWS];
            float sm[LL_GEMV_ROWS];
            for (int i = 0; i < LL_GEMV_ROWS; ++i) { acc[i] = _mm256_setzero_ps(); sm[i] = 0.0f; }
            for (size_t b = 0; b < nb; ++b) {
                const uint8_t *p = pf + (size_t)LL_GEMV_ROWS * b * wbytes;
                for (int o = 0; o < LL_GEMV_ROWS * wbytes; o += 64) _mm_prefetch((const char *)(p + o), _MM_HINT_T0);
                const float sb = _mm256_cvtss_f32(sa[b]);
                for (int i = 0; i < LL_GEMV_ROWS; ++i) {
                    const ll_w wi = ll_w_dec(x0 + i * wrb + b * wbytes, q41);
                    if (q41) sm[i] = fmaf(_mm_cvtss_f32(wi.m), sb, sm[i]);
                    acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(wi.d, da[0][b]), ll_lanes(&wi, qy[0][b], q41, vnni), acc[i]);
                }
            }
            for (int i = 0; i < LL_GEMV_ROWS; ++i)
                y[r + i] = q41 ? hsum_ps(acc[i]) + sm[i] : hsum_ps(acc[i]);
        }
    }
    for (; r < r1; ++r) {
        const uint8_t *x = w + r * wrb;
        __m256 acc[LL_GEMM_VECTORS];
        // the vectors' m·s chains side by side, one lane each: the same fma per lane
        __m256 summs = _mm256_setzero_ps();
        for (int v = 0; v < NV; ++v) acc[v] = _mm256_setzero_ps();
        for (size_t b = 0; b < nb; ++b, x += wbytes) {
            const ll_w wb = ll_w_dec(x, q41);
            if (q41) summs = _mm256_fmadd_ps(_mm256_broadcastss_ps(wb.m), sa[b], summs);
            for (int v = 0; v < NV; ++v)
                acc[v] = _mm256_fmadd_ps(_mm256_mul_ps(wb.d, da[v][b]), ll_lanes(&wb, qy[v][b], q41, vnni), acc[v]);
        }
        float sm[8];
        _mm256_storeu_ps(sm, summs);
        for (int v = 0; v < NV; ++v)
            y[v * ldy + r] = q41 ? hsum_ps(acc[v]) + sm[v] : hsum_ps(acc[v]);
    }
}

static BORA_ALWAYS_INLINE TGT void ll_gemm(BORA_GEMM_ARGS, const int q41, const int vnni) {
    const int abytes = q41 ? Q8_1_BYTES : Q8_0_BYTES;
    const size_t aqs = q41 ? OFF_Q8_1_QS : OFF_Q8_0_QS;
    const size_t nb = n / BORA_QK;
    const uint8_t *wb = (const uint8_t *)w;
    if (nb > LL_PREP_BLOCKS) {   // long rows: one dot per (row, vector), the set's own dot
        for (size_t v = 0; v < nv; ++v)
            for (size_t r = r0; r < r1; ++r) {
                const uint8_t *wr = wb + r * wrb, *av = (const uint8_t *)a + v * arb;
                y[v * ldy + r] = q41 ? (vnni ? dot_q4_1_avx512vnni(n, wr, av) : dot_q4_1_avx2(n, wr, av))
                                     : (vnni ? dot_q8_0_avx512vnni(n, wr, av) : dot_q8_0_avx2(n, wr, av));
            }
        return;
    }
    // rows padded off multiples of 4 KiB: the vectors' entries for one block on different L1 sets
    __m256i qy[LL_GEMM_VECTORS][LL_PREP_BLOCKS + 3];
    __m256 da[LL_GEMM_VECTORS][LL_PREP_BLOCKS + 5];  // broadcast: a memory operand of the multiply
    __m256 sa[LL_PREP_BLOCKS];   // Q4_1: lane v = the s of block b of the chunk's vector v
    float *sf = (float *)(void *)sa;
    for (size_t v0 = 0; v0 < nv; v0 += LL_GEMM_VECTORS) {
        const size_t chunk = nv - v0 < LL_GEMM_VECTORS ? nv - v0 : LL_GEMM_VECTORS;
        for (size_t b = 0; b < nb; ++b) sa[b] = _mm256_setzero_ps();
        for (size_t v = 0; v < chunk; ++v) {
            const uint8_t *yb = (const uint8_t *)a + (v0 + v) * arb;
            for (size_t b = 0; b < nb; ++b, yb += abytes) {
                qy[v][b] = loadu256(yb + aqs);
                da[v][b] = _mm256_set1_ps(f16(yb));
                sf[8 * b + v] = q41 ? f16(yb + OFF_Q8_1_S) : 0.0f;
            }
        }
        const __m256i (*cq)[LL_PREP_BLOCKS + 3] = (const __m256i (*)[LL_PREP_BLOCKS + 3])qy;
        const __m256 (*cd)[LL_PREP_BLOCKS + 5] = (const __m256 (*)[LL_PREP_BLOCKS + 5])da;
        const __m256 *cs = sa;
        float *out = y + v0 * ldy;
        switch (chunk) {
        case 8: ll_rows(wb, wrb, r0, r1, nb, cq, cd, cs, out, ldy, 8, q41, vnni); break;
        case 7: ll_rows(wb, wrb, r0, r1, nb, cq, cd, cs, out, ldy, 7, q41, vnni); break;
        case 6: ll_rows(wb, wrb, r0, r1, nb, cq, cd, cs, out, ldy, 6, q41, vnni); break;
        case 5: ll_rows(wb, wrb, r0, r1, nb, cq, cd, cs, out, ldy, 5, q41, vnni); break;
        case 4: ll_rows(wb, wrb, r0, r1, nb, cq, cd, cs, out, ldy, 4, q41, vnni); break;
        case 3: ll_rows(wb, wrb, r0, r1, nb, cq, cd, cs, out, ldy, 3, q41, vnni); break;
        case 2: ll_rows(wb, wrb, r0, r1, nb, cq, cd, cs, out, ldy, 2, q41, vnni); break;
        default: ll_rows(wb, wrb, r0, r1, nb, cq, cd, cs, out, ldy, 1, q41, vnni); break;
        }
    }
}

static TGT_AVX2 void gemm_q4_1_avx2(BORA_GEMM_ARGS) { ll_gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy, LL_Q4_1, 0); }
static TGT_AVX2 void gemm_q8_0_avx2(BORA_GEMM_ARGS) { ll_gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy, LL_Q8_0, 0); }
static TGT_AVX512VNNI void gemm_q4_1_avx512vnni(BORA_GEMM_ARGS) { ll_gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy, LL_Q4_1, 1); }
static TGT_AVX512VNNI void gemm_q8_0_avx512vnni(BORA_GEMM_ARGS) { ll_gemm(n, w, wrb, r0, r1, a, arb, nv, y, ldy, LL_Q8_0, 1); }

// 12 bytes of packed 6-bit Q4_K scales/mins -> sm[0..7] scales, sm[8..15] mins
static BORA_ALWAYS_INLINE void q4_K_sm(const uint8_t *x, uint8_t sm[16]) {
    uint32_t utmp[4];
    memcpy(utmp, x + OFF_Q4_K_SCALES, 12);
    utmp[3] = ((utmp[2] >> 4) & 0x0f0f0f0fu) | (((utmp[1] >> 6) & 0x03030303u) << 4);
    const uint32_t uaux = utmp[1] & 0x3f3f3f3fu;
    utmp[1] = (utmp[2] & 0x0f0f0f0fu) | (((utmp[0] >> 6) & 0x03030303u) << 4);
    utmp[2] = uaux;
    utmp[0] &= 0x3f3f3f3fu;
    memcpy(sm, utmp, 16);
}

// ---- Q4_K x Q8_K (one 256-element super-block per step) ----
// (maddubs on both sets: no vnni branch; `vnni` is the driver's constant, unused here)
static BORA_ALWAYS_INLINE TGT void rv_q4_K(size_t nb, const uint8_t *w, size_t wrb, const uint8_t *a,
                                           size_t arb, float *out, const int RR, const int NV, const int vnni) {
    (void)vnni;
    __m256 acc[4][4];
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (size_t i = 0; i < nb; ++i) {
        uint8_t sm[4][16];
        __m128i mins16[4];
        for (int r = 0; r < RR; ++r) {
            q4_K_sm(w + r * wrb + i * Q4_K_BYTES, sm[r]);
            mins16[r] = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)(sm[r] + 8)));
        }
        __m256i sumi[4][4];
        for (int r = 0; r < RR; ++r)
            for (int v = 0; v < NV; ++v) sumi[r][v] = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {   // 64 elements: sub-blocks 2j (low nibbles), 2j+1 (high)
            __m256i lo[4], hi[4], s_lo[4], s_hi[4];
            for (int r = 0; r < RR; ++r) {
                // 4-bit -> 8-bit
                const __m256i bits = loadu256(w + r * wrb + i * Q4_K_BYTES + OFF_Q4_K_QS + 32 * j);
                lo[r] = _mm256_and_si256(bits, m4);
                hi[r] = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                s_lo[r] = _mm256_set1_epi16(sm[r][2 * j]);
                s_hi[r] = _mm256_set1_epi16(sm[r][2 * j + 1]);
            }
            for (int v = 0; v < NV; ++v) {
                const uint8_t *q8 = a + v * arb + i * Q8_K_BYTES + OFF_Q8_K_QS + 64 * j;
                const __m256i y_lo = loadu256(q8), y_hi = loadu256(q8 + 32);
                for (int r = 0; r < RR; ++r) {
                    // u8*s8 pairs -> i16, then times the sub-block scale -> i32
                    const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[r], y_lo), s_lo[r]);
                    const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi[r], y_hi), s_hi[r]);
                    sumi[r][v] = _mm256_add_epi32(sumi[r][v], _mm256_add_epi32(p_lo, p_hi));
                }
            }
        }
        for (int v = 0; v < NV; ++v) {
            const uint8_t *y = a + v * arb + i * Q8_K_BYTES;
            const float dy = bora_rd_f32(y);
            // mins: sum_s m[s] * (bsums[2s] + bsums[2s+1])
            const __m256i bs = loadu256(y + OFF_Q8_K_BSUMS);
            const __m128i bpairs = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
            for (int r = 0; r < RR; ++r) {
                const uint8_t *x = w + r * wrb + i * Q4_K_BYTES;
                const __m256i pm = _mm256_set_m128i(_mm_setzero_si128(), _mm_madd_epi16(mins16[r], bpairs));
                // d*dy*sumi - dmin*dy*summ (the mins in the low four lanes)
                acc[r][v] = _mm256_fmadd_ps(_mm256_set1_ps(f16(x) * dy), _mm256_cvtepi32_ps(sumi[r][v]), acc[r][v]);
                acc[r][v] = _mm256_fmadd_ps(_mm256_set1_ps(-f16(x + OFF_Q4_K_DMIN) * dy), _mm256_cvtepi32_ps(pm), acc[r][v]);
            }
        }
    }
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) out[r * 4 + v] = hsum_ps(acc[r][v]);
}

// ---- Q5_0 x Q8_0 ----
static BORA_ALWAYS_INLINE TGT void tile_q5_0(size_t nb, const uint8_t *w, const uint8_t *a,
                                             size_t arb, float *out, const int NV, const int vnni) {
    __m256 acc0[4], acc1[4];
    for (int v = 0; v < NV; ++v) acc0[v] = acc1[v] = _mm256_setzero_ps();
    const __m256i hi_f0 = _mm256_set1_epi8((char)0xF0);
    size_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const uint8_t *x0 = w + i * Q5_0_BYTES, *x1 = x0 + Q5_0_BYTES;
        // 4-bit -> 8-bit, then q-16 as int8: bit set -> nibble, bit clear -> nibble | 0xF0
        const __m256i q0 = _mm256_or_si256(nibbles32(x0 + OFF_Q5_0_QS),
                                           _mm256_andnot_si256(bits32(x0 + OFF_Q5_0_QH), hi_f0));
        const __m256i q1 = _mm256_or_si256(nibbles32(x1 + OFF_Q5_0_QS),
                                           _mm256_andnot_si256(bits32(x1 + OFF_Q5_0_QH), hi_f0));
        const __m256i u0 = _mm256_sign_epi8(q0, q0), u1 = _mm256_sign_epi8(q1, q1);
        const float d0 = f16(x0), d1 = f16(x1);
        for (int v = 0; v < NV; ++v) {
            const uint8_t *y0 = a + v * arb + i * Q8_0_BYTES, *y1 = y0 + Q8_0_BYTES;
            const __m256i p0 = mul_sum_us8(u0, _mm256_sign_epi8(loadu256(y0 + OFF_Q8_0_QS), q0), vnni);
            const __m256i p1 = mul_sum_us8(u1, _mm256_sign_epi8(loadu256(y1 + OFF_Q8_0_QS), q1), vnni);
            acc0[v] = _mm256_fmadd_ps(_mm256_set1_ps(d0 * f16(y0)), _mm256_cvtepi32_ps(p0), acc0[v]);
            acc1[v] = _mm256_fmadd_ps(_mm256_set1_ps(d1 * f16(y1)), _mm256_cvtepi32_ps(p1), acc1[v]);
        }
    }
    for (int v = 0; v < NV; ++v) out[v] = hsum_ps(_mm256_add_ps(acc0[v], acc1[v]));
    for (; i < nb; ++i) {
        const uint8_t *x = w + i * Q5_0_BYTES;
        for (int v = 0; v < NV; ++v) {
            const uint8_t *y = a + v * arb + i * Q8_0_BYTES;
            out[v] += bora_rd_f16(x) * bora_rd_f16(y) * (float)bora_blk_q5_0_q8_0(x, y);
        }
    }
}

// ---- Q6_K x Q8_K ----
// (maddubs on both sets: no vnni branch; `vnni` is the driver's constant, unused here)
static BORA_ALWAYS_INLINE TGT void tile_q6_K(size_t nb, const uint8_t *w, const uint8_t *a,
                                             size_t arb, float *out, const int NV, const int vnni) {
    (void)vnni;
    __m256 acc[4];
    for (int v = 0; v < NV; ++v) acc[v] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(0x03);
    for (size_t i = 0; i < nb; ++i) {
        const uint8_t *x = w + i * Q6_K_BYTES;
        const int8_t *sc = (const int8_t *)(x + OFF_Q6_K_SCALES);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)sc));
        const float d = f16(x + OFF_Q6_K_D);
        __m256i sumi[4];
        for (int v = 0; v < NV; ++v) sumi[v] = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {   // two halves of 128 elements
            const __m256i b1 = loadu256(x + OFF_Q6_K_QL + 64 * h);
            const __m256i b2 = loadu256(x + OFF_Q6_K_QL + 64 * h + 32);
            const __m256i bh = loadu256(x + OFF_Q6_K_QH + 32 * h);
            // 4 low bits | 2 high bits << 4 -> unsigned q in [0, 63]
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(b1, m4), _mm256_slli_epi16(_mm256_and_si256(bh, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(b2, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 2), m3), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 4), m3), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 6), m3), 4));
            // 32-element run k spans scale groups 8h+2k (low lane) and 8h+2k+1 (high lane)
            __m256i s[4];
            for (int k = 0; k < 4; ++k)
                s[k] = _mm256_set_m128i(_mm_set1_epi16(sc[8 * h + 2 * k + 1]), _mm_set1_epi16(sc[8 * h + 2 * k]));
            for (int v = 0; v < NV; ++v) {
                const uint8_t *q8 = a + v * arb + i * Q8_K_BYTES + OFF_Q8_K_QS + 128 * h;
                for (int k = 0; k < 4; ++k) {
                    const __m256i p = _mm256_maddubs_epi16(q[k], loadu256(q8 + 32 * k));
                    sumi[v] = _mm256_add_epi32(sumi[v], _mm256_madd_epi16(p, s[k]));
                }
            }
        }
        for (int v = 0; v < NV; ++v) {
            const uint8_t *y = a + v * arb + i * Q8_K_BYTES;
            // sub 32: q-32 summed = sum(q*a) - 32 * sum_g sc[g]*bsums[g]
            const __m256i corr = _mm256_madd_epi16(sc16, loadu256(y + OFF_Q8_K_BSUMS));
            const __m256i t = _mm256_sub_epi32(sumi[v], _mm256_slli_epi32(corr, 5));
            acc[v] = _mm256_fmadd_ps(_mm256_set1_ps(d * bora_rd_f32(y)), _mm256_cvtepi32_ps(t), acc[v]);
        }
    }
    for (int v = 0; v < NV; ++v) out[v] = hsum_ps(acc[v]);
}

// ---- F16 / BF16 / F32 x F32 (16 elements per step, scalar tail) ----
static BORA_ALWAYS_INLINE TGT __m256 load_f16x8(const uint8_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}
static BORA_ALWAYS_INLINE TGT __m256 load_bf16x8(const uint8_t *p) {
    const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
static BORA_ALWAYS_INLINE TGT __m256 load_f32x8(const uint8_t *p) { return _mm256_loadu_ps((const float *)(const void *)p); }

// one tile body for the three float weight types; kind: FLOAT_F16, FLOAT_BF16, FLOAT_F32
enum { FLOAT_F16, FLOAT_BF16, FLOAT_F32 };
static BORA_ALWAYS_INLINE float scalar_bf16(const uint8_t *p) { return bora_bf16_to_float(bora_rd_u16(p)); }
static BORA_ALWAYS_INLINE TGT __m256 float_load8(const uint8_t *p, const int kind) {
    return kind == FLOAT_F16 ? load_f16x8(p) : kind == FLOAT_BF16 ? load_bf16x8(p) : load_f32x8(p);
}
static BORA_ALWAYS_INLINE float float_scalar(const uint8_t *p, const int kind) {
    return kind == FLOAT_F16 ? bora_rd_f16(p) : kind == FLOAT_BF16 ? scalar_bf16(p) : bora_rd_f32(p);
}
static BORA_ALWAYS_INLINE TGT void tile_float(size_t n, const uint8_t *w, const uint8_t *a,
                                              size_t arb, float *out, const int NV, const int kind) {
    const int wbytes = kind == FLOAT_F32 ? 4 : 2;
    __m256 acc0[4], acc1[4];
    for (int v = 0; v < NV; ++v) acc0[v] = acc1[v] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = float_load8(w + wbytes * i, kind), w1 = float_load8(w + wbytes * (i + 8), kind);
        for (int v = 0; v < NV; ++v) {
            const uint8_t *y = a + v * arb + 4 * i;
            acc0[v] = _mm256_fmadd_ps(w0, load_f32x8(y), acc0[v]);
            acc1[v] = _mm256_fmadd_ps(w1, load_f32x8(y + 32), acc1[v]);
        }
    }
    for (int v = 0; v < NV; ++v) out[v] = hsum_ps(_mm256_add_ps(acc0[v], acc1[v]));
    for (; i < n; ++i)
        for (int v = 0; v < NV; ++v) out[v] += float_scalar(w + wbytes * i, kind) * bora_rd_f32(a + v * arb + 4 * i);
}

// ---- dot (the NV == 1 tile) and gemm per weight type, for each set ----
// BORA_GEMM_TILED / BORA_GEMM_RV (kernels_internal.h) are the shared loops over tiles; their last
// argument is the tile's constant (vnni, or the float kind). Register-tiled Q4_K: GEMV one row at
// a time, GEMM 2 rows x 4 vectors.
static BORA_ALWAYS_INLINE TGT float dot_q4_K(size_t n, const void *w, const void *a, const int vnni) {
    float o[16];
    rv_q4_K(n / BORA_QK_K, (const uint8_t *)w, 0, (const uint8_t *)a, 0, o, 1, 1, vnni);
    return o[0];
}
static BORA_ALWAYS_INLINE TGT void gemm_q4_K(BORA_GEMM_ARGS, const int vnni) {
    if (nv == 1) BORA_GEMM_RV(rv_q4_K, n / BORA_QK_K, 1, 1, vnni);
    else BORA_GEMM_RV(rv_q4_K, n / BORA_QK_K, 2, 4, vnni);
}

static TGT_AVX2 float dot_q5_0_avx2(size_t n, const void *w, const void *a) {
    float o;
    tile_q5_0(n / BORA_QK, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, 0);
    return o;
}
static TGT_AVX2 void gemm_q5_0_avx2(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_q5_0, n / BORA_QK, 0); }
static TGT_AVX2 float dot_q4_K_avx2(size_t n, const void *w, const void *a) { return dot_q4_K(n, w, a, 0); }
static TGT_AVX2 void gemm_q4_K_avx2(BORA_GEMM_ARGS) { gemm_q4_K(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 0); }
static TGT_AVX2 float dot_q6_K_avx2(size_t n, const void *w, const void *a) {
    float o;
    tile_q6_K(n / BORA_QK_K, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, 0);
    return o;
}
static TGT_AVX2 void gemm_q6_K_avx2(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_q6_K, n / BORA_QK_K, 0); }
static TGT_AVX2 float dot_f16_avx2(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_F16);
    return o;
}
static TGT_AVX2 void gemm_f16_avx2(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_F16); }
static TGT_AVX2 float dot_bf16_avx2(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_BF16);
    return o;
}
static TGT_AVX2 void gemm_bf16_avx2(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_BF16); }
static TGT_AVX2 float dot_f32_avx2(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_F32);
    return o;
}
static TGT_AVX2 void gemm_f32_avx2(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_F32); }

static TGT_AVX512VNNI float dot_q5_0_avx512vnni(size_t n, const void *w, const void *a) {
    float o;
    tile_q5_0(n / BORA_QK, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, 1);
    return o;
}
static TGT_AVX512VNNI void gemm_q5_0_avx512vnni(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_q5_0, n / BORA_QK, 1); }
static TGT_AVX512VNNI float dot_q4_K_avx512vnni(size_t n, const void *w, const void *a) { return dot_q4_K(n, w, a, 1); }
static TGT_AVX512VNNI void gemm_q4_K_avx512vnni(BORA_GEMM_ARGS) { gemm_q4_K(n, w, wrb, r0, r1, a, arb, nv, y, ldy, 1); }
static TGT_AVX512VNNI float dot_q6_K_avx512vnni(size_t n, const void *w, const void *a) {
    float o;
    tile_q6_K(n / BORA_QK_K, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, 1);
    return o;
}
static TGT_AVX512VNNI void gemm_q6_K_avx512vnni(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_q6_K, n / BORA_QK_K, 1); }
static TGT_AVX512VNNI float dot_f16_avx512vnni(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_F16);
    return o;
}
static TGT_AVX512VNNI void gemm_f16_avx512vnni(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_F16); }
static TGT_AVX512VNNI float dot_bf16_avx512vnni(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_BF16);
    return o;
}
static TGT_AVX512VNNI void gemm_bf16_avx512vnni(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_BF16); }
static TGT_AVX512VNNI float dot_f32_avx512vnni(size_t n, const void *w, const void *a) {
    float o;
    tile_float(n, (const uint8_t *)w, (const uint8_t *)a, 0, &o, 1, FLOAT_F32);
    return o;
}
static TGT_AVX512VNNI void gemm_f32_avx512vnni(BORA_GEMM_ARGS) { BORA_GEMM_TILED(tile_float, n, FLOAT_F32); }

// ---- quantize ----

static BORA_ALWAYS_INLINE TGT float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// 4 x 8 int32 (each in int8 range) -> 32 int8 in element order
static BORA_ALWAYS_INLINE TGT __m256i pack_i32x32(__m256i r0, __m256i r1, __m256i r2, __m256i r3) {
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(r0, r1), _mm256_packs_epi32(r2, r3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// one 32-float block -> 32 int8 at q: round-half-even(x * (127/amax)), as llama.cpp's AVX2
// quantize_row_q8_0/q8_1 (see kernels_scalar.c); returns d = amax/127, sum(q)
static BORA_ALWAYS_INLINE TGT float quantize_block32(const float *x, uint8_t *q, int *sum) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
    }
    const float max = hmax_ps(amax);
    const float d = max / 127.0f;
    const __m256 id = _mm256_set1_ps(max != 0.0f ? 127.0f / max : 0.0f);
    __m256i r[4];
    for (int k = 0; k < 4; ++k)
        r[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    _mm256_storeu_si256((__m256i *)(void *)q, pack_i32x32(r[0], r[1], r[2], r[3]));
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(r[0], r[1]), _mm256_add_epi32(r[2], r[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    *sum = _mm_cvtsi128_si32(s4);
    return d;
}

static BORA_ALWAYS_INLINE TGT void quantize_q8_0(const float *x, void *out, size_t n) {
    uint8_t *y = out;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += BORA_QK, y += Q8_0_BYTES) {
        int sum;
        const uint16_t dh = bora_f32_to_f16(quantize_block32(x, y + OFF_Q8_0_QS, &sum));
        memcpy(y, &dh, 2);
    }
}

static BORA_ALWAYS_INLINE TGT void quantize_q8_1(const float *x, void *out, size_t n) {
    uint8_t *y = out;
    for (size_t i = 0; i < n / BORA_QK; ++i, x += BORA_QK, y += Q8_1_BYTES) {
        int sum;
        const float d = quantize_block32(x, y + OFF_Q8_1_QS, &sum);
        const uint16_t dh = bora_f32_to_f16(d), sh = bora_f32_to_f16(d * (float)sum);
        memcpy(y, &dh, 2);
        memcpy(y + OFF_Q8_1_S, &sh, 2);
    }
}

// quantize_row_q8_K_ref (see kernels_scalar.c): first element with the largest |x| sets
// iscale = -127/max; q = min(127, round-half-even(iscale*x)); d = 1/iscale.
static BORA_ALWAYS_INLINE TGT void quantize_q8_K(const float *x, void *out, size_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    uint8_t *y = out;
    for (size_t i = 0; i < n / BORA_QK_K; ++i, x += BORA_QK_K, y += Q8_K_BYTES) {
        __m256 amaxv = _mm256_setzero_ps();
        for (int k = 0; k < BORA_QK_K; k += 8) amaxv = _mm256_max_ps(amaxv, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)));
        const float amax = hmax_ps(amaxv);
        if (amax == 0.0f) {
            memset(y, 0, Q8_K_BYTES);
            continue;
        }
        int first = 0;   // first index with |x| == amax
        for (int k = 0; k < BORA_QK_K; k += 8) {
            const __m256 eq = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), _mm256_set1_ps(amax), _CMP_EQ_OQ);
            const int mask = _mm256_movemask_ps(eq);
            if (mask) { first = k + __builtin_ctz((unsigned)mask); break; }
        }
        const float iscale = -127.0f / x[first];
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i q127 = _mm256_set1_epi32(127);
        int8_t *q = (int8_t *)(y + OFF_Q8_K_QS);
        for (int k = 0; k < BORA_QK_K; k += 32) {
            __m256i r[4];
            for (int j = 0; j < 4; ++j) {
                const __m256 t = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), vs),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                r[j] = _mm256_min_epi32(_mm256_cvtps_epi32(t), q127);
            }
            _mm256_storeu_si256((__m256i *)(void *)(q + k), pack_i32x32(r[0], r[1], r[2], r[3]));
        }
        bora_q8_K_finish(y, q, iscale);
    }
}

static TGT_AVX2 void quantize_q8_0_avx2(const float *x, void *out, size_t n) { quantize_q8_0(x, out, n); }
static TGT_AVX2 void quantize_q8_1_avx2(const float *x, void *out, size_t n) { quantize_q8_1(x, out, n); }
static TGT_AVX2 void quantize_q8_K_avx2(const float *x, void *out, size_t n) { quantize_q8_K(x, out, n); }
static TGT_AVX512VNNI void quantize_q8_0_avx512vnni(const float *x, void *out, size_t n) { quantize_q8_0(x, out, n); }
static TGT_AVX512VNNI void quantize_q8_1_avx512vnni(const float *x, void *out, size_t n) { quantize_q8_1(x, out, n); }
static TGT_AVX512VNNI void quantize_q8_K_avx512vnni(const float *x, void *out, size_t n) { quantize_q8_K(x, out, n); }

// ---- F32 GEMM (attention): the vector-extension body of kernels_sgemm_body.h ----
#include "kernels_sgemm_body.h"

static TGT_AVX2 void sgemm_avx2(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B, size_t ldb,
                                float *C, size_t ldc) {
    sgemm_body(M, N, K, A, lda, B, ldb, C, ldc);
}
static TGT_AVX512VNNI void sgemm_avx512vnni(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B, size_t ldb,
                                            float *C, size_t ldc) {
    sgemm_body(M, N, K, A, lda, B, ldb, C, ldc);
}

// ---- the sets' tables ----
// The LLM ops (kernels_llm.c) have one AVX2 version that both sets use.
void bora_fill_avx2(bora_kernel_set *s) {
    bora_fill_scalar(s);
    s->name = "avx2";
    s->sgemm = sgemm_avx2;
    s->swiglu = bora_llm_swiglu_avx2;
    s->rope = bora_llm_rope_avx2;
    s->softmax = bora_llm_softmax_avx2;
    s->gemv_f16 = bora_llm_gemv_f16_avx2;
    s->gemv_f32 = bora_llm_gemv_f32_avx2;
    s->dot[BORA_TYPE_Q4_0] = dot_q4_0_avx2;   s->gemm[BORA_TYPE_Q4_0] = gemm_q4_0_avx2;
    s->gemm_x8[BORA_TYPE_Q4_0] = gemm_q4_0_x8_avx2;
    s->gemm_x8[BORA_TYPE_Q8_0] = gemm_q8_0c_x8_avx2;
    s->dot[BORA_TYPE_Q4_1] = dot_q4_1_avx2;   s->gemm[BORA_TYPE_Q4_1] = gemm_q4_1_avx2;
    s->dot[BORA_TYPE_Q5_0] = dot_q5_0_avx2;   s->gemm[BORA_TYPE_Q5_0] = gemm_q5_0_avx2;
    s->dot[BORA_TYPE_Q8_0] = dot_q8_0_avx2;   s->gemm[BORA_TYPE_Q8_0] = gemm_q8_0_avx2;
    s->dot[BORA_TYPE_Q4_K] = dot_q4_K_avx2;   s->gemm[BORA_TYPE_Q4_K] = gemm_q4_K_avx2;
    s->dot[BORA_TYPE_Q6_K] = dot_q6_K_avx2;   s->gemm[BORA_TYPE_Q6_K] = gemm_q6_K_avx2;
    s->dot[BORA_TYPE_F16] = dot_f16_avx2;     s->gemm[BORA_TYPE_F16] = gemm_f16_avx2;
    s->dot[BORA_TYPE_BF16] = dot_bf16_avx2;   s->gemm[BORA_TYPE_BF16] = gemm_bf16_avx2;
    s->dot[BORA_TYPE_F32] = dot_f32_avx2;     s->gemm[BORA_TYPE_F32] = gemm_f32_avx2;
    s->quantize[BORA_TYPE_Q8_0] = quantize_q8_0_avx2;
    s->quantize[BORA_TYPE_Q8_1] = quantize_q8_1_avx2;
    s->quantize[BORA_TYPE_Q8_K] = quantize_q8_K_avx2;
}

void bora_fill_avx512vnni(bora_kernel_set *s) {
    bora_fill_scalar(s);
    s->name = "avx512vnni";
    s->sgemm = sgemm_avx512vnni;
    s->swiglu = bora_llm_swiglu_avx2;
    s->rope = bora_llm_rope_avx2;
    s->softmax = bora_llm_softmax_avx2;
    s->gemv_f16 = bora_llm_gemv_f16_avx2;
    s->gemv_f32 = bora_llm_gemv_f32_avx2;
    s->dot[BORA_TYPE_Q4_0] = dot_q4_0_avx512vnni;   s->gemm[BORA_TYPE_Q4_0] = gemm_q4_0_avx512vnni;
    s->gemm_x8[BORA_TYPE_Q4_0] = gemm_q4_0_x8_avx512vnni;
    s->gemm_x8[BORA_TYPE_Q8_0] = gemm_q8_0c_x8_avx512vnni;
    s->dot[BORA_TYPE_Q4_1] = dot_q4_1_avx512vnni;   s->gemm[BORA_TYPE_Q4_1] = gemm_q4_1_avx512vnni;
    s->dot[BORA_TYPE_Q5_0] = dot_q5_0_avx512vnni;   s->gemm[BORA_TYPE_Q5_0] = gemm_q5_0_avx512vnni;
    s->dot[BORA_TYPE_Q8_0] = dot_q8_0_avx512vnni;   s->gemm[BORA_TYPE_Q8_0] = gemm_q8_0_avx512vnni;
    s->dot[BORA_TYPE_Q4_K] = dot_q4_K_avx512vnni;   s->gemm[BORA_TYPE_Q4_K] = gemm_q4_K_avx512vnni;
    s->dot[BORA_TYPE_Q6_K] = dot_q6_K_avx512vnni;   s->gemm[BORA_TYPE_Q6_K] = gemm_q6_K_avx512vnni;
    s->dot[BORA_TYPE_F16] = dot_f16_avx512vnni;     s->gemm[BORA_TYPE_F16] = gemm_f16_avx512vnni;
    s->dot[BORA_TYPE_BF16] = dot_bf16_avx512vnni;   s->gemm[BORA_TYPE_BF16] = gemm_bf16_avx512vnni;
    s->dot[BORA_TYPE_F32] = dot_f32_avx512vnni;     s->gemm[BORA_TYPE_F32] = gemm_f32_avx512vnni;
    s->quantize[BORA_TYPE_Q8_0] = quantize_q8_0_avx512vnni;
    s->quantize[BORA_TYPE_Q8_1] = quantize_q8_1_avx512vnni;
    s->quantize[BORA_TYPE_Q8_K] = quantize_q8_K_avx512vnni;
}

#endif
