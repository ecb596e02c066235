// F32 GEMM body, C = A · B (row-major, leading dimensions in elements), written with clang/GCC
// vector extensions so one source compiles to SSE2/NEON (portable set) or AVX2+FMA (x86 sets):
// sgemm_body is a static always-inline function with no target attribute, and each set's sgemm
// is a real function with its own target that calls it (sgemm_avx2 and sgemm_avx512vnni in
// kernels_x86.c; the portable set's below). Register tile: 4 rows × 16 columns (8 accumulators of
// 8 floats); B rows are read contiguously, A elements broadcast — no horizontal sums, which is what
// attention's Q·Kᵀ (short K) and P·V (long K) need.
typedef float sgemm_v8 __attribute__((vector_size(32), aligned(4)));

static BORA_ALWAYS_INLINE void sgemm_body(size_t M, size_t N, size_t K, const float *A, size_t lda,
                                          const float *B, size_t ldb, float *C, size_t ldc) {
    size_t n0 = 0;
    for (; n0 + 16 <= N; n0 += 16) {
        size_t m0 = 0;
        for (; m0 + 4 <= M; m0 += 4) {
            sgemm_v8 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
            const float *a0 = A + m0 * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            const float *b = B + n0;
            for (size_t k = 0; k < K; k++, b += ldb) {
                const sgemm_v8 b0 = *(const sgemm_v8 *)b, b1 = *(const sgemm_v8 *)(b + 8);
                const float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
                c00 += x0 * b0; c01 += x0 * b1;
                c10 += x1 * b0; c11 += x1 * b1;
                c20 += x2 * b0; c21 += x2 * b1;
                c30 += x3 * b0; c31 += x3 * b1;
            }
            float *c = C + m0 * ldc + n0;
            *(sgemm_v8 *)c = c00; *(sgemm_v8 *)(c + 8) = c01; c += ldc;
            *(sgemm_v8 *)c = c10; *(sgemm_v8 *)(c + 8) = c11; c += ldc;
            *(sgemm_v8 *)c = c20; *(sgemm_v8 *)(c + 8) = c21; c += ldc;
            *(sgemm_v8 *)c = c30; *(sgemm_v8 *)(c + 8) = c31;
        }
        for (; m0 < M; m0++) {
            sgemm_v8 c0 = {0}, c1 = {0};
            const float *a = A + m0 * lda, *b = B + n0;
            for (size_t k = 0; k < K; k++, b += ldb) {
                c0 += a[k] * *(const sgemm_v8 *)b;
                c1 += a[k] * *(const sgemm_v8 *)(b + 8);
            }
            *(sgemm_v8 *)(C + m0 * ldc + n0) = c0;
            *(sgemm_v8 *)(C + m0 * ldc + n0 + 8) = c1;
        }
    }
    if (n0 < N) {  // column tail (< 16): one row at a time, scalar accumulators per column
        for (size_t m = 0; m < M; m++) {
            float acc[16] = {0};
            const float *a = A + m * lda;
            for (size_t k = 0; k < K; k++) {
                const float x = a[k];
                const float *b = B + k * ldb;
                for (size_t n = n0; n < N; n++) acc[n - n0] += x * b[n];
            }
            for (size_t n = n0; n < N; n++) C[m * ldc + n] = acc[n - n0];
        }
    }
}

// The portable set's sgemm: kernels_scalar.c includes this file with SGEMM_NAME defined as
// sgemm_portable (and an empty SGEMM_TARGET), the only includer that defines it.
#if defined(SGEMM_NAME)
static void sgemm_portable(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B, size_t ldb,
                           float *C, size_t ldc) {
    sgemm_body(M, N, K, A, lda, B, ldb, C, ldc);
}
#endif
