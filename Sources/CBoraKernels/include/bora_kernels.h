// CBoraKernels — ISA microkernels for Bora. Leaf functions only: pointers and counts in,
// no allocation, no globals except the CPU feature table. Every function here has a Swift
// reference twin in BoraCore (ReferenceKernels) with the same contract; tests compare them.
//
// Block layouts are exactly those of GGUF/ggml so files from the public ecosystem run
// unmodified. All multi-byte fields are little-endian; f16 is IEEE binary16.
#ifndef BORA_KERNELS_H
#define BORA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// ggml tensor type ids (the values stored in GGUF tensor infos).
enum bora_type {
    BORA_TYPE_F32 = 0,
    BORA_TYPE_F16 = 1,
    BORA_TYPE_Q4_0 = 2,
    BORA_TYPE_Q4_1 = 3,
    BORA_TYPE_Q5_0 = 6,
    BORA_TYPE_Q5_1 = 7,
    BORA_TYPE_Q8_0 = 8,
    BORA_TYPE_Q8_1 = 9,
    BORA_TYPE_Q2_K = 10,
    BORA_TYPE_Q3_K = 11,
    BORA_TYPE_Q4_K = 12,
    BORA_TYPE_Q5_K = 13,
    BORA_TYPE_Q6_K = 14,
    BORA_TYPE_Q8_K = 15,
    BORA_TYPE_BF16 = 30,
    BORA_TYPE_COUNT = 40,
};

#define BORA_QK 32      // elements per block of the 32-element formats
#define BORA_QK_K 256   // elements per super-block of the K formats

typedef uint16_t bora_f16;

typedef struct { bora_f16 d; int8_t qs[32]; } bora_block_q8_0;                 // 34 bytes: x = d*q
typedef struct { bora_f16 d; bora_f16 s; int8_t qs[32]; } bora_block_q8_1;     // 36 bytes: s = d*sum(q)
typedef struct { bora_f16 d; uint8_t qs[16]; } bora_block_q4_0;                // 18 bytes: x[i] = d*(lo4(qs[i])-8), x[i+16] = d*(hi4(qs[i])-8)
typedef struct { bora_f16 d; bora_f16 m; uint8_t qs[16]; } bora_block_q4_1;    // 20 bytes: x = d*q + m
typedef struct { bora_f16 d; uint8_t qh[4]; uint8_t qs[16]; } bora_block_q5_0; // 22 bytes: q = nibble | (bit<<4), x = d*(q-16)
typedef struct { bora_f16 d; bora_f16 dmin; uint8_t scales[12]; uint8_t qs[128]; } bora_block_q4_K; // 144 bytes
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; bora_f16 d; } bora_block_q6_K;  // 210 bytes
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } bora_block_q8_K; // 292 bytes: bsums[j] = sum(qs[16j..16j+15])

_Static_assert(sizeof(bora_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(bora_block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(bora_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(bora_block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(bora_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(bora_block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(bora_block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(bora_block_q8_K) == 292, "q8_K layout");

/// Activation quants (Q8_0/Q8_1/Q8_K qs) must lie in [-127, 127], as every quantize kernel
/// here produces: the x86 SIMD dots use the sign trick, which cannot negate -128.
///
/// dot(n, w, a) -> sum_i w[i]*a[i] over n elements. `w` is a row of the weight type, `a` a row
/// of that weight type's activation type (see bora_activation_type). n is a multiple of the
/// weight type's block size. Pointers need no alignment.
typedef float (*bora_dot_fn)(size_t n, const void *w, const void *a);

/// gemm: for every weight row r in [r0, r1) and activation vector v in [0, nv):
///   y[v*ldy + r] = dot(n, w + r*w_row_bytes, a + v*a_row_bytes)
/// GEMV is nv == 1. Implementations tile over several vectors so each weight block is
/// loaded once per tile. No allocation; writes only the y elements named above.
typedef void (*bora_gemm_fn)(size_t n, const void *w, size_t w_row_bytes, size_t r0, size_t r1,
                             const void *a, size_t a_row_bytes, size_t nv, float *y, size_t ldy);

/// quantize(x, y, n): converts n floats (n a multiple of the block size) into activation blocks.
typedef void (*bora_quantize_fn)(const float *x, void *y, size_t n);

/// One complete set of kernels for one ISA. Entries are indexed by ggml type id; an entry
/// is NULL when the type has no kernel (e.g. dot[BORA_TYPE_Q8_1]).
/// sgemm: C = A · B in F32, row-major with leading dimensions in elements: for m < M, n < N,
///   C[m*ldc + n] = sum_k A[m*lda + k] * B[k*ldb + n]   (overwrites C; no alignment needed).
/// Attention uses it for Q·Kᵀ (B = Kᵀ) and P·V (B = V) without horizontal sums.
typedef void (*bora_sgemm_fn)(size_t M, size_t N, size_t K, const float *A, size_t lda,
                              const float *B, size_t ldb, float *C, size_t ldc);

/// Transformer operations of the LLM runtime in llama.cpp's floating-point order (kernels_llm.c);
/// every set gives identical bits (the SIMD versions perform the portable ones' operations lane by lane).
/// swiglu: gate[i] = silu(gate[i]) * up[i] for i < n (silu through llama.cpp's vector exp).
typedef void (*bora_swiglu_fn)(float *gate, const float *up, size_t n);
/// softmax: x[0..n) in place (max-subtracted exp, sum in double over 8-lane chunk sums).
typedef void (*bora_softmax_fn)(float *x, size_t n);
/// gemv_f16: y[v*y_stride + r] = Σ_{k<n} f16 W(r, k) · x[v*x_stride + k] for r < rows and
/// v < nv, in llama.cpp's order for a batch of query tokens (single == 0: one 8-lane fma
/// accumulator, as llamafile's tinyBLAS) or for one query token (single != 0: four 8-lane
/// accumulators over 32-element steps, ggml_vec_dot_f16). Each output is computed exactly as if
/// alone; several vectors share each converted weight chunk.
/// Rows may be stored in segments: W(r, k) = w[r*w_stride + (k / seg)*seg_stride + k % seg]
/// (a position-blocked V cache); seg must be a multiple of 32, or 0 for rows stored whole.
typedef void (*bora_gemv_f16_fn)(size_t rows, size_t n, const bora_f16 *w, size_t w_stride, size_t seg, size_t seg_stride,
                                 const float *x, size_t x_stride, size_t nv, float *y, size_t y_stride, int single);
/// rope: llama.cpp's "normal" rotary embedding of `heads` heads of head_dim floats at x: pair
/// (2i, 2i+1) with 2i < rotary_dim rotated by angles[2i] = cos, angles[2i+1] = sin, as
/// a' = fma(a, c, -(b·s)), b' = fma(a, s, b·c) (llama.cpp's compiled rotation).
typedef void (*bora_rope_fn)(float *x, size_t heads, size_t head_dim, size_t rotary_dim, const float *angles);
/// gemv_f32: as gemv_f16 with f32 weights (llama.cpp's F32 x F32 matmul: tinyBLAS / ggml_vec_dot_f32).
typedef void (*bora_gemv_f32_fn)(size_t rows, size_t n, const float *w, size_t w_stride, size_t seg, size_t seg_stride,
                                 const float *x, size_t x_stride, size_t nv, float *y, size_t y_stride, int single);

/// Model math outside the matrix products (one definition each, kernels_math.c and f16.c; every C set
/// points at the same functions except where noted, and the "reference" Swift set has twins in Ops).
/// Contracts as the functions of the same names below: bora_layer_norm_f32, bora_gelu_f32,
/// bora_add_bias_gelu_f32, bora_softmax_f32 (Whisper's scaled softmax), bora_logsumexp_f32,
/// bora_argmax_f32, bora_f32_to_f16_array and bora_f32_round_f16_array (the scalar set converts
/// without F16C; same bits).
typedef void (*bora_layer_norm_fn)(float *out, const float *x, const float *weight, const float *bias, size_t n, float eps);
typedef void (*bora_gelu_fn)(float *x, size_t n);
typedef void (*bora_add_bias_gelu_fn)(float *x, const float *bias, size_t rows, size_t cols, int gelu);
typedef void (*bora_scaled_softmax_fn)(float *x, size_t n, float scale);
typedef float (*bora_logsumexp_fn)(const float *x, size_t n);
typedef size_t (*bora_argmax_fn)(const float *x, size_t n);
typedef void (*bora_to_f16_fn)(const float *x, bora_f16 *out, size_t n);
typedef void (*bora_round_f16_fn)(const float *x, float *out, size_t n);

/// Weights repacked 8 rows at a time ("x8", see bora_repack_x8) for sets that gain from it: the
/// contract of bora_gemm_fn for rows [r0, r1), with `packed` the repacked copy of `w`'s first
/// 8·⌊rows/8⌋ rows, or NULL. Groups of 8 rows (r a multiple of 8) inside [r0, r1) read `packed`;
/// any other row, and every row when packed is NULL, reads `w`. Results do not depend on
/// `packed`. Each output is the chain acc = fma(float(Σ_32 w·a), d_w·d_a, acc) over blocks (the
/// block's integer dot exact): for Q4_0 the bits of the set's gemm[Q4_0] (llama.cpp's repacked
/// Q4_0 order); for Q8_0 not those of gemm[Q8_0] (llama.cpp's 8 float lanes per block).
typedef void (*bora_gemm_packed_fn)(size_t n, const void *w, size_t w_row_bytes, const void *packed, size_t r0, size_t r1,
                                    const void *a, size_t a_row_bytes, size_t nv, float *y, size_t ldy);

/// Bytes of the x8 repack of a matrix of `type` with `rows` rows of `n` elements (the first
/// 8·⌊rows/8⌋ rows); 0 when the type has no x8 layout (only Q4_0 and Q8_0 have one).
size_t bora_repack_x8_bytes(int type, size_t n, size_t rows);
/// Writes the x8 repack of rows [0, 8·⌊rows/8⌋) of a Q4_0 or Q8_0 matrix `w` (rows of w_row_bytes)
/// into `out` (bora_repack_x8_bytes bytes); does nothing for other types. Layout: per group g of 8
/// rows and block b, S = 16 + 8·Q bytes at (g·nb + b)·S, where Q is the block's quant bytes (Q4_0:
/// 16, S = 144; Q8_0: 32, S = 272): the 8 rows' f16 scales, then Q/4 chunks of 32 bytes where chunk
/// k holds, for row i = 0..7, bytes qs[4k..4k+3] of row i's block (Q4_0: low nibbles are elements
/// 4k..4k+3, high nibbles 16+4k..16+4k+3; Q8_0: elements 4k..4k+3).
void bora_repack_x8(int type, size_t n, size_t rows, const void *w, size_t w_row_bytes, void *out);

typedef struct bora_kernel_set {
    const char *name;                               // "scalar", "avx2", "avx512vnni", "neon", "dotprod", "i8mm"
    bora_dot_fn dot[BORA_TYPE_COUNT];               // by weight type
    bora_gemm_fn gemm[BORA_TYPE_COUNT];             // by weight type
    bora_quantize_fn quantize[BORA_TYPE_COUNT];     // by activation type: Q8_0, Q8_1, Q8_K
    bora_sgemm_fn sgemm;                            // F32 A·B (attention)
    bora_swiglu_fn swiglu;                          // LLM feed-forward activation
    bora_softmax_fn softmax;                        // LLM attention probabilities
    bora_rope_fn rope;                              // LLM rotary embedding
    bora_gemv_f16_fn gemv_f16;                      // LLM attention against the f16 KV cache
    bora_gemv_f32_fn gemv_f32;                      // LLM f32 matrices (MoE router)
    bora_gemm_packed_fn gemm_x8[BORA_TYPE_COUNT];   // by weight type, on x8-repacked weights; NULL: the set keeps GGUF's layout
    bora_layer_norm_fn layer_norm;                  // Whisper: layer norm
    bora_gelu_fn gelu;                              // Whisper: exact-erf GELU
    bora_add_bias_gelu_fn add_bias_gelu;            // Whisper: bias (+ GELU) per row
    bora_scaled_softmax_fn scaled_softmax;          // Whisper attention: softmax(scale·x)
    bora_logsumexp_fn logsumexp;                    // Whisper decoder log-probabilities
    bora_argmax_fn argmax;                          // greedy sampling, beam search
    bora_to_f16_fn f32_to_f16;                      // LLM f16 KV cache
    bora_round_f16_fn f32_round_f16;                // LLM: values rounded through f16
} bora_kernel_set;

/// llama.cpp's vector exp approximation for one float (the lanes of bora_swiglu_fn/bora_softmax_fn).
float bora_llm_expf(float x);

/// The activation type a weight type multiplies against:
/// Q4_0,Q5_0,Q8_0 -> Q8_0; Q4_1 -> Q8_1; Q4_K,Q6_K -> Q8_K; F16,F32,BF16 -> F32. -1 if none.
int bora_activation_type(int weight_type);

/// Fills `out` with the named set. Returns 0 on success, -1 if the name is unknown,
/// -2 if this CPU lacks the features the set needs. name == NULL selects the best set.
int bora_kernel_set_get(const char *name, bora_kernel_set *out);

/// The named set's table, filled once and never freed (NULL selects the best set); *rc as
/// bora_kernel_set_get's return value, NULL unless *rc == 0. Thread-safe.
const bora_kernel_set *bora_kernel_set_table(const char *name, int *rc);

/// Names of the sets compiled into this binary for this architecture, best last, NULL-terminated.
const char *const *bora_kernel_set_names(void);

/// f16 <-> f32 conversions (IEEE, round-to-nearest-even) used by every kernel.
float bora_f16_to_f32(bora_f16 h);
bora_f16 bora_f32_to_f16(float f);
/// out[i] = f16(x[i]) for i < n, round to nearest even (F16C where the CPU has it; same bits).
void bora_f32_to_f16_array(const float *x, bora_f16 *out, size_t n);
/// out[i] = f32(f16(x[i])) for i < n (out may be x): rounds to half precision.
void bora_f32_round_f16_array(const float *x, float *out, size_t n);
/// The two conversions above without F16C (the scalar set's; same bits).
void bora_f32_to_f16_array_portable(const float *x, bora_f16 *out, size_t n);
void bora_f32_round_f16_array_portable(const float *x, float *out, size_t n);

/// Elementwise math for transformer blocks (kernels_math.c), vectorized for the baseline ISA.
/// bora_gelu_f32: x[i] = 0.5 x (1 + erf(x / sqrt 2)) in place (exact-erf GELU, |err| < 5e-6 for |x| ≤ 6).
void bora_gelu_f32(float *x, size_t n);
/// erf and exp approximations the kernels use (exposed for tests): |erf err| < 5e-7, exp relative err < 5e-6.
float bora_erf_f32(float x);
float bora_exp_f32(float x);
/// x = softmax(scale * x) in place over n > 0 elements (max-subtracted, sums to 1).
void bora_softmax_f32(float *x, size_t n, float scale);
/// out = (x - mean) / sqrt(var + eps) * weight + bias over n elements (out may alias x).
void bora_layer_norm_f32(float *out, const float *x, const float *weight, const float *bias,
                         size_t n, float eps);
/// log Σ exp(x[i]) over n elements (max-subtracted); -inf when n == 0 or every x is -inf.
float bora_logsumexp_f32(const float *x, size_t n);
/// The first index of the largest of x[0..<n] — as a scalar scan `if (x[i] > x[best]) best = i`
/// finds it: NaNs never win (unless x[0] is NaN: then 0); 0 for n == 0. Vectorized lanes.
size_t bora_argmax_f32(const float *x, size_t n);
/// x[r*cols + i] += bias[i] for every row r < rows, then GELU in place when gelu != 0.
void bora_add_bias_gelu_f32(float *x, const float *bias, size_t rows, size_t cols, int gelu);

#ifdef __cplusplus
}
#endif
#endif
