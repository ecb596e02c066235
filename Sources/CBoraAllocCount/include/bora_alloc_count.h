// CBoraAllocCount — counts heap allocations in release builds so benchmarks can report
// "heap allocations per token/frame" (the project's zero-allocation rule is measured, not assumed).
//
// Linking this target into an executable interposes malloc/calloc/realloc/posix_memalign/
// aligned_alloc/memalign/valloc for the whole process (the executable's definitions win symbol
// lookup) and forwards to glibc's __libc_* entry points. Counting is off until enabled; the cost
// when off is one relaxed atomic load per call. On non-glibc systems the functions are no-ops
// and bora_alloc_count_supported() returns 0.
#ifndef BORA_ALLOC_COUNT_H
#define BORA_ALLOC_COUNT_H
#include <stdint.h>

/// 1 when allocations are actually being intercepted in this process.
int bora_alloc_count_supported(void);
/// Starts (1) or stops (0) counting, process-wide.
void bora_alloc_count_enable(int on);
/// Starts (1) or stops (0) counting allocations made by the calling thread only, so a test can
/// measure its own threads while other tests run in parallel.
void bora_alloc_count_enable_thread(int on);
/// Allocation calls (malloc, calloc, realloc, aligned variants) counted so far.
uint64_t bora_alloc_count_allocations(void);
/// Bytes requested by the counted calls.
uint64_t bora_alloc_count_bytes(void);
/// Zeroes the counters.
void bora_alloc_count_reset(void);
#endif
