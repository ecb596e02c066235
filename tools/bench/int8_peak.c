// Compute ceiling of int8 GEMM with per-block float scales on this x86 CPU (AVX2, no VNNI), one
// thread, data in registers: how many multiply-accumulates per second the instruction sequence
// of the quantized dot products can retire at best, whatever the memory system does.
//
//   tools/bench/int8_peak            (builds this file with -mavx2 -mfma and runs it; the wrapper
//                                     checks /proc/cpuinfo for avx2 and fma first)
//
// Three loops:
//   maddubs      only vpmaddubsw (u8 x s8 -> s16 pairs): the multiplier-port ceiling of any AVX2
//                int8 method (32 MACs per instruction)
//   block        the minimum per 32-element block of a ggml-style quantized dot with a float scale
//                per block: vpmaddubsw, vpmaddwd (widen to s32), vcvtdq2ps, vmulps (dw*da), vfmadd
//   pair         Bora's inner loop for two blocks sharing one register (gemm4/GEMV): 2 vpmaddubsw,
//                vpaddw, vpmaddwd, vcvtdq2ps, vmulps (dw*da), vfmadd: 64 MACs
// It prints GMAC/s per thread for each, and what that means for "GEMM (64 vectors) >= 4x GEMV
// throughput per weight byte": GEMM's weight-bytes x vectors per second cannot exceed
// ceiling x threads x bytes-per-weight.
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define ITERS 20000000L
// K independent accumulators, like K activation vectors of one GEMM chunk: the weight registers
// are shared, each vector's operands are loaded from an L1-resident array (as gemm4's prepared
// activations are), so no work can be shared between the K chains.
#define K 8

static __m256i act_lo[K], act_hi[K];
static __m256 act_d[K];

__attribute__((noinline)) static __m256 run_maddubs(__m256i w) {
    __m256i acc[K];
    for (int k = 0; k < K; ++k) acc[k] = _mm256_setzero_si256();
    for (long i = 0; i < ITERS; ++i) {
        for (int k = 0; k < K; ++k) acc[k] = _mm256_add_epi16(acc[k], _mm256_maddubs_epi16(w, act_lo[k]));
        __asm__ volatile("" : "+x"(w) : : "memory");
    }
    __m256i s = acc[0];
    for (int k = 1; k < K; ++k) s = _mm256_add_epi16(s, acc[k]);
    return _mm256_castsi256_ps(s);
}

__attribute__((noinline)) static __m256 run_block(__m256i w, __m256 dw) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[K];
    for (int k = 0; k < K; ++k) acc[k] = _mm256_setzero_ps();
    for (long i = 0; i < ITERS; ++i) {
        for (int k = 0; k < K; ++k) {
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(w, act_lo[k]), ones);
            acc[k] = _mm256_fmadd_ps(_mm256_mul_ps(dw, act_d[k]), _mm256_cvtepi32_ps(p), acc[k]);
        }
        __asm__ volatile("" : "+x"(w), "+x"(dw) : : "memory");
    }
    __m256 s = acc[0];
    for (int k = 1; k < K; ++k) s = _mm256_add_ps(s, acc[k]);
    return s;
}

__attribute__((noinline)) static __m256 run_pair(__m256i lo, __m256i hi, __m256 dw) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[K];
    for (int k = 0; k < K; ++k) acc[k] = _mm256_setzero_ps();
    for (long i = 0; i < ITERS; ++i) {
        for (int k = 0; k < K; ++k) {
            const __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(lo, act_lo[k]), _mm256_maddubs_epi16(hi, act_hi[k]));
            acc[k] = _mm256_fmadd_ps(_mm256_mul_ps(dw, act_d[k]), _mm256_cvtepi32_ps(_mm256_madd_epi16(s, ones)), acc[k]);
        }
        __asm__ volatile("" : "+x"(lo), "+x"(hi), "+x"(dw) : : "memory");
    }
    __m256 s = acc[0];
    for (int k = 1; k < K; ++k) s = _mm256_add_ps(s, acc[k]);
    return s;
}

int main(void) {
    for (int k = 0; k < K; ++k) {
        act_lo[k] = _mm256_set1_epi8((char)(k - 3));
        act_hi[k] = _mm256_set1_epi8((char)(2 - k));
        act_d[k] = _mm256_set1_ps(1e-9f * (float)(k + 1));
    }
    const __m256i a = _mm256_set1_epi8(7);
    const __m256 d = _mm256_set1_ps(1e-9f);
    float sink = 0;
    double t0 = now();
    sink += _mm256_cvtss_f32(run_maddubs(a));
    const double t_maddubs = now() - t0;
    t0 = now();
    sink += _mm256_cvtss_f32(run_block(a, d));
    const double t_block = now() - t0;
    t0 = now();
    sink += _mm256_cvtss_f32(run_pair(a, a, d));
    const double t_pair = now() - t0;
    const double n = (double)ITERS * K;
    const double g_maddubs = n * 32 / t_maddubs / 1e9, g_block = n * 32 / t_block / 1e9, g_pair = n * 64 / t_pair / 1e9;
    printf("int8 compute ceiling, 1 thread, registers only (AVX2, no VNNI)\n");
    printf("  maddubs only : %6.1f GMAC/s  (%.2f ns per 32-MAC instruction)\n", g_maddubs, t_maddubs / n * 1e9);
    printf("  block (5 ops): %6.1f GMAC/s  (%.2f ns per 32-element block)\n", g_block, t_block / n * 1e9);
    printf("  pair (7 ops) : %6.1f GMAC/s  (%.2f ns per block pair)\n", g_pair, t_pair / n * 1e9);
    printf("GEMM ceiling in weight-bytes x vectors per second at 2 threads (pair loop, weights decoded for free):\n");
    printf("  Q4_0 (0.5625 B/weight): %6.1f GB/s   Q4_1 (0.625): %6.1f GB/s   Q8_0 (1.0625): %6.1f GB/s\n",
           g_pair * 2 * 0.5625, g_pair * 2 * 0.625, g_pair * 2 * 1.0625);
    if (sink == 12345.0f) printf("\n");
    return 0;
}
