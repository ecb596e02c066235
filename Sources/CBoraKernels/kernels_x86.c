// x86-64 sets "avx2" and "avx512vnni": one body (kernels_x86_body.h) compiled twice with
// per-function target attributes, so the file builds with baseline flags and the set is
// picked at run time (dispatch.c).
#if defined(__x86_64__)

#include "kernels_internal.h"

#include <immintrin.h>
#include <math.h>

#define X86_CAT_(a, b) a##_##b
#define X86_CAT(a, b) X86_CAT_(a, b)

// "avx2": AVX2 + FMA + F16C (Haswell / Zen and later)
#define X86_TARGET __attribute__((target("avx2,fma,f16c")))
#define X86_FN(name) X86_CAT(name, avx2)
#define X86_VNNI 0
#define X86_SET_NAME "avx2"
#define X86_FILL bora_fill_avx2
#include "kernels_x86_body.h"
#undef X86_TARGET
#undef X86_FN
#undef X86_VNNI
#undef X86_SET_NAME
#undef X86_FILL

// "avx512vnni": the same body with AVX-512F/BW/VL + VNNI; the int8 dots become vpdpbusd on
// 256-bit registers (a GEMV is memory-bound; 512-bit lanes would not read DRAM any faster).
#define X86_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define X86_FN(name) X86_CAT(name, avx512vnni)
#define X86_VNNI 1
#define X86_SET_NAME "avx512vnni"
#define X86_FILL bora_fill_avx512vnni
#include "kernels_x86_body.h"

#endif
