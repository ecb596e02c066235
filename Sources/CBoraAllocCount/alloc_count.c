#include "bora_alloc_count.h"
#include <stdatomic.h>
#include <stddef.h>
#include <errno.h>

static atomic_int enabled;
static atomic_uint_fast64_t allocations;
static atomic_uint_fast64_t bytes;
static atomic_int seen_call;  // set by the first intercepted call: proves interposition works
static _Thread_local int thread_enabled;  // counting for this thread only (tests that run in parallel)

static inline void count(size_t n) {
    atomic_store_explicit(&seen_call, 1, memory_order_relaxed);
    if (thread_enabled || atomic_load_explicit(&enabled, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&bytes, n, memory_order_relaxed);
    }
}

#ifndef __has_feature
#define __has_feature(x) 0
#endif
// Sanitizers bring their own allocator and call malloc before the process is ready for ours.
#if defined(__linux__) && defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && \
    !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer)
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n) { count(n); return __libc_malloc(n); }
void *calloc(size_t k, size_t n) { count(k * n); return __libc_calloc(k, n); }
void *realloc(void *p, size_t n) { count(n); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { count(n); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(n); return __libc_memalign(a, n); }
void *valloc(size_t n) { count(n); return __libc_memalign(4096, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    if (a < sizeof(void *) || (a & (a - 1)) != 0) return EINVAL;
    count(n);
    void *p = __libc_memalign(a, n);
    if (!p && n) return ENOMEM;
    *out = p;
    return 0;
}
int bora_alloc_count_supported(void) { return atomic_load(&seen_call); }
#else
int bora_alloc_count_supported(void) { return 0; }
#endif

void bora_alloc_count_enable(int on) { atomic_store(&enabled, on); }
void bora_alloc_count_enable_thread(int on) { thread_enabled = on; }
uint64_t bora_alloc_count_allocations(void) { return atomic_load(&allocations); }
uint64_t bora_alloc_count_bytes(void) { return atomic_load(&bytes); }
void bora_alloc_count_reset(void) { atomic_store(&allocations, 0); atomic_store(&bytes, 0); }
