// Set selection: which sets this binary has, which this CPU can run, and the best one.
// The CPU feature word below is the only global state in CBoraKernels.
#include "kernels_internal.h"
#include <pthread.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1UL << 13)
#endif
#endif

typedef struct {
    const char *name;
    void (*fill)(bora_kernel_set *);
    int (*supported)(void);
} set_entry;

static int always(void) { return 1; }

#if defined(__x86_64__)
static int has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
static int has_avx512vnni(void) {
    return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}
static const set_entry k_sets[] = {
    {"scalar", bora_fill_scalar, always},
    {"avx2", bora_fill_avx2, has_avx2},
    {"avx512vnni", bora_fill_avx512vnni, has_avx512vnni},
};
static const char *const k_names[] = {"scalar", "avx2", "avx512vnni", NULL};
#elif defined(__aarch64__)
static int has_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
    return 0;
#endif
}
static int has_i8mm(void) {
#if defined(__linux__)
    return has_dotprod() && (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#else
    return 0;
#endif
}
static const set_entry k_sets[] = {
    {"scalar", bora_fill_scalar, always},
    {"neon", bora_fill_neon, always},          // Advanced SIMD is mandatory in ARMv8-A
    {"dotprod", bora_fill_dotprod, has_dotprod},
    {"i8mm", bora_fill_i8mm, has_i8mm},
};
static const char *const k_names[] = {"scalar", "neon", "dotprod", "i8mm", NULL};
#else
static const set_entry k_sets[] = {{"scalar", bora_fill_scalar, always}};
static const char *const k_names[] = {"scalar", NULL};
#endif

enum { SET_COUNT = sizeof k_sets / sizeof k_sets[0] };

// The model-math entries every set shares (one definition each); the scalar set converts f16
// without F16C.
static void fill_shared(bora_kernel_set *out, int portable) {
    out->layer_norm = bora_layer_norm_f32;
    out->gelu = bora_gelu_f32;
    out->add_bias_gelu = bora_add_bias_gelu_f32;
    out->scaled_softmax = bora_softmax_f32;
    out->logsumexp = bora_logsumexp_f32;
    out->argmax = bora_argmax_f32;
    out->f32_to_f16 = portable ? bora_f32_to_f16_array_portable : bora_f32_to_f16_array;
    out->f32_round_f16 = portable ? bora_f32_round_f16_array_portable : bora_f32_round_f16_array;
}

static void fill(int i, bora_kernel_set *out) {
    k_sets[i].fill(out);
    fill_shared(out, i == 0);   // k_sets[0] is "scalar" on every architecture
}

// Bit i set when k_sets[i] runs here; computed once (racing first calls compute the same word).
static int g_supported_mask = -1;

static int supported_mask(void) {
    int mask = __atomic_load_n(&g_supported_mask, __ATOMIC_ACQUIRE);
    if (mask < 0) {
        mask = 0;
        for (int i = 0; i < SET_COUNT; ++i)
            if (k_sets[i].supported()) mask |= 1 << i;
        __atomic_store_n(&g_supported_mask, mask, __ATOMIC_RELEASE);
    }
    return mask;
}

int bora_kernel_set_get(const char *name, bora_kernel_set *out) {
    const int mask = supported_mask();
    if (name == NULL) {
        for (int i = SET_COUNT - 1; i >= 0; --i) {
            if (mask & (1 << i)) {
                fill(i, out);
                return 0;
            }
        }
        return -2;   // unreachable: scalar is always supported
    }
    for (int i = 0; i < SET_COUNT; ++i) {
        if (strcmp(name, k_sets[i].name) == 0) {
            if (!(mask & (1 << i))) return -2;
            fill(i, out);
            return 0;
        }
    }
    return -1;
}

static bora_kernel_set g_tables[SET_COUNT];
static int g_filled[SET_COUNT];
static pthread_mutex_t g_tables_lock = PTHREAD_MUTEX_INITIALIZER;

const bora_kernel_set *bora_kernel_set_table(const char *name, int *rc) {
    bora_kernel_set set;
    *rc = bora_kernel_set_get(name, &set);
    if (*rc != 0) return NULL;
    int index = 0;
    while (index < SET_COUNT && strcmp(k_sets[index].name, set.name) != 0) ++index;
    pthread_mutex_lock(&g_tables_lock);
    if (!g_filled[index]) { g_tables[index] = set; g_filled[index] = 1; }
    pthread_mutex_unlock(&g_tables_lock);
    return &g_tables[index];
}

const char *const *bora_kernel_set_names(void) { return k_names; }

int bora_activation_type(int weight_type) {
    switch (weight_type) {
    case BORA_TYPE_Q4_0:
    case BORA_TYPE_Q5_0:
    case BORA_TYPE_Q8_0: return BORA_TYPE_Q8_0;
    case BORA_TYPE_Q4_1: return BORA_TYPE_Q8_1;
    case BORA_TYPE_Q4_K:
    case BORA_TYPE_Q6_K: return BORA_TYPE_Q8_K;
    case BORA_TYPE_F16:
    case BORA_TYPE_F32:
    case BORA_TYPE_BF16: return BORA_TYPE_F32;
    default: return -1;
    }
}

// ---- x8 repack (layout in bora_kernels.h) ----
// The quant bytes of one block of a type with an x8 layout (after its 2-byte f16 scale), else 0.
static size_t x8_quant_bytes(int type) {
    switch (type) {
    case BORA_TYPE_Q4_0: return 16;
    case BORA_TYPE_Q8_0: return 32;
    default: return 0;
    }
}

size_t bora_repack_x8_bytes(int type, size_t n, size_t rows) {
    const size_t q = x8_quant_bytes(type);
    return q == 0 ? 0 : rows / 8 * (n / BORA_QK) * (16 + 8 * q);
}

void bora_repack_x8(int type, size_t n, size_t rows, const void *w, size_t w_row_bytes, void *out) {
    const size_t q = x8_quant_bytes(type), chunks = q / 4, nb = n / BORA_QK;
    if (q == 0) return;
    const uint8_t *src = (const uint8_t *)w;
    uint8_t *dst = (uint8_t *)out;
    for (size_t g = 0; g < rows / 8; ++g) {
        const uint8_t *row0 = src + 8 * g * w_row_bytes;
        for (size_t b = 0; b < nb; ++b, dst += 16 + 8 * q) {
            for (size_t i = 0; i < 8; ++i) {
                const uint8_t *x = row0 + i * w_row_bytes + b * (2 + q);
                memcpy(dst + 2 * i, x, 2);
                for (size_t k = 0; k < chunks; ++k) memcpy(dst + 16 + 32 * k + 4 * i, x + 2 + 4 * k, 4);
            }
        }
    }
}
