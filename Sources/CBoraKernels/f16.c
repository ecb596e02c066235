// IEEE binary16 <-> binary32, portable and exact (round-to-nearest-even on the way down).
#include "kernels_internal.h"

float bora_f16_to_f32(bora_f16 h) { return bora_half_to_float(h); }

bora_f16 bora_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) {                         // nan: quiet it, keep the top payload bits
        return (uint16_t)(sign | 0x7e00u | ((x >> 13) & 0x3ffu));
    }
    if (x >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);   // >= 65520 (or inf) -> inf
    if (x < 0x38800000u) {                         // below 2^-14: f16 subnormal or zero
        // Adding 0.5 (ulp 2^-24, the f16 subnormal step) lets the FPU round to nearest even;
        // the mantissa of the sum is then the f16 subnormal (0x400 = smallest normal).
        float v;
        memcpy(&v, &x, 4);
        v += 0.5f;
        uint32_t b;
        memcpy(&b, &v, 4);
        return (uint16_t)(sign | (b - 0x3f000000u));
    }
    // normal: rebias 127 -> 15 and round the 13 dropped bits to nearest even
    const uint32_t odd = (x >> 13) & 1u;
    x += 0xc8000000u + 0xfffu + odd;               // 0xc8000000 = (15 - 127) << 23 mod 2^32
    return (uint16_t)(sign | (x >> 13));
}

#if defined(__x86_64__)
#include <immintrin.h>
// The F16C paths convert the multiple-of-8 prefix and return its length; the caller does the rest.
__attribute__((target("avx,f16c")))
static size_t to_f16_f16c(const float *x, bora_f16 *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(void *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    return i;
}
__attribute__((target("avx,f16c")))
static size_t round_f16c(const float *x, float *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    return i;
}
static int has_f16c(void) {
    static int cached = -1;   // benign race: every thread computes the same value
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

// The hardware conversion (F16C) rounds to nearest even and quiets NaNs keeping the top payload
// bits, exactly as bora_f32_to_f16 does, so both paths give the same bits.
void bora_f32_to_f16_array(const float *x, bora_f16 *out, size_t n) {
    size_t i = 0;
#if defined(__x86_64__)
    if (has_f16c()) i = to_f16_f16c(x, out, n);
#endif
    for (; i < n; ++i) out[i] = bora_f32_to_f16(x[i]);
}

void bora_f32_round_f16_array(const float *x, float *out, size_t n) {
    size_t i = 0;
#if defined(__x86_64__)
    if (has_f16c()) i = round_f16c(x, out, n);
#endif
    for (; i < n; ++i) out[i] = bora_f16_to_f32(bora_f32_to_f16(x[i]));
}

void bora_f32_to_f16_array_portable(const float *x, bora_f16 *out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = bora_f32_to_f16(x[i]);
}

void bora_f32_round_f16_array_portable(const float *x, float *out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = bora_f16_to_f32(bora_f32_to_f16(x[i]));
}
