#include "bora_bandwidth.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2")))
static uint64_t stream_read_avx2(const uint8_t *p, size_t bytes) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= bytes; i += 128) {
        a0 = _mm256_xor_si256(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_xor_si256(a1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    __m256i s = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, s);
    return lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
}
#endif

uint64_t bora_stream_read(const void *ptr, size_t bytes) {
    const uint8_t *p = ptr;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) return stream_read_avx2(p, bytes);
#endif
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (size_t i = 0; i + 64 <= bytes; i += 64) {
        uint64_t w[8];
        memcpy(w, p + i, 64);
        a0 ^= w[0]; a1 ^= w[1]; a2 ^= w[2]; a3 ^= w[3]; a4 ^= w[4]; a5 ^= w[5]; a6 ^= w[6]; a7 ^= w[7];
    }
    return a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7;
}

void bora_prefetch_write_strided(void *ptr, size_t stride, size_t count) {
    char *p = ptr;
    for (size_t i = 0; i < count; ++i) __builtin_prefetch(p + i * stride, 1, 3);
}
