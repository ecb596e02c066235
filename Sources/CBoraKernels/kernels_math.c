// Elementwise math kernels for the encoder/decoder paths (GELU, softmax, layer norm).
// Plain C written so the compiler vectorizes it for the build's baseline ISA (SSE2 on x86-64,
// NEON on AArch64): no libm calls in the loops, erf and exp by polynomials accurate to a few
// float ulps. Contracts in include/bora_kernels.h; the Swift tests compare them with libm.
#include "bora_kernels.h"
#include <math.h>
#include <string.h>

// erf(x) as a rational minimax approximation on [-4, 4] (|erf| rounds to 1 beyond):
// max abs error 4.2e-7 against the exact function (measured over [-5, 5]).
static inline float erf_approx(float x) {
    x = x > 4.0f ? 4.0f : x;
    x = x < -4.0f ? -4.0f : x;
    const float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

// exp(x) by range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial (Cephes expf
// coefficients); relative error < 5e-6 over [-60, 60] (tools/arm/kernel_test.c). Inputs below -87 give ~0.
static inline float exp_approx(float x) {
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    // Round x*log2(e) to nearest with the 1.5*2^23 trick (vectorizes without SSE4.1).
    const float magic = 12582912.0f;
    float n = (x * 1.44269504088896341f + magic) - magic;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

// Sum in 8 interleaved partial sums, so the loop vectorizes without reassociation flags.
static inline float sum_f32(const float *x, size_t n) {
    float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) p[j] += x[i + j];
    float s = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    for (; i < n; i++) s += x[i];
    return s;
}

static inline float max_f32(const float *x, size_t n) {
    float p[8];
    for (int j = 0; j < 8; j++) p[j] = x[0];
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) p[j] = x[i + j] > p[j] ? x[i + j] : p[j];
    float m = p[0];
    for (int j = 1; j < 8; j++) m = p[j] > m ? p[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

void bora_gelu_f32(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + erf_approx(v * 0.70710678118654752f));
    }
}

float bora_erf_f32(float x) { return erf_approx(x); }
float bora_exp_f32(float x) { return exp_approx(x); }

void bora_softmax_f32(float *x, size_t n, float scale) {
    if (n == 0) return;
    const float m = max_f32(x, n);
    for (size_t i = 0; i < n; i++) x[i] = exp_approx((x[i] - m) * scale);
    const float inv = 1.0f / sum_f32(x, n);
    for (size_t i = 0; i < n; i++) x[i] *= inv;
}

void bora_layer_norm_f32(float *out, const float *x, const float *weight, const float *bias,
                         size_t n, float eps) {
    const float mean = sum_f32(x, n) / (float)n;
    float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) p[j] += (x[i + j] - mean) * (x[i + j] - mean);
    float var = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    for (; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= (float)n;
    const float inv = 1.0f / sqrtf(var + eps);
    for (i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * weight[i] + bias[i];
}

float bora_logsumexp_f32(const float *x, size_t n) {
    if (n == 0) return -INFINITY;
    const float m = max_f32(x, n);
    if (m == -INFINITY) return -INFINITY;
    float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) p[j] += exp_approx(x[i + j] - m);
    float sum = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    for (; i < n; i++) sum += exp_approx(x[i] - m);
    return m + logf(sum);
}

void bora_add_bias_gelu_f32(float *x, const float *bias, size_t rows, size_t cols, int gelu) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        for (size_t i = 0; i < cols; i++) row[i] += bias[i];
        if (gelu) bora_gelu_f32(row, cols);
    }
}

size_t bora_argmax_f32(const float *x, size_t n) {
    if (n == 0 || x[0] != x[0]) return 0;   // a NaN first element wins, as in a scalar "if x > best" scan
    // 8 lanes, each keeping its first maximum (strict >, so NaNs never win); lanes combined by
    // value, ties to the smaller index: the first maximum overall.
    float bv[8];
    int64_t bi[8];
    for (int l = 0; l < 8; ++l) { bv[l] = -INFINITY; bi[l] = -1; }
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; ++l) {
            const float v = x[i + l];
            const int better = v > bv[l];
            bv[l] = better ? v : bv[l];
            bi[l] = better ? (int64_t)(i + l) : bi[l];
        }
    float best = -INFINITY;
    int64_t index = -1;
    for (int l = 0; l < 8; ++l)
        if (bi[l] >= 0 && (bv[l] > best || (bv[l] == best && bi[l] < index))) { best = bv[l]; index = bi[l]; }
    for (; i < n; ++i)
        if (x[i] > best) { best = x[i]; index = (int64_t)i; }
    return index < 0 ? 0 : (size_t)index;
}
