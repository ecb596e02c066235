// F32 GEMM body, C = A · B (row-major, leading dimensions in elements), written with clang/GCC
// vector extensions so one source compiles to SSE2/NEON (portable set) or AVX2+FMA (x86 sets):
// include with SGEMM_NAME and SGEMM_TARGET defined. Register tile: 4 rows × 16 columns (8
// accumulators of 8 floats); B rows are read contiguously, A elements broadcast — no horizontal
// sums, which is what attention's Q·Kᵀ (short K) and P·V (long K) need.
typedef float SGEMM_V8 __attribute__((vector_size(32), aligned(4)));

static SGEMM_TARGET void SGEMM_NAME(size_t M, size_t N, size_t K, const float *A, size_t lda,
                                    const float *B, size_t ldb, float *C, size_t ldc) {
    size_t n0 = 0;
    for (; n0 + 16 <= N; n0 += 16) {
        size_t m0 = 0;
        for (; m0 + 4 <= M; m0 += 4) {
            SGEMM_V8 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
            const float *a0 = A + m0 * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            const float *b = B + n0;
            for (size_t k = 0; k < K; k++, b += ldb) {
                const SGEMM_V8 b0 = *(const SGEMM_V8 *)b, b1 = *(const SGEMM_V8 *)(b + 8);
                const float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
                c00 += x0 * b0; c01 += x0 * b1;
                c10 += x1 * b0; c11 += x1 * b1;
                c20 += x2 * b0; c21 += x2 * b1;
                c30 += x3 * b0; c31 += x3 * b1;
            }
            float *c = C + m0 * ldc + n0;
            *(SGEMM_V8 *)c = c00; *(SGEMM_V8 *)(c + 8) = c01; c += ldc;
            *(SGEMM_V8 *)c = c10; *(SGEMM_V8 *)(c + 8) = c11; c += ldc;
            *(SGEMM_V8 *)c = c20; *(SGEMM_V8 *)(c + 8) = c21; c += ldc;
            *(SGEMM_V8 *)c = c30; *(SGEMM_V8 *)(c + 8) = c31;
        }
        for (; m0 < M; m0++) {
            SGEMM_V8 c0 = {0}, c1 = {0};
            const float *a = A + m0 * lda, *b = B + n0;
            for (size_t k = 0; k < K; k++, b += ldb) {
                c0 += a[k] * *(const SGEMM_V8 *)b;
                c1 += a[k] * *(const SGEMM_V8 *)(b + 8);
            }
            *(SGEMM_V8 *)(C + m0 * ldc + n0) = c0;
            *(SGEMM_V8 *)(C + m0 * ldc + n0 + 8) = c1;
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
