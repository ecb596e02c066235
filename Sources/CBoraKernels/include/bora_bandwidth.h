// Memory read-bandwidth probe used by `bora bench kernels` to state kernel throughput as a
// fraction of what this machine's memory bus delivers; software prefetch helpers.
#ifndef BORA_BANDWIDTH_H
#define BORA_BANDWIDTH_H
#include <stddef.h>
#include <stdint.h>
/// Reads every byte of p[0..<bytes] (bytes a multiple of 64) with wide loads and returns a
/// value that depends on all of them (so the reads cannot be elided).
uint64_t bora_stream_read(const void *p, size_t bytes);
/// Prefetches for writing the `count` cache lines at p, p + stride, p + 2·stride, … (bytes): e.g.
/// one column of a transposed cache about to be stored, so the stores do not each wait for memory.
void bora_prefetch_write_strided(void *p, size_t stride, size_t count);
#endif
